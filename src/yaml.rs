//! YAML → JSON value plus a span for every node, with YAML's traps turned into errors.
//!
//! One parse (serde-saphyr, YAML 1.2 with strict booleans) gives both the
//! `serde_json::Value` that the schema and the typed model read, and an index from JSON
//! pointer (RFC 6901) to the byte span of the value and of its key. Every later stage
//! reports positions through that index.
//!
//! Traps refused here, each with its own code: duplicate keys, alias bombs, tabs in
//! indentation, and plain scalars that YAML 1.1 tools (kubectl, Python, Ansible) read
//! differently from YAML 1.2 (`no`, `on`, `0755`, `1_000`, `1:20`).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::granit_parser::ErrorKind as ScanKind;
use serde_saphyr::{Location, Spanned};

use crate::diag::{Diagnostic, FileId, Label, offset_of};

/// Code: the file is not well-formed YAML.
pub(crate) const SYNTAX: &str = "gcc::yaml::syntax";
/// Code: a mapping has the same key twice.
pub(crate) const DUPLICATE_KEY: &str = "gcc::yaml::duplicate_key";
/// Code: aliases expand beyond the budget (billion laughs), or the document is too big or deep.
pub(crate) const ALIAS_BUDGET: &str = "gcc::yaml::alias_budget";
/// Code: nesting deeper than any inventory needs (a recursion bomb).
pub(crate) const TOO_DEEP: &str = "gcc::yaml::too_deep";
/// Code: a tab where YAML wants indentation spaces.
pub(crate) const TAB_INDENT: &str = "gcc::yaml::tab_indent";
/// Code: a plain scalar that YAML 1.1 and YAML 1.2 read differently.
pub(crate) const AMBIGUOUS_SCALAR: &str = "gcc::yaml::ambiguous_scalar";

/// Deepest nesting accepted; real inputs stay below 10.
const MAX_DEPTH: usize = 64;

/// Upper bound on values produced by alias replay: real inputs use a handful.
const MAX_REPLAYED_EVENTS: usize = 10_000;

/// Spans of one node: its value and, for a mapping entry, its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spans {
    /// Where the value is (zero length at the first token for mappings and sequences).
    pub value: Range<usize>,
    /// Where its key is, when the node is a mapping entry.
    pub key: Option<Range<usize>>,
}

/// A parsed YAML file: its JSON value and where every node came from.
#[derive(Debug, Clone)]
pub struct Doc {
    /// The file this document was read from.
    pub file: FileId,
    /// The content as JSON (mapping order kept as in the file is not needed: keys sort).
    pub value: Value,
    index: BTreeMap<String, Spans>,
}

impl Doc {
    /// The best span to underline for `ptr`: a scalar's value; for a container, its key;
    /// for a pointer that does not exist (a missing key), its nearest existing parent.
    pub fn span(&self, ptr: &str) -> Range<usize> {
        let mut p = ptr;
        loop {
            if let Some(s) = self.index.get(p) {
                if !s.value.is_empty() {
                    return s.value.clone();
                }
                if let Some(k) = &s.key {
                    return k.clone();
                }
                return s.value.clone();
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return 0..0,
            }
        }
    }

    /// The key's span for `ptr` if it is a mapping entry, else [`Doc::span`].
    pub(crate) fn key_span(&self, ptr: &str) -> Range<usize> {
        match self.index.get(ptr).and_then(|s| s.key.clone()) {
            Some(k) => k,
            None => self.span(ptr),
        }
    }

    /// A label on [`Doc::span`] of `ptr`.
    pub fn label(&self, ptr: &str, text: impl Into<String>) -> Label {
        Label::new(self.file, self.span(ptr), text)
    }

    /// A label on [`Doc::key_span`] of `ptr`.
    pub(crate) fn key_label(&self, ptr: &str, text: impl Into<String>) -> Label {
        Label::new(self.file, self.key_span(ptr), text)
    }
}

