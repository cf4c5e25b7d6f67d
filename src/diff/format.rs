//! Printing a [`Diff`]: text for a terminal (optionally coloured), markdown for a pull
//! request comment (cut to fit), and JSON (the `Diff` itself, serialised).

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use super::{Change, Diff, FieldChange, FileChange, FileDiff, ObjectDiff, RenderedRelease};
use crate::publish::short;
use crate::render::to_yaml;

/// The default size limit of markdown output, in bytes: a GitHub comment holds 65,536
/// characters, and no character is less than a byte.
pub const MARKDOWN_MAX_BYTES: usize = 65_536;

/// How a markdown diff is framed for a pull-request comment.
#[derive(Debug, Clone)]
pub struct MarkdownOptions {
    /// The heading (default: `gcc diff `<env>``).
    pub title: Option<String>,
    /// An id for a hidden marker (`<!-- gcc-diff:<id> -->`) on the first line, by which a
    /// CI step finds the comment to update instead of adding one per push.
    pub comment_id: Option<String>,
    /// The most bytes the whole comment may take, risk list and notes included.
    pub max_bytes: usize,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        MarkdownOptions {
            title: None,
            comment_id: None,
            max_bytes: MARKDOWN_MAX_BYTES,
        }
    }
}

/// The hidden marker of a comment id.
pub fn comment_marker(id: &str) -> String {
    format!("<!-- gcc-diff:{id} -->")
}

