//! Printing a [`Diff`]: text for a terminal (optionally coloured), markdown for a pull
//! request comment (cut to fit), and JSON (the `Diff` itself, serialised).

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use super::{Change, Diff, FieldChange, FileChange, FileDiff, ObjectDiff};
use crate::publish::short;
use crate::render::to_yaml;

/// Markdown output stops adding object details past this many characters (a GitHub
/// comment holds 65,536).
pub const MARKDOWN_LIMIT: usize = 60_000;

/// Added or removed objects longer than this many lines are cut in text output.
const COLLAPSE_LINES: usize = 40;

/// A field value, short and on one line.
fn value(v: Option<&Value>) -> String {
    let s = match v {
        None => return "(absent)".into(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
    };
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(119).collect::<String>())
    } else {
        s
    }
}

fn side(label: &str, id: Option<&String>) -> String {
    match id {
        Some(id) => format!("{label} (build {})", short(id)),
        None => label.to_string(),
    }
}

fn summary_line(d: &Diff) -> String {
    let s = d.summary;
    let files = match d.files.len() {
        0 => String::new(),
        1 => "; 1 other file differs".to_string(),
        n => format!("; {n} other files differ"),
    };
    format!(
        "{} changed, {} added, {} removed, {} unchanged{files}",
        s.changed, s.added, s.removed, s.unchanged
    )
}

fn object_yaml(o: &Value) -> String {
    to_yaml(o).unwrap_or_default()
}

struct Paint {
    on: bool,
}

impl Paint {
    fn paint(&self, style: Style, s: &str) -> String {
        if self.on {
            format!("{}{s}{}", style.render(), style.render_reset())
        } else {
            s.to_string()
        }
    }
    fn fg(&self, c: AnsiColor, s: &str) -> String {
        self.paint(Style::new().fg_color(Some(c.into())), s)
    }
    fn bold(&self, s: &str) -> String {
        self.paint(Style::new().bold(), s)
    }
}

/// Plain text, coloured with ANSI escapes when `color`.
pub fn text(d: &Diff, color: bool) -> String {
    let p = Paint { on: color };
    let mut s = format!(
        "{}\n",
        p.bold(&format!(
            "diff {}: {} → {}",
            d.environment,
            side(&d.from.label, d.from.build_id.as_ref()),
            side(&d.to.label, d.to.build_id.as_ref())
        ))
    );
    if !d.inputs_changed.is_empty() {
        s.push_str(&format!(
            "inputs changed: {}\n",
            d.inputs_changed.join(", ")
        ));
    }
    s.push_str(&summary_line(d));
    s.push('\n');
    for n in &d.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    if d.identical {
        s.push_str("identical: no object and no file differs\n");
        return s;
    }
    if !d.risks.is_empty() {
        s.push_str(&format!(
            "\n{}\n",
            p.bold(&format!("risks ({}):", d.risks.len()))
        ));
        for r in &d.risks {
            let at = match (&r.object, &r.path) {
                (Some(o), Some(path)) => format!("{} {path}: ", d.name(o)),
                (Some(o), None) => format!("{}: ", d.name(o)),
                _ => String::new(),
            };
            s.push_str(&format!(
                "  {} {at}{}\n",
                p.fg(AnsiColor::Red, &format!("! {}", r.code)),
                r.reason
            ));
        }
    }
    for o in &d.objects {
        s.push('\n');
        s.push_str(&text_object(&d.name(&o.key), o, &p));
    }
    for f in &d.files {
        s.push('\n');
        s.push_str(&text_file(f, &p));
    }
    s
}

/// Lines of a whole object or file, each marked with `sign`, cut after [`COLLAPSE_LINES`].
fn whole(text: &str, sign: char, color: AnsiColor, p: &Paint, what: &str) -> String {
    let mut s = String::new();
    let lines: Vec<&str> = text.lines().collect();
    for l in lines.iter().take(COLLAPSE_LINES) {
        s.push_str(&p.fg(color, &format!("    {sign} {l}")));
        s.push('\n');
    }
    if lines.len() > COLLAPSE_LINES {
        s.push_str(&format!(
            "    … {} more lines (--format json has the whole {what})\n",
            lines.len() - COLLAPSE_LINES
        ));
    }
    s
}