/// Escapes one JSON-pointer segment (RFC 6901).
pub(crate) fn escape_ptr(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Result of parsing one file: the document (when the YAML is well-formed) and the
/// problems found; a problem at a pointer is listed in `flagged` so later stages do not
/// report the same node twice.
#[derive(Debug)]
pub struct Parsed {
    /// The document, absent when the YAML could not be parsed.
    pub doc: Option<Doc>,
    /// Errors found while parsing.
    pub diagnostics: Vec<Diagnostic>,
    /// Pointers of nodes already reported (ambiguous scalars).
    pub flagged: Vec<String>,
}

/// Parses `text` (the content of `file`) into a [`Doc`], reporting YAML hazards.
pub fn parse(file: FileId, text: &str) -> Parsed {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        budget: serde_saphyr::budget! {
            max_nodes: 8_000_000,
            max_events: 16_000_000,
            max_total_scalar_bytes: 256 * 1024 * 1024,
            // Nesting costs stack in the parser: keep flow collections as shallow as
            // block ones so a crafted file cannot overflow a worker thread's stack.
            max_depth: MAX_DEPTH,
            flow_nesting_limit: MAX_DEPTH,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_REPLAYED_EVENTS,
        },
    };
    let root: Spanned<Node> = match serde_saphyr::from_str_with_options(text, options) {
        Ok(root) => root,
        Err(err) => {
            return Parsed {
                doc: None,
                diagnostics: vec![parse_error(file, text, &err)],
                flagged: Vec::new(),
            };
        }
    };
    let mut builder = Builder {
        file,
        text,
        index: BTreeMap::new(),
        diagnostics: Vec::new(),
        flagged: Vec::new(),
    };
    let value = builder.build(&root, String::new(), None);
    Parsed {
        doc: Some(Doc {
            file,
            value,
            index: builder.index,
        }),
        diagnostics: builder.diagnostics,
        flagged: builder.flagged,
    }
}

fn parse_error(file: FileId, text: &str, err: &serde_saphyr::Error) -> Diagnostic {
    let inner = innermost(err);
    let message = bare_message(inner);
    let at = err
        .location()
        .map(|l| location_range(text, &l))
        .unwrap_or(0..0);
    let (code, help) = match inner {
        serde_saphyr::Error::DuplicateMappingKey { .. } => (
            DUPLICATE_KEY,
            "each key may appear once per mapping; remove or merge the repeated entry",
        ),
        serde_saphyr::Error::Budget {
            breach: serde_saphyr::budget::BudgetBreach::Depth { .. },
            ..
        } => (
            TOO_DEEP,
            "mappings and lists may nest 64 levels deep; flatten the data",
        ),
        _ if matches!(scan_kind(inner), Some(ScanKind::RecursionLimitExceeded)) => (
            TOO_DEEP,
            "flow collections ([...] and {...}) may nest a limited number of levels; flatten the data",
        ),
        serde_saphyr::Error::Budget { .. }
        | serde_saphyr::Error::AliasReplayLimitExceeded { .. }
        | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
        | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. }
        | serde_saphyr::Error::AliasReplayCounterOverflow { .. } => (
            ALIAS_BUDGET,
            "aliases may be reused, but not expanded into thousands of nodes (a \"billion laughs\" document); write the data out",
        ),
        _ if matches!(
            scan_kind(inner),
            Some(
                ScanKind::TabNotAllowed
                    | ScanKind::TabInBlockIndentation
                    | ScanKind::TabAtBlockScalarStart
                    | ScanKind::TabInIndentation
                    | ScanKind::TabInPlainScalar
            )
        ) =>
        {
            (
                TAB_INDENT,
                "YAML indentation must use spaces; replace the tab with spaces",
            )
        }
        _ => (SYNTAX, "fix the YAML syntax at this position"),
    };
    // A tab error points at the tab itself when we can find it on that line.
    let at = if code == TAB_INDENT {
        first_tab_at_or_after_line(text, at.start).unwrap_or(at)
    } else {
        at
    };
    let help = match (code == SYNTAX)
        .then(|| indentation_hint(text, at.start, &message))
        .flatten()
    {
        Some(hint) => hint,
        None => help.to_string(),
    };
    Diagnostic::error(code, message)
        .at(Label::new(file, at, ""))
        .help(help)
}