/// Whether `id` can go in a comment marker (letters, digits, `.`, `_`, `-`; an HTML
/// comment must not hold `--` or `>`).
pub fn valid_comment_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && !id.contains("--")
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

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
    for r in &d.rendered {
        let name = d.name(&r.release);
        s.push('\n');
        match (&r.diff, &r.not_rendered) {
            (Some(inner), _) => {
                s.push_str(&p.bold(&format!(
                    "rendered by Helm, {name}: {}",
                    summary_line(inner)
                )));
                s.push('\n');
                for o in &inner.objects {
                    s.push('\n');
                    s.push_str(&text_object(&inner.name(&o.key), o, &p));
                }
            }
            (None, why) => s.push_str(&format!(
                "{name}: not rendered ({})\n",
                why.as_deref().unwrap_or_default()
            )),
        }
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
        let origin = f
            .origin
            .as_ref()
            .map(|o| format!("  ← {o}"))
            .unwrap_or_default();
        s.push_str(&format!(
            "    {}: {} → {}{origin}\n",
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

/// Inline code holding `s` exactly (backticks and angle brackets included): delimited by
/// more backticks than its longest run, padded where it starts or ends with one; newlines
/// as spaces.
fn code(s: &str) -> String {
    let s = s.replace('\n', " ");
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.is_empty() {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// Plain text that markdown shows as written: HTML's `<`, `>`, `&` as entities (an Argo CD
/// placeholder `<path:...>` would otherwise be a link or a tag), and markdown's own
/// punctuation backslash-escaped; newlines as spaces.
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
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

/// [`code`] in a table cell: `|` escaped, which GitHub's tables require even inside code
/// and show as `|`.
fn cell_code(s: &str) -> String {
    code(&s.replace('|', "\\|"))
}

fn fields_table(fields: &[FieldChange]) -> String {
    // The column naming the input line shows only when some field has one.
    let origins = fields.iter().any(|f| f.origin.is_some());
    let mut s = if origins {
        String::from("| field | from | to | set at |\n|---|---|---|---|\n")
    } else {
        String::from("| field | from | to |\n|---|---|---|\n")
    };
    for f in fields {
        let origin = match (&f.origin, origins) {
            (_, false) => String::new(),
            (Some(o), true) => format!(" {} |", cell_code(o)),
            (None, true) => " |".to_string(),
        };
        s.push_str(&format!(
            "| {} | {} | {} |{origin}\n",
            cell_code(&f.path),
            cell_code(&value(f.old.as_ref())),
            cell_code(&value(f.new.as_ref()))
        ));
    }
    s
}

/// Markdown for a pull-request comment with the default options.
pub fn markdown(d: &Diff) -> String {
    markdown_with(d, &MarkdownOptions::default())
}

/// Markdown for a pull-request comment: marker, title, summary table, inputs, notes,
/// risks, then one `<details>` per object or file. The whole of it stays within
/// `opts.max_bytes`: risks, then objects, are shown while they fit, and a closing line
/// says what was cut.
pub fn markdown_with(d: &Diff, opts: &MarkdownOptions) -> String {
    let mut head = String::new();
    if let Some(id) = &opts.comment_id {
        head.push_str(&comment_marker(id));
        head.push('\n');
    }
    let sides = format!(
        "{} → {}",
        plain(&side(&d.from.label, d.from.build_id.as_ref())),
        plain(&side(&d.to.label, d.to.build_id.as_ref()))
    );
    match &opts.title {
        Some(t) => head.push_str(&format!(
            "### {}\n\n{} {sides}\n\n",
            plain(t),
            code(&d.environment)
        )),
        None => head.push_str(&format!(
            "### gcc diff {}: {sides}\n\n",
            code(&d.environment)
        )),
    }
    if d.identical {
        head.push_str("No change: every object and every file is identical.\n");
        return fit(head, opts.max_bytes);
    }
    let sm = d.summary;
    head.push_str(&format!(
        "| added | removed | changed | unchanged | risks |\n|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} |\n\n",
        sm.added,
        sm.removed,
        sm.changed,
        sm.unchanged,
        d.risks.len()
    ));
    if !d.inputs_changed.is_empty() {
        let list: Vec<String> = d.inputs_changed.iter().map(|i| code(i)).collect();
        head.push_str(&format!("Inputs changed: {}\n\n", list.join(", ")));
    }
    for n in &d.notes {
        head.push_str(&format!("> **Note:** {}\n\n", plain(n)));
    }
    let risks: Vec<String> = d
        .risks
        .iter()
        .map(|r| {
            let at = match (&r.object, &r.path) {
                (Some(o), Some(p)) => format!(" {} {}", code(&d.name(o)), code(p)),
                (Some(o), None) => format!(" {}", code(&d.name(o))),
                _ => String::new(),
            };
            format!("- ⚠️ **{}**{at}: {}\n", r.code, plain(&r.reason))
        })
        .collect();
    let blocks: Vec<String> = d
        .objects
        .iter()
        .map(|o| markdown_object(&d.name(&o.key), o))
        .chain(d.files.iter().map(markdown_file))
        .chain(d.rendered.iter().map(|r| markdown_rendered(d, r)))
        .collect();

    // What is left for risks and objects once the closing line has its room.
    let closing = |risks_cut: usize, blocks_cut: usize| {
        cut_note(
            d,
            opts.max_bytes,
            risks_cut,
            risks.len(),
            blocks_cut,
            blocks.len(),
        )
    };
    let reserve = closing(risks.len(), blocks.len()).len();
    let mut s = head;
    let budget = opts.max_bytes.saturating_sub(reserve);
    let mut shown_risks = 0;
    if !risks.is_empty() {
        s.push_str("**Risks**\n\n");
        for r in &risks {
            if s.len() + r.len() + 1 > budget {
                break;
            }
            s.push_str(r);
            shown_risks += 1;
        }
        s.push('\n');
    }
    let mut shown_blocks = 0;
    for b in &blocks {
        if s.len() + b.len() > budget {
            break;
        }
        s.push_str(b);
        shown_blocks += 1;
    }
    s.push_str(&closing(
        risks.len() - shown_risks,
        blocks.len() - shown_blocks,
    ));
    fit(s, opts.max_bytes)
}

/// One comment for `gcc diff --all`: marker, title, a table of the environments, then
/// each environment's section as [`markdown_with`] writes it (headed by its name), and
/// `summary` last. The byte budget is shared: each section gets an equal part of what is
/// left when it starts, so a large first diff cannot crowd out the others.
pub fn markdown_all(diffs: &[&Diff], summary: &str, opts: &MarkdownOptions) -> String {
    let mut s = String::new();
    if let Some(id) = &opts.comment_id {
        s.push_str(&comment_marker(id));
        s.push('\n');
    }
    let title = opts
        .title
        .as_deref()
        .unwrap_or("gcc diff: every environment");
    s.push_str(&format!(
        "### {}\n\n| environment | added | removed | changed | risks |\n|---|---:|---:|---:|---:|\n",
        plain(title)
    ));
    for d in diffs {
        let sm = d.summary;
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            cell_code(&d.environment),
            sm.added,
            sm.removed,
            sm.changed,
            d.risks.len()
        ));
    }
    s.push('\n');
    let closing = format!("\n{}", plain(summary));
    for (i, d) in diffs.iter().enumerate() {
        let left = opts.max_bytes.saturating_sub(s.len() + closing.len());
        let share = left / (diffs.len() - i);
        let section = markdown_with(
            d,
            &MarkdownOptions {
                title: Some(d.environment.clone()),
                comment_id: None,
                max_bytes: share.saturating_sub(1),
            },
        );
        s.push_str(&section);
        s.push('\n');
    }
    s.push_str(&closing);
    fit(s, opts.max_bytes)
}

/// The closing line saying what was cut (empty when nothing was).
fn cut_note(
    d: &Diff,
    max_bytes: usize,
    risks_cut: usize,
    risks: usize,
    blocks_cut: usize,
    blocks: usize,
) -> String {
    if risks_cut == 0 && blocks_cut == 0 {
        return String::new();
    }
    let mut parts = Vec::new();
    if risks_cut > 0 {
        parts.push(format!("{risks_cut} of {risks} risks"));
    }
    if blocks_cut > 0 {
        parts.push(format!("{blocks_cut} of {blocks} changed objects or files"));
    }
    format!(
        "\n_Not shown, to keep this comment within {max_bytes} bytes: {}. Run {} locally, or \
         use {} for all of it._\n",
        parts.join(" and "),
        code(&format!("gcc diff {}", d.environment)),
        code("--format json")
    )
}

/// `s` cut at a character boundary to at most `max` bytes (a last resort, when even the
/// heading does not fit).
fn fit(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut at = max;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
    s
}

/// A rendered release: its objects' blocks inside one collapsible block, or why it was not
/// rendered.
fn markdown_rendered(d: &Diff, r: &RenderedRelease) -> String {
    let name = d.name(&r.release);
    match (&r.diff, &r.not_rendered) {
        (Some(inner), _) => {
            let body: String = inner
                .objects
                .iter()
                .map(|o| markdown_object(&inner.name(&o.key), o))
                .collect();
            format!(
                "<details><summary>🔧 rendered by Helm: <code>{}</code> ({})</summary>\n\n{body}\n</details>\n",
                html(&name),
                html(&summary_line(inner))
            )
        }
        (None, why) => format!(
            "- {} not rendered: {}\n",
            code(&name),
            plain(why.as_deref().unwrap_or_default())
        ),
    }
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