/// Field lines, then the unified diff, coloured.
fn changes(fields: &[FieldChange], unified: &str, p: &Paint) -> String {
    let mut s = String::new();
    for f in fields {
        s.push_str(&format!(
            "    {}: {} → {}\n",
            f.path,
            value(f.old.as_ref()),
            value(f.new.as_ref())
        ));
    }
    for l in unified.lines() {
        let line = if l.starts_with("+++") || l.starts_with("---") {
            p.bold(l)
        } else if l.starts_with('+') {
            p.fg(AnsiColor::Green, l)
        } else if l.starts_with('-') {
            p.fg(AnsiColor::Red, l)
        } else if l.starts_with("@@") {
            p.fg(AnsiColor::Cyan, l)
        } else {
            l.to_string()
        };
        s.push_str(&format!("    {line}\n"));
    }
    s
}

fn text_file(f: &FileDiff, p: &Paint) -> String {
    match &f.change {
        FileChange::Added { text } => format!(
            "{}\n{}",
            p.fg(AnsiColor::Green, &format!("+ file {}", f.path)),
            whole(text, '+', AnsiColor::Green, p, "file")
        ),
        FileChange::Removed { text } => format!(
            "{}\n{}",
            p.fg(AnsiColor::Red, &format!("- file {}", f.path)),
            whole(text, '-', AnsiColor::Red, p, "file")
        ),
        FileChange::Changed { fields, unified } => format!(
            "{}\n{}",
            p.fg(AnsiColor::Yellow, &format!("~ file {}", f.path)),
            changes(fields, unified, p)
        ),
    }
}

fn file_of(o: &ObjectDiff) -> &str {
    o.file_to
        .as_deref()
        .or(o.file_from.as_deref())
        .unwrap_or("")
}

fn text_object(name: &str, o: &ObjectDiff, p: &Paint) -> String {
    let mut s = String::new();
    match &o.change {
        Change::Added { object } | Change::Removed { object } => {
            let (mark, color, sign) = match &o.change {
                Change::Added { .. } => ("+", AnsiColor::Green, '+'),
                _ => ("-", AnsiColor::Red, '-'),
            };
            s.push_str(&p.fg(color, &format!("{mark} {name} ({})", file_of(o))));
            s.push('\n');
            s.push_str(&whole(&object_yaml(object), sign, color, p, "object"));
        }
        Change::Changed { fields, unified } => {
            s.push_str(&p.fg(AnsiColor::Yellow, &format!("~ {name} ({})", file_of(o))));
            s.push('\n');
            s.push_str(&changes(fields, unified, p));
        }
    }
    s
}

/// Escapes text for a markdown table cell or inline code.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('`', "'").replace('\n', " ")
}

fn fence(body: &str, lang: &str) -> String {
    // A fence longer than any backtick run inside.
    let mut ticks = 3;
    while body.contains(&"`".repeat(ticks)) {
        ticks += 1;
    }
    let f = "`".repeat(ticks);
    format!(
        "{f}{lang}\n{body}{}{f}\n",
        if body.ends_with('\n') { "" } else { "\n" }
    )
}

fn fields_table(fields: &[FieldChange]) -> String {
    let mut s = String::from("| field | from | to |\n|---|---|---|\n");
    for f in fields {
        s.push_str(&format!(
            "| `{}` | `{}` | `{}` |\n",
            cell(&f.path),
            cell(&value(f.old.as_ref())),
            cell(&value(f.new.as_ref()))
        ));
    }
    s
}