/// The likely cause of a block-structure error at byte `at` ("did not find expected key"
/// or "'-' indicator"), from the lines above it: a `-` with no space after it, or a line
/// indented to no level of the blocks it could belong to.
fn indentation_hint(text: &str, at: usize, message: &str) -> Option<String> {
    if !message.contains("did not find expected") {
        return None;
    }
    let line_no = text[..at.min(text.len())].matches('\n').count();
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let content = |l: &str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    // `-name: a` is a plain scalar key "-name", not a list item.
    for n in (line_no.saturating_sub(3)..=line_no).rev() {
        let Some(l) = lines.get(n) else { continue };
        let t = l.trim_start();
        if t.starts_with('-') && !t.starts_with("- ") && !t.starts_with("---") && t.len() > 1 {
            return Some(format!(
                "line {}: a list item needs a space after `-` (`{}` → `- {}`)",
                n + 1,
                t,
                &t[1..]
            ));
        }
    }
    let here = lines.get(line_no).copied().filter(|l| content(l))?;
    let n = indent(here);
    // The levels this line could line up with: each enclosing block above it, and the
    // keys of a list item (`- ` plus two).
    let mut levels = std::collections::BTreeSet::new();
    let mut min = usize::MAX;
    for l in lines[..line_no.min(lines.len())]
        .iter()
        .rev()
        .filter(|l| content(l))
    {
        let i = indent(l);
        if i <= min {
            min = i;
            levels.insert(i);
            if l.trim_start().starts_with("- ") {
                levels.insert(i + 2);
            }
        }
        if i == 0 {
            break;
        }
    }
    if levels.contains(&n) {
        return None;
    }
    let levels: Vec<String> = levels.iter().map(usize::to_string).collect();
    Some(format!(
        "line {} is indented {n} spaces, which lines up with no block above it (those are at {} spaces): indent a key like its siblings, and a list item's `-` like the other items'",
        line_no + 1,
        levels.join(", ")
    ))
}

/// The YAML scanner's own error kind, when the scanner is what failed.
fn scan_kind(err: &serde_saphyr::Error) -> Option<&ScanKind> {
    match err {
        serde_saphyr::Error::ExternalMessage { source, .. } => match &**source {
            serde_saphyr::ExternalMessageSource::Parser(scan) => Some(scan.kind()),
            _ => None,
        },
        _ => None,
    }
}

fn innermost(err: &serde_saphyr::Error) -> &serde_saphyr::Error {
    let mut e = err.without_snippet();
    while let serde_saphyr::Error::AliasError { error, .. } = e {
        e = error.without_snippet();
    }
    e
}

/// The error's message without serde-saphyr's `error: line X column Y:` prefix or snippet.
fn bare_message(err: &serde_saphyr::Error) -> String {
    let full = err.without_snippet().to_string();
    let first = full.lines().next().unwrap_or("").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let msg = match first.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest,
        _ => first,
    };
    let msg = msg
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(msg)
        .split("; use from_str_multiple")
        .next()
        .unwrap_or(msg);
    // Positions are shown by the label; drop the parser's own `at line N, column M`.
    let msg = match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(", column ") => &msg[..i],
        _ => msg,
    };
    if msg.is_empty() {
        "invalid YAML".to_string()
    } else {
        msg.to_string()
    }
}

fn first_tab_at_or_after_line(text: &str, offset: usize) -> Option<Range<usize>> {
    let line_start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    // The parser may report the line after the tab; look from the previous line on.
    let search_from = text[..line_start.saturating_sub(1)]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let mut pos = search_from;
    for line in text[search_from..].split_inclusive('\n') {
        let indent_len = line.len() - line.trim_start_matches([' ', '\t']).len();
        if let Some(i) = line[..indent_len].find('\t') {
            return Some(pos + i..pos + i + 1);
        }
        pos += line.len();
        if pos > offset + 1 {
            break;
        }
    }
    None
}

fn location_range(text: &str, loc: &Location) -> Range<usize> {
    let span = loc.span();
    match (span.byte_offset(), span.byte_len()) {
        (Some(off), Some(len)) => {
            let start = (off as usize).min(text.len());
            start..(start + len as usize).min(text.len())
        }
        _ => {
            let start = offset_of(text, loc.line() as usize, loc.column() as usize);
            start..start
        }
    }
}

/// A YAML node as parsed, before conversion to JSON.
#[derive(Debug)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct Builder<'a> {
    file: FileId,
    text: &'a str,
    index: BTreeMap<String, Spans>,
    diagnostics: Vec<Diagnostic>,
    flagged: Vec<String>,
}

