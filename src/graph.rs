//! Stage "draw": the plan's [`Placement`] as a picture. SVG written here (integer
//! coordinates, no fonts measured, no Graphviz: the same placement gives the same bytes),
//! Graphviz `dot` for those who have it, and JSON for tools.
//!
//! Layout: racks side by side, each a row of machine columns of one width; in a machine
//! its bare-metal guests, then each hypervisor with its VMs; in a node the badges of the
//! quorum members it holds. Under each machine, in `base`, what its loss leaves of each
//! quorum. A machine whose loss breaks a quorum is drawn red, with the refused members.

use std::fmt::Write as _;

use crate::plan::placement::{Guest, Machine, Placement};

/// One output format of the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// SVG, drawn by gcc.
    Svg,
    /// Graphviz.
    Dot,
    /// The placement as data.
    Json,
}

/// The picture of `p` in `format`.
pub fn draw(p: &Placement, format: Format) -> String {
    match format {
        Format::Svg => svg(p),
        Format::Dot => dot(p),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(p)
                .unwrap_or_else(|_| unreachable!("plain data serialises"));
            s.push('\n');
            s
        }
    }
}

/// Where the tree keeps the picture (outside every kustomization).
pub const TREE_PATH: &str = "site/placement.svg";

// Geometry, in pixels. Text is monospace, so a string's width is its length times
// `CHAR` (a slight overestimate, so nothing overflows whatever the font).
const CHAR: i64 = 8;
const SMALL_CHAR: i64 = 7;
const PAD: i64 = 10;
const LINE: i64 = 16;
const BADGE_H: i64 = 18;
const BADGE_GAP: i64 = 4;
const MIN_COLUMN: i64 = 220;

/// Colours of the quorum services, in the order the placement lists them; white text
/// reads on each.
const PALETTE: [&str; 7] = [
    "#4e79a7", "#c9731f", "#1b7f79", "#3c8d2f", "#8c6d1f", "#7b4f9d", "#6b6b6b",
];
/// A refused member, the machine whose loss breaks a quorum, and what that loss leaves.
const RED: &str = "#d62728";
const RED_FILL: &str = "#fdecea";
const GREEN: &str = "#2e7d32";

fn colour(p: &Placement, service: &str) -> &'static str {
    let at = p.quorums.iter().position(|q| q.service == service);
    PALETTE[at.unwrap_or(PALETTE.len() - 1).min(PALETTE.len() - 1)]
}

/// The width of a badge for `service`.
fn badge_width(service: &str) -> i64 {
    len(service) * SMALL_CHAR + 2 * 5
}

fn len(s: &str) -> i64 {
    i64::try_from(s.chars().count()).unwrap_or(i64::MAX / 64)
}

/// The lines under a machine: what its loss leaves of each quorum (in `base`).
fn loss_lines(m: &Machine) -> Vec<(String, bool)> {
    m.loss
        .iter()
        .map(|l| {
            let ok = l.left >= l.majority;
            let text = if ok {
                format!("{}: {} left, majority {}", l.service, l.left, l.majority)
            } else {
                format!("{}: {} left < majority {}", l.service, l.left, l.majority)
            };
            (text, ok)
        })
        .collect()
}

fn roles_line(g: &Guest) -> String {
    if g.node {
        g.roles.join(", ")
    } else {
        format!("lab machine: {}", g.roles.join(", "))
    }
}

/// Rows of badges that fit `width`: each row a list of services.
fn badge_rows(members: &[String], width: i64) -> Vec<Vec<&str>> {
    let mut rows: Vec<Vec<&str>> = Vec::new();
    let mut used = width;
    for s in members {
        let w = badge_width(s);
        if used + w > width {
            rows.push(Vec::new());
            used = 0;
        }
        if let Some(row) = rows.last_mut() {
            row.push(s);
        }
        used += w + BADGE_GAP;
    }
    rows
}

