//! One diagnostic type for every stage, and the two ways to show it: rendered like
//! rustc (via miette) for people, and a stable JSON shape for machines.
//!
//! Codes are namespaced by stage (`gcc::yaml::…`, `gcc::schema::…`, `gcc::inventory::…`,
//! `gcc::env::…`, `gcc::profile::…`) and never change once released.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde_json::{Value, json};

/// Index of a file in [`Files`].
pub(crate) type FileId = usize;

/// The text of one input file, kept for spans and snippets.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the source root, `/`-separated (`inventory/lab.yaml`).
    pub path: String,
    /// The file's text (lossy for files that are not UTF-8; such files never pass `load`).
    pub text: Arc<str>,
}

/// Every file read in one run; diagnostics point into it by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct Files {
    files: Vec<SourceFile>,
}

impl Files {
    /// Registers a file and returns its id.
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<Arc<str>>) -> FileId {
        self.files.push(SourceFile {
            path: path.into(),
            text: text.into(),
        });
        self.files.len() - 1
    }

    /// Every file, in the order they were read.
    pub fn iter(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter()
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: FileId, offset: usize) -> (usize, usize) {
        line_col(&self.files[id].text, offset)
    }
}

/// 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

/// Byte offset of a 1-based line and column (in characters); clamps to the text.
pub(crate) fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line.max(1) {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line_text = &text[start..];
    let end = line_text.find('\n').unwrap_or(line_text.len());
    let within = line_text[..end]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(end, |(i, _)| i);
    start + within
}

/// The known word closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(word, k), *k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// Help for a name that matches nothing: the likely typo, else the known names.
pub(crate) fn did_you_mean<S: AsRef<str>>(
    word: &str,
    known: impl IntoIterator<Item = S>,
    plural: &str,
) -> String {
    let owned: Vec<S> = known.into_iter().collect();
    let list: Vec<&str> = owned.iter().map(AsRef::as_ref).collect();
    match closest(word, &list) {
        Some(k) => format!("did you mean `{k}`?"),
        None if list.is_empty() => format!("there are no {plural}"),
        None => format!("known {plural}: {}", list.join(", ")),
    }
}

/// How serious a diagnostic is: errors fail the run, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The input is invalid.
    Error,
    /// Probably a mistake, but the input is usable.
    Warning,
}

impl Severity {
    /// `error` or `warning`, as written in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A span in a file with a short text shown under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The file the span is in.
    pub file: FileId,
    /// Byte range in the file's text.
    pub span: Range<usize>,
    /// What this place is (`first used here`).
    pub text: String,
}

impl Label {
    /// A label on `span` in `file`.
    pub fn new(file: FileId, span: Range<usize>, text: impl Into<String>) -> Self {
        Self {
            file,
            span,
            text: text.into(),
        }
    }
}

/// A finding about the input: a stable code, a message, where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code, e.g. `gcc::inventory::duplicate_mac`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// The offending place, when there is one.
    pub primary: Option<Label>,
    /// Related places (the first of two duplicates, the subnet a pool must fit in).
    pub secondary: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A new error with no location yet.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            help: None,
        }
    }

    /// A new warning with no location yet.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    /// Sets the offending place.
    pub fn at(mut self, label: Label) -> Self {
        self.primary = Some(label);
        self
    }

    /// Adds a related place.
    pub fn also(mut self, label: Label) -> Self {
        self.secondary.push(label);
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn sort_key(&self) -> (usize, usize, &'static str, &str) {
        match &self.primary {
            // Diagnostics without a place (missing files) come first.
            None => (0, 0, self.code, &self.message),
            Some(l) => (l.file + 1, l.span.start, self.code, &self.message),
        }
    }
}

/// Sorts diagnostics by file and position, the order people read them in.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

/// Counts errors in a list of diagnostics.
pub(crate) fn error_count(diags: &[Diagnostic]) -> usize {
    diags.iter().filter(|d| d.is_error()).count()
}

/// The longest quoted value (between backticks) a message shows whole, in bytes.
pub(crate) const MAX_QUOTE: usize = 200;
/// The longest source line a snippet shows whole, in bytes.
pub(crate) const MAX_LINE: usize = 300;
/// Lines only a little over [`MAX_LINE`] are shown whole: the ellipsis and byte count
/// would make them longer.
const CUT_SLACK: usize = 64;
/// The longest message, help or label text shown whole, in bytes.
const MAX_TEXT: usize = 4000;

/// `s` cut to at most `max` bytes (at a character boundary), with an ellipsis and the
/// full length in bytes when it was cut.
pub(crate) fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len()).into()
}

/// A message with every backtick-quoted value over [`MAX_QUOTE`] bytes clipped, and the
/// whole capped, so that a huge input value never floods a terminal or a CI log.
pub(crate) fn clip_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_TEXT + 64));
    for (i, part) in s.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        // Odd parts sit between backticks.
        out.push_str(&if i % 2 == 1 {
            clip(part, MAX_QUOTE)
        } else {
            part.into()
        });
    }
    clip(&out, MAX_TEXT).into_owned()
}