impl Builder<'_> {
    fn build(&mut self, node: &Spanned<Node>, ptr: String, key: Option<Range<usize>>) -> Value {
        let span = location_range(self.text, &node.referenced);
        let value = match &node.value {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::from(*i),
            Node::UInt(u) => Value::from(*u),
            Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Node::Str(s) => {
                self.check_plain_scalar(s, &span, &ptr);
                Value::String(s.clone())
            }
            Node::Seq(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.build(item, format!("{ptr}/{i}"), None))
                    .collect(),
            ),
            Node::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    let child = format!("{ptr}/{}", escape_ptr(&k.value));
                    let key_span = location_range(self.text, &k.referenced);
                    let value = self.build(v, child, Some(key_span));
                    map.insert(k.value.clone(), value);
                }
                Value::Object(map)
            }
        };
        self.index.insert(ptr, Spans { value: span, key });
        value
    }

    /// Flags plain (unquoted, untagged) scalars that YAML 1.1 reads as something else.
    fn check_plain_scalar(&mut self, s: &str, span: &Range<usize>, ptr: &str) {
        if !is_plain(self.text, span.start) {
            return;
        }
        let Some((what, advice)) = yaml11_reading(s) else {
            return;
        };
        self.flagged.push(ptr.to_string());
        self.diagnostics.push(
            Diagnostic::error(
                AMBIGUOUS_SCALAR,
                format!("`{s}` is ambiguous: YAML 1.1 tools read it as {what}"),
            )
            .at(Label::new(self.file, span.clone(), "unquoted here"))
            .help(format!("quote it (\"{s}\") if you mean the text{advice}")),
        );
    }
}

/// True when the scalar at `offset` was written plain: not quoted, not a block scalar,
/// not tagged.
fn is_plain(text: &str, offset: usize) -> bool {
    let rest = &text[offset.min(text.len())..];
    if rest.starts_with(['"', '\'']) {
        return false;
    }
    let before = text[..offset.min(text.len())].trim_end();
    let token = before.rsplit([' ', '\n', '\t']).next().unwrap_or("");
    let block_header = token.starts_with(['|', '>'])
        && token[1..]
            .chars()
            .all(|c| c == '-' || c == '+' || c.is_ascii_digit());
    !(token.starts_with('!') || block_header)
}