/// The column width every machine gets: enough for its longest text.
fn column_width(p: &Placement) -> i64 {
    let mut widest = MIN_COLUMN;
    for m in p.racks.iter().flat_map(|r| r.machines.iter()) {
        widest = widest.max(len(&m.name) * CHAR + 4 * PAD);
        for h in &m.hypervisors {
            widest = widest.max(len(&h.name) * CHAR + 4 * PAD);
        }
        for g in m.guests() {
            widest = widest.max(len(&g.name) * CHAR + 6 * PAD);
            widest = widest.max(len(&roles_line(g)) * SMALL_CHAR + 6 * PAD);
            for s in &g.members {
                widest = widest.max(badge_width(s) + 6 * PAD);
            }
        }
        for (line, _) in loss_lines(m) {
            widest = widest.max(len(&line) * SMALL_CHAR + 4 * PAD);
        }
    }
    widest
}

fn guest_height(g: &Guest, inner: i64) -> i64 {
    let rows = i64::try_from(badge_rows(&g.members, inner).len()).unwrap_or(0);
    PAD / 2 + LINE + LINE + rows * (BADGE_H + BADGE_GAP) + PAD / 2
}

fn machine_height(m: &Machine, width: i64) -> i64 {
    let guest_inner = width - 6 * PAD;
    let mut h = 2 * LINE + PAD;
    for g in &m.bare {
        h += guest_height(g, guest_inner) + PAD;
    }
    for hv in &m.hypervisors {
        h += LINE + PAD;
        for g in &hv.guests {
            h += guest_height(g, guest_inner) + PAD;
        }
        h += PAD;
    }
    let lines = i64::try_from(m.loss.len()).unwrap_or(0);
    if lines > 0 {
        h += LINE + lines * LINE;
    }
    h + PAD
}

/// XML text, escaped.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

struct Canvas {
    body: String,
}

impl Canvas {
    fn rect(&mut self, x: i64, y: i64, w: i64, h: i64, style: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="4" {style}/>"#
        );
    }
    fn text(&mut self, x: i64, y: i64, class: &str, s: &str) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x}" y="{y}" class="{class}">{}</text>"#,
            esc(s)
        );
    }
    /// A member's badge; `red` for a member of a quorum this machine's loss breaks.
    fn badge(&mut self, p: &Placement, x: i64, y: i64, service: &str, red: bool) -> i64 {
        let w = badge_width(service);
        let fill = if red { RED } else { colour(p, service) };
        self.rect(x, y, w, BADGE_H, &format!(r#"fill="{fill}""#));
        self.text(x + 5, y + 13, "badge", service);
        w
    }
}

fn svg(p: &Placement) -> String {
    let width = column_width(p);
    let mut c = Canvas {
        body: String::new(),
    };
    // Title and legend.
    let mut y = PAD + LINE;
    let title = format!(
        "Placement of {}: inventory {}, profile {}",
        p.env,
        p.inventory,
        p.profile.as_str()
    );
    c.text(PAD, y, "title", &title);
    y += LINE;
    let verdict = match (p.profile, p.quorums.iter().all(|q| q.proven)) {
        (crate::model::Profile::Aio, _) => {
            "profile aio: one member of each, no loss survived (nothing to prove)".to_string()
        }
        (_, true) => {
            "HA proof holds: losing any one machine leaves every quorum a majority".to_string()
        }
        (_, false) => {
            let broken: Vec<String> = p
                .quorums
                .iter()
                .filter(|q| !q.proven)
                .map(|q| match &q.shared {
                    Some(hw) => format!("{} (shares {hw})", q.service),
                    None => format!("{} (too few machines)", q.service),
                })
                .collect();
            format!("HA proof refused: {}", broken.join(", "))
        }
    };
    let verdict_class = if p.quorums.iter().all(|q| q.proven) {
        "ok"
    } else {
        "bad"
    };
    c.text(PAD, y + 2, verdict_class, &verdict);
    y += LINE;
    let mut x = PAD;
    for q in &p.quorums {
        let w = c.badge(p, x, y, &q.service, !q.proven);
        x += w + BADGE_GAP;
        let members = format!("×{}", q.members.len());
        c.text(x, y + 13, "small", &members);
        x += len(&members) * SMALL_CHAR + 2 * BADGE_GAP;
    }
    let legend_right = x;
    y += BADGE_H + PAD + PAD;

    // Racks, each a row of machine columns.
    let top = y;
    let mut x = PAD;
    let mut bottom = top;
    for rack in &p.racks {
        let tallest = rack
            .machines
            .iter()
            .map(|m| machine_height(m, width))
            .max()
            .unwrap_or(0);
        let n = i64::try_from(rack.machines.len()).unwrap_or(0);
        let rack_w = n * (width + PAD) + PAD;
        let rack_h = LINE + PAD + tallest + PAD;
        c.rect(
            x,
            top,
            rack_w,
            rack_h,
            r##"fill="#f7f7f7" stroke="#999" stroke-dasharray="6 3""##,
        );
        let label = match &rack.name {
            Some(r) => format!("rack {r}"),
            None => "no rack".to_string(),
        };
        c.text(x + PAD, top + LINE, "rack", &label);
        let mut mx = x + PAD;
        for m in &rack.machines {
            machine(&mut c, p, m, mx, top + LINE + PAD, width, tallest);
            mx += width + PAD;
        }
        x += rack_w + PAD;
        bottom = bottom.max(top + rack_h);
    }
    let total_w = x.max(legend_right + PAD);
    let total_h = bottom + PAD;
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#,
            "\n<style>\n",
            "text {{ font-family: ui-monospace, 'DejaVu Sans Mono', Menlo, monospace; font-size: 12px; fill: #222; }}\n",
            ".title {{ font-size: 14px; font-weight: bold; }}\n",
            ".rack {{ fill: #666; }}\n",
            ".machine {{ font-weight: bold; }}\n",
            ".small, .badge, .ok, .bad {{ font-size: 11px; }}\n",
            ".badge {{ fill: #fff; }}\n",
            ".ok {{ fill: {green}; }}\n",
            ".bad {{ fill: {red}; }}\n",
            "</style>\n",
            r##"<rect width="{w}" height="{h}" fill="#fff"/>"##,
            "\n{body}</svg>\n"
        ),
        w = total_w,
        h = total_h,
        green = GREEN,
        red = RED,
        body = c.body
    )
}