/// A file's text for a snippet: lines over [`MAX_LINE`] bytes cut, with the map from
/// offsets in the original text to offsets in the cut one.
struct Clipped {
    text: Arc<str>,
    /// Per cut line: where the cut starts and the line ends (original offsets), and
    /// the net bytes removed by this and every earlier cut.
    cuts: Vec<(usize, usize, usize)>,
}

impl Clipped {
    fn new(text: &Arc<str>) -> Self {
        if !text.split('\n').any(|l| l.len() > MAX_LINE + CUT_SLACK) {
            return Clipped {
                text: text.clone(),
                cuts: Vec::new(),
            };
        }
        let mut out = String::new();
        let mut cuts = Vec::new();
        let mut removed = 0usize;
        let mut at = 0usize;
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
                at += 1;
            }
            if line.len() > MAX_LINE + CUT_SLACK {
                let clipped = clip(line, MAX_LINE);
                let mut keep = MAX_LINE;
                while !line.is_char_boundary(keep) {
                    keep -= 1;
                }
                out.push_str(&clipped);
                removed += line.len() - clipped.len();
                cuts.push((at + keep, at + line.len(), removed));
            } else {
                out.push_str(line);
            }
            at += line.len();
        }
        Clipped {
            text: out.into(),
            cuts,
        }
    }

    /// Where original offset `p` is in the cut text (inside a cut: where the cut starts).
    fn map(&self, p: usize) -> usize {
        let i = self.cuts.partition_point(|c| c.0 <= p);
        if i == 0 {
            return p;
        }
        let (start, end, removed) = self.cuts[i - 1];
        let before = if i >= 2 { self.cuts[i - 2].2 } else { 0 };
        if p < end { start - before } else { p - removed }
    }

    fn span(&self, r: &Range<usize>) -> SourceSpan {
        let (a, b) = (self.map(r.start), self.map(r.end.max(r.start)));
        (a, b.saturating_sub(a)).into()
    }
}

/// The [`Clipped`] text of each file a render touches, computed once.
#[derive(Default)]
struct Snippets(std::collections::BTreeMap<FileId, Clipped>);

impl Snippets {
    fn get(&mut self, files: &Files, id: FileId) -> &Clipped {
        self.0
            .entry(id)
            .or_insert_with(|| Clipped::new(&files.get(id).text))
    }
}

/// Renders diagnostics like rustc: `file:line:col`, the source line, labels, help.
pub fn render_text(files: &Files, diags: &[Diagnostic], color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    let mut snippets = Snippets::default();
    for diag in diags {
        let view = View::new(diag, files, &mut snippets);
        if handler.render_report(&mut out, &view).is_err() {
            out.push_str(&format!("{}: {}\n", diag.code, diag.message));
        }
        out.push('\n');
    }
    let errors = error_count(diags);
    let warnings = diags.len() - errors;
    if !diags.is_empty() {
        out.push_str(&format!(
            "{errors} error{}, {warnings} warning{}\n",
            plural(errors),
            plural(warnings)
        ));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One diagnostic as a JSON object (the shape documented in README.md).
pub(crate) fn to_json(files: &Files, diag: &Diagnostic) -> Value {
    let place = |l: &Label| {
        let (line, column) = files.line_col(l.file, l.span.start);
        (files.get(l.file).path.clone(), line, column)
    };
    let (file, line, column) = match &diag.primary {
        Some(l) => {
            let (f, line, col) = place(l);
            (Value::from(f), Value::from(line), Value::from(col))
        }
        None => (Value::Null, Value::Null, Value::Null),
    };
    let related: Vec<Value> = diag
        .secondary
        .iter()
        .map(|l| {
            let (f, line, col) = place(l);
            json!({ "file": f, "line": line, "column": col, "message": clip_text(&l.text) })
        })
        .collect();
    json!({
        "code": diag.code,
        "severity": diag.severity.as_str(),
        "message": clip_text(&diag.message),
        "file": file,
        "line": line,
        "column": column,
        "help": diag.help.as_deref().map(clip_text),
        "related": related,
    })
}

/// The whole report as JSON: `{ ok, errors, warnings, diagnostics: [...] }`.
pub fn report_json(files: &Files, diags: &[Diagnostic]) -> Value {
    let errors = error_count(diags);
    json!({
        "ok": errors == 0,
        "errors": errors,
        "warnings": diags.len() - errors,
        "diagnostics": diags.iter().map(|d| to_json(files, d)).collect::<Vec<_>>(),
    })
}

/// Secondary labels at most this many lines from the primary share its snippet.
const NEARBY_LINES: usize = 4;

/// A diagnostic seen through miette's eyes: the primary file's labels, and one related
/// note per label that sits in another file.
struct View {
    code: &'static str,
    message: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<NamedSource<Arc<str>>>,
    labels: Vec<LabeledSpan>,
    related: Vec<View>,
}

impl View {
    fn new(diag: &Diagnostic, files: &Files, snippets: &mut Snippets) -> Self {
        let severity = match diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
        let message = clip_text(&diag.message);
        let help = diag.help.as_deref().map(clip_text);
        let Some(primary) = &diag.primary else {
            return Self {
                code: diag.code,
                message,
                severity,
                help,
                source: None,
                labels: Vec::new(),
                related: diag
                    .secondary
                    .iter()
                    .map(|l| Self::note(l, files, snippets))
                    .collect(),
            };
        };
        let clipped = snippets.get(files, primary.file);
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            non_empty(&primary.text),
            clipped.span(&primary.span),
        )];
        let mut near = Vec::new();
        let mut far = Vec::new();
        let primary_line = files.line_col(primary.file, primary.span.start).0;
        for l in &diag.secondary {
            let line = files.line_col(l.file, l.span.start).0;
            // Nearby labels share the snippet; far ones get their own, so the snippet
            // does not print every line in between.
            if l.file == primary.file && line.abs_diff(primary_line) <= NEARBY_LINES {
                near.push(l);
            } else {
                far.push(l);
            }
        }
        for l in near {
            labels.push(LabeledSpan::new_with_span(
                non_empty(&l.text),
                clipped.span(&l.span),
            ));
        }
        let source = Some(named(files, primary.file, clipped));
        let related = far
            .into_iter()
            .map(|l| Self::note(l, files, snippets))
            .collect();
        Self {
            code: diag.code,
            message,
            severity,
            help,
            source,
            labels,
            related,
        }
    }

    fn note(label: &Label, files: &Files, snippets: &mut Snippets) -> Self {
        let clipped = snippets.get(files, label.file);
        Self {
            code: "",
            message: clip_text(&label.text),
            severity: miette::Severity::Advice,
            help: None,
            source: Some(named(files, label.file, clipped)),
            labels: vec![LabeledSpan::new_primary_with_span(
                None,
                clipped.span(&label.span),
            )],
            related: Vec::new(),
        }
    }
}