/// Markdown for a pull-request comment: title, summary table, risks, one `<details>` per
/// object; past [`MARKDOWN_LIMIT`] characters the remaining objects are only counted.
pub fn markdown(d: &Diff) -> String {
    let mut s = format!(
        "### gcc diff `{}`: {} → {}\n\n",
        d.environment,
        cell(&side(&d.from.label, d.from.build_id.as_ref())),
        cell(&side(&d.to.label, d.to.build_id.as_ref()))
    );
    if d.identical {
        s.push_str("No change: every object and every file is identical.\n");
        return s;
    }
    let sm = d.summary;
    s.push_str(&format!(
        "| added | removed | changed | unchanged | risks |\n|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} |\n\n",
        sm.added,
        sm.removed,
        sm.changed,
        sm.unchanged,
        d.risks.len()
    ));
    if !d.inputs_changed.is_empty() {
        let list: Vec<String> = d
            .inputs_changed
            .iter()
            .map(|i| format!("`{}`", cell(i)))
            .collect();
        s.push_str(&format!("Inputs changed: {}\n\n", list.join(", ")));
    }
    for n in &d.notes {
        s.push_str(&format!("> **Note:** {}\n\n", cell(n)));
    }
    if !d.risks.is_empty() {
        s.push_str("**Risks**\n\n");
        for r in &d.risks {
            let at = match (&r.object, &r.path) {
                (Some(o), Some(p)) => format!(" `{}` `{}`", cell(&d.name(o)), cell(p)),
                (Some(o), None) => format!(" `{}`", cell(&d.name(o))),
                _ => String::new(),
            };
            s.push_str(&format!("- ⚠️ **{}**{at}: {}\n", r.code, cell(&r.reason)));
        }
        s.push('\n');
    }
    let mut shown = 0;
    let blocks = d
        .objects
        .iter()
        .map(|o| markdown_object(&d.name(&o.key), o))
        .chain(d.files.iter().map(markdown_file));
    for block in blocks {
        if s.len() + block.len() > MARKDOWN_LIMIT {
            break;
        }
        s.push_str(&block);
        shown += 1;
    }
    let total = d.objects.len() + d.files.len();
    if shown < total {
        s.push_str(&format!(
            "\n_{} more changed objects or files are not shown, to keep this comment under {} characters; \
             run `gcc diff {}` locally or use `--format json` for all of them._\n",
            total - shown,
            MARKDOWN_LIMIT,
            d.environment
        ));
    }
    s
}

fn markdown_object(name: &str, o: &ObjectDiff) -> String {
    let (mark, what, body) = match &o.change {
        Change::Added { object } => (
            "➕",
            "added".to_string(),
            fence(&object_yaml(object), "yaml"),
        ),
        Change::Removed { object } => (
            "➖",
            "removed".to_string(),
            fence(&object_yaml(object), "yaml"),
        ),
        Change::Changed { fields, unified } => {
            let (what, body) = changed(fields, unified);
            ("✏️", what, body)
        }
    };
    format!(
        "<details><summary>{mark} <code>{}</code> ({what})</summary>\n\n<code>{}</code>\n\n{body}\n</details>\n",
        html(name),
        html(file_of(o)),
    )
}

/// The summary word and body of a changed object or file: its fields, then the diff.
fn changed(fields: &[FieldChange], unified: &str) -> (String, String) {
    (
        format!(
            "{} field{}",
            fields.len(),
            if fields.len() == 1 { "" } else { "s" }
        ),
        format!("{}\n{}", fields_table(fields), fence(unified, "diff")),
    )
}

fn markdown_file(f: &FileDiff) -> String {
    let (mark, what, body) = match &f.change {
        FileChange::Added { text } => ("➕", "added".to_string(), fence(text, "")),
        FileChange::Removed { text } => ("➖", "removed".to_string(), fence(text, "")),
        FileChange::Changed { fields, unified } if fields.is_empty() => {
            ("✏️", "changed".to_string(), fence(unified, "diff"))
        }
        FileChange::Changed { fields, unified } => {
            let (what, body) = changed(fields, unified);
            ("✏️", what, body)
        }
    };
    format!(
        "<details><summary>{mark} file <code>{}</code> ({what})</summary>\n\n{body}\n</details>\n",
        html(&f.path),
    )
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The JSON document (shape documented in README.md).
pub fn json(d: &Diff) -> Value {
    serde_json::to_value(d).unwrap_or(Value::Null)
}