/// How YAML 1.1 reads a plain scalar that YAML 1.2 (and gcc) read as a string, if differently.
fn yaml11_reading(s: &str) -> Option<(&'static str, &'static str)> {
    const BOOLS: [&str; 16] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF",
    ];
    if BOOLS.contains(&s) {
        return Some((
            "a boolean",
            ", or write true or false if you mean a boolean",
        ));
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '_');
    if unsigned.len() > 1 && unsigned.starts_with('0') && digits(unsigned) {
        return Some((
            "an octal number",
            ", or write the number without leading zeros",
        ));
    }
    if unsigned.contains('_') && unsigned.starts_with(|c: char| c.is_ascii_digit()) {
        let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        if digits(int) && (frac.is_empty() || digits(frac)) {
            return Some(("a number", ", or write the number without underscores"));
        }
    }
    // Sexagesimal (base 60): 1:20 is 80 in YAML 1.1, and so is an all-digit MAC address.
    let mut parts = unsigned.split(':');
    let head = parts.next().unwrap_or("");
    let tail: Vec<&str> = parts.collect();
    if !tail.is_empty()
        && digits(head)
        && !head.starts_with('0')
        && tail.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 2
                && p.chars().all(|c| c.is_ascii_digit())
                && p.parse::<u8>().is_ok_and(|v| v < 60)
        })
    {
        return Some((
            "a base-60 number",
            ", as you must for times and MAC addresses",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<(&'static str, usize, usize)> {
        let p = parse(0, text);
        p.diagnostics
            .iter()
            .map(|d| {
                let at = d.primary.as_ref().unwrap().span.start;
                let (l, c) = crate::diag::line_col(text, at);
                (d.code, l, c)
            })
            .collect()
    }

    #[test]
    fn builds_value_and_spans() {
        let text = "# für — x\nsite: lab\nnodes:\n  - name: n1\n    cpu: 8\n";
        let p = parse(0, text);
        let doc = p.doc.unwrap();
        assert!(p.diagnostics.is_empty());
        assert_eq!(doc.value["nodes"][0]["cpu"], 8);
        let s = doc.span("/nodes/0/name");
        assert_eq!(&text[s], "n1");
        assert_eq!(&text[doc.key_span("/nodes")], "nodes");
        // A missing pointer falls back to the nearest parent (here a list item).
        assert_eq!(
            doc.span("/nodes/0/memory").start,
            text.find("name").unwrap()
        );
    }

    #[test]
    fn yaml11_scalars_are_flagged_unless_quoted() {
        let text = "a: no\nb: \"no\"\nc: 0755\nd: '1_000'\ne: 1_000\nf: 52:54:00:12:20:10\ng: 3c:ec:ef:20:00:51\nh: 1:20\ni: 10\nj: 0\nk: !!str on\nl: |-\n  off\n";
        assert_eq!(
            codes(text),
            vec![
                (AMBIGUOUS_SCALAR, 1, 4),
                (AMBIGUOUS_SCALAR, 3, 4),
                (AMBIGUOUS_SCALAR, 5, 4),
                (AMBIGUOUS_SCALAR, 6, 4),
                (AMBIGUOUS_SCALAR, 8, 4),
            ]
        );
        let p = parse(0, text);
        assert_eq!(p.flagged, ["/a", "/c", "/e", "/f", "/h"]);
        assert_eq!(p.doc.unwrap().value["c"], "0755");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        assert_eq!(codes("a: 1\nb: 2\na: 3\n"), vec![(DUPLICATE_KEY, 3, 1)]);
    }

    #[test]
    fn tabs_in_indentation_point_at_the_tab() {
        assert_eq!(codes("a:\n\tb: 1\n"), vec![(TAB_INDENT, 2, 1)]);
    }

    #[test]
    fn alias_bomb_is_refused_quickly() {
        let mut b = String::from("a0: &a0 [x,x,x,x,x,x,x,x,x]\n");
        for i in 1..10 {
            let p = i - 1;
            b += &format!("a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n");
        }
        let c = codes(&b);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0, ALIAS_BUDGET);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let flow = format!("a: {}{}\n", "[".repeat(300), "]".repeat(300));
        assert_eq!(codes(&flow)[0].0, TOO_DEEP);
        let block: String = (0..100)
            .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
            .collect();
        assert_eq!(codes(&block), vec![(TOO_DEEP, 65, 129)]);
    }

    #[test]
    fn deepest_accepted_nesting_fits_a_small_stack() {
        // Worker threads (rayon, test harness) have 2 MiB stacks; parse the deepest
        // documents we accept, and a little deeper, on half of that.
        let run = || {
            let depth = MAX_DEPTH - 2;
            let flow = format!("a: {}{}\n", "[".repeat(depth), "]".repeat(depth));
            assert!(codes(&flow).is_empty());
            let block: String = (0..depth)
                .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
                .collect();
            assert!(codes(&block).is_empty());
            let deeper = format!(
                "a: {}{}\n",
                "[".repeat(MAX_DEPTH + 1),
                "]".repeat(MAX_DEPTH + 1)
            );
            assert_eq!(codes(&deeper)[0].0, TOO_DEEP);
        };
        std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(run)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn crlf_line_endings_read_like_lf() {
        let p = parse(0, "site: lab\r\nnodes:\r\n  - name: n1\r\n");
        assert!(p.diagnostics.is_empty());
        let doc = p.doc.unwrap();
        assert_eq!(doc.value["nodes"][0]["name"], "n1");
        assert_eq!(
            crate::diag::line_col(
                "site: lab\r\nnodes:\r\n  - name: n1\r\n",
                doc.span("/nodes/0/name").start
            ),
            (3, 11)
        );
    }

    #[test]
    fn nul_bytes_are_syntax_errors() {
        assert_eq!(codes("site: lab\0\n"), vec![(SYNTAX, 1, 10)]);
    }

    #[test]
    fn block_errors_name_the_likely_indentation_mistake() {
        let help = |text: &str| {
            let p = parse(FileId::default(), text);
            p.diagnostics[0].help.clone().unwrap_or_default()
        };
        let h = help("site: lab\nnodes:\n  - name: a\n   - name: b\n");
        assert!(h.contains("line 4 is indented 3 spaces"), "{h}");
        assert!(h.contains("at 0, 2, 4 spaces"), "{h}");
        let h = help("site: lab\nhardware:\n  - name: a\n    cpu: 3\n   memory: 4\n");
        assert!(h.contains("line 5 is indented 3 spaces"), "{h}");
        let h = help("site: lab\nnodes:\n  -name: a\n  - name: b\n");
        assert!(
            h.contains("line 3: a list item needs a space after `-` (`-name: a` → `- name: a`)"),
            "{h}"
        );
        // Other syntax errors keep the general help.
        assert_eq!(help("a: [1, 2\n"), "fix the YAML syntax at this position");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        assert_eq!(codes("a: [1, 2\n"), vec![(SYNTAX, 1, 4)]);
    }
}