fn machine(c: &mut Canvas, p: &Placement, m: &Machine, x: i64, y: i64, width: i64, height: i64) {
    let style = if m.breaks() {
        format!(r#"fill="{RED_FILL}" stroke="{RED}" stroke-width="3""#)
    } else {
        r##"fill="#fff" stroke="#555" stroke-width="1.5""##.to_string()
    };
    c.rect(x, y, width, height, &style);
    c.text(x + PAD, y + LINE, "machine", &m.name);
    c.text(x + PAD, y + 2 * LINE, "small", "physical machine");
    let mut gy = y + 2 * LINE + PAD;
    for g in &m.bare {
        gy += guest(c, p, m, g, x + PAD, gy, width - 2 * PAD) + PAD;
    }
    for hv in &m.hypervisors {
        let inner: i64 = hv
            .guests
            .iter()
            .map(|g| guest_height(g, width - 6 * PAD) + PAD)
            .sum();
        c.rect(
            x + PAD,
            gy,
            width - 2 * PAD,
            LINE + PAD + inner,
            r##"fill="#eef3f8" stroke="#7a93ad""##,
        );
        c.text(
            x + 2 * PAD,
            gy + LINE,
            "small",
            &format!("oVirt host {}", hv.name),
        );
        let mut vy = gy + LINE + PAD;
        for g in &hv.guests {
            vy += guest(c, p, m, g, x + 2 * PAD, vy, width - 4 * PAD) + PAD;
        }
        gy += LINE + PAD + inner + PAD;
    }
    let lines = loss_lines(m);
    if !lines.is_empty() {
        gy += LINE;
        c.text(x + PAD, gy, "small", &format!("if {} is lost:", m.name));
        for (line, ok) in lines {
            gy += LINE;
            c.text(x + PAD, gy, if ok { "ok" } else { "bad" }, &line);
        }
    }
}

/// Draws guest `g` at (`x`, `y`), `w` wide; returns its height.
fn guest(c: &mut Canvas, p: &Placement, m: &Machine, g: &Guest, x: i64, y: i64, w: i64) -> i64 {
    let h = guest_height(g, w - 2 * PAD);
    let style = if g.node {
        r##"fill="#fff" stroke="#888""##
    } else {
        r##"fill="#f0f0f0" stroke="#aaa" stroke-dasharray="4 2""##
    };
    c.rect(x, y, w, h, style);
    c.text(x + PAD, y + PAD / 2 + 12, "", &g.name);
    c.text(x + PAD, y + PAD / 2 + LINE + 12, "small", &roles_line(g));
    let mut by = y + PAD / 2 + 2 * LINE;
    for row in badge_rows(&g.members, w - 2 * PAD) {
        let mut bx = x + PAD;
        for s in row {
            bx += c.badge(p, bx, by, s, m.breaks_quorum(s)) + BADGE_GAP;
        }
        by += BADGE_H + BADGE_GAP;
    }
    h
}

/// A Graphviz id, quoted; a line break becomes Graphviz's centred `\n`.
fn id(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

fn dot(p: &Placement) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "// The placement of {}: draw with `dot -Tsvg`.", p.env);
    let _ = writeln!(s, "digraph placement {{");
    let _ = writeln!(
        s,
        "  graph [label={}, labelloc=t, fontname=monospace, rankdir=TB];",
        id(&format!(
            "{}: inventory {}, profile {}",
            p.env,
            p.inventory,
            p.profile.as_str()
        ))
    );
    let _ = writeln!(s, "  node [shape=box, fontname=monospace, fontsize=10];");
    for (r, rack) in p.racks.iter().enumerate() {
        let _ = writeln!(s, "  subgraph cluster_rack_{r} {{");
        let label = match &rack.name {
            Some(n) => format!("rack {n}"),
            None => "no rack".into(),
        };
        let _ = writeln!(s, "    label={}; style=dashed;", id(&label));
        for (i, m) in rack.machines.iter().enumerate() {
            let _ = writeln!(s, "    subgraph cluster_rack_{r}_machine_{i} {{");
            let mut label = m.name.clone();
            for (line, _) in loss_lines(m) {
                label.push('\n');
                label.push_str(&line);
            }
            let style = if m.breaks() {
                "color=red, penwidth=3"
            } else {
                "color=black"
            };
            let _ = writeln!(s, "      label={}; {style};", id(&label));
            for g in &m.bare {
                dot_guest(&mut s, m, g, "      ");
            }
            for (j, hv) in m.hypervisors.iter().enumerate() {
                let _ = writeln!(s, "      subgraph cluster_rack_{r}_machine_{i}_hv_{j} {{");
                let _ = writeln!(
                    s,
                    "        label={}; style=filled; fillcolor=\"#eef3f8\";",
                    id(&format!("oVirt host {}", hv.name))
                );
                for g in &hv.guests {
                    dot_guest(&mut s, m, g, "        ");
                }
                let _ = writeln!(s, "      }}");
            }
            let _ = writeln!(s, "    }}");
        }
        let _ = writeln!(s, "  }}");
    }
    let _ = writeln!(s, "}}");
    s
}

fn dot_guest(s: &mut String, m: &Machine, g: &Guest, indent: &str) {
    let mut label = format!("{}\n{}", g.name, roles_line(g));
    if !g.members.is_empty() {
        label.push('\n');
        label.push_str(&g.members.join(" · "));
    }
    let refused = g.members.iter().any(|q| m.breaks_quorum(q));
    let style = match (g.node, refused) {
        (_, true) => "color=red, penwidth=2",
        (true, false) => "style=solid",
        (false, false) => "style=dashed",
    };
    let _ = writeln!(
        s,
        "{indent}{} [label={}, {style}];",
        id(&g.name),
        id(&label)
    );
}