fn named(files: &Files, id: FileId, clipped: &Clipped) -> NamedSource<Arc<str>> {
    NamedSource::new(files.get(id).path.clone(), clipped.text.clone())
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| clip_text(s))
}

impl fmt::Debug for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for View {}

impl miette::Diagnostic for View {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars_not_bytes() {
        let text = "# für — x\nkey: vålue\n";
        let off = text.find("vålue").unwrap();
        assert_eq!(line_col(text, off), (2, 6));
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(offset_of(text, 2, 6), off);
        assert_eq!(line_col(text, text.len()), (3, 1));
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            closest("hypervsor", &["hypervisor", "hardware"]),
            Some("hypervisor")
        );
        assert_eq!(closest("colour", &["name", "cpu", "memory"]), None);
        assert_eq!(
            did_you_mean("nova", ["glance", "neutron"], "services"),
            "known services: glance, neutron"
        );
        assert_eq!(
            did_you_mean("x", Vec::<&str>::new(), "exports"),
            "there are no exports"
        );
    }

    #[test]
    fn sorts_by_file_then_position() {
        let mut d = vec![
            Diagnostic::error("b", "x").at(Label::new(1, 5..6, "")),
            Diagnostic::error("a", "y").at(Label::new(0, 9..10, "")),
            Diagnostic::error("c", "z"),
            Diagnostic::error("a", "w").at(Label::new(0, 2..3, "")),
        ];
        sort(&mut d);
        let order: Vec<_> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(order, ["z", "w", "y", "x"]);
    }

    #[test]
    fn renders_code_location_and_related_file() {
        let mut files = Files::default();
        let text = "nodes:\n  - name: n1\n";
        let at = text.find("n1").unwrap();
        let a = files.add("inventory/a.yaml", text);
        let b = files.add("inventory/b.yaml", text);
        let d = Diagnostic::error(
            "gcc::inventory::duplicate_name",
            "node `n1` is defined twice",
        )
        .at(Label::new(b, at..at + 2, "defined again here"))
        .also(Label::new(a, at..at + 2, "first defined here"))
        .help("rename one of them");
        let text = render_text(&files, std::slice::from_ref(&d), false);
        assert!(text.contains("gcc::inventory::duplicate_name"), "{text}");
        assert!(text.contains("inventory/b.yaml:2:11"), "{text}");
        assert!(text.contains("inventory/a.yaml:2:11"), "{text}");
        assert!(text.contains("help: rename one of them"), "{text}");
        let j = to_json(&files, &d);
        assert_eq!(j["file"], "inventory/b.yaml");
        assert_eq!(j["line"], 2);
        assert_eq!(j["column"], 11);
        assert_eq!(j["related"][0]["file"], "inventory/a.yaml");
    }
}
