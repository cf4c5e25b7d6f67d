//! gcc's own writer of canonical YAML: the bytes serde-saphyr's serializer writes, for the
//! documents made only of what gcc emits nearly everywhere, several times faster (the
//! serializer was the largest single cost of a build).
//!
//! It knows block maps and lists (two-space indent, lists compact under their key, `{}`
//! and `[]` for empty ones), integers, booleans, null, floats (spelled by serde-saphyr),
//! keys that are plain identifiers, and one-line strings of up to 80 bytes: plain when
//! they are identifier- or path-like and no YAML 1.1 reader could take them for anything
//! but a string, otherwise spelled by serde-saphyr as a lone scalar (the same rule it
//! applies in a map value). For anything else (a multi-line or longer string, which
//! serde-saphyr writes as a block or folded scalar, a list directly in a list, any other
//! key) it answers `None` and the caller has serde-saphyr write the whole document.
//! Debug builds, and so every test, compare the two on every document rendered.

use serde_json::Value;

/// Keys written first, in this order, at the top and in `metadata`.
const TOP: &[&str] = &["apiVersion", "kind", "metadata", "spec"];
const METADATA: &[&str] = &["name", "namespace", "labels", "annotations"];

/// The longest one-line string written as is (serde-saphyr folds longer plain strings).
const MAX_LINE: usize = 80;

/// `obj` as canonical YAML, or `None` when it holds something this writer leaves to
/// serde-saphyr.
pub(crate) fn write(obj: &Value) -> Option<String> {
    let Value::Object(m) = obj else {
        return None;
    };
    if m.is_empty() {
        return None;
    }
    let mut w = Writer {
        out: String::with_capacity(1024),
    };
    w.entries(ordered(m, TOP), 0, false, true)?;
    Some(w.out)
}

/// The entries of `m`: `first` in that order, then the rest in key order.
fn ordered<'a>(
    m: &'a serde_json::Map<String, Value>,
    first: &'static [&'static str],
) -> impl Iterator<Item = (&'a str, &'a Value)> {
    let firsts = first
        .iter()
        .filter_map(move |k| m.get_key_value(*k).map(|(k, v)| (k.as_str(), v)));
    let rest = m
        .iter()
        .filter(move |(k, _)| !first.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v));
    firsts.chain(rest)
}

struct Writer {
    out: String,
}

impl Writer {
    fn indent(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }

    /// The entries of a map whose keys sit at column `indent`; the first one on the
    /// current line when `inline` (a map that is a list item, after its `- `). `top` marks
    /// the document's own map, whose `metadata` is ordered too.
    fn entries<'a>(
        &mut self,
        entries: impl Iterator<Item = (&'a str, &'a Value)>,
        indent: usize,
        inline: bool,
        top: bool,
    ) -> Option<()> {
        for (i, (k, v)) in entries.enumerate() {
            if i > 0 || !inline {
                self.indent(indent);
            }
            if !plain_key(k) {
                return None;
            }
            self.out.push_str(k);
            self.out.push(':');
            match v {
                Value::Object(m) if m.is_empty() => self.out.push_str(" {}\n"),
                Value::Array(a) if a.is_empty() => self.out.push_str(" []\n"),
                Value::Object(m) => {
                    self.out.push('\n');
                    if top && k == "metadata" {
                        self.entries(ordered(m, METADATA), indent + 2, false, false)?;
                    } else {
                        self.entries(ordered(m, &[]), indent + 2, false, false)?;
                    }
                }
                Value::Array(a) => {
                    self.out.push('\n');
                    self.items(a, indent)?;
                }
                scalar => {
                    self.out.push(' ');
                    self.scalar(scalar)?;
                    self.out.push('\n');
                }
            }
        }
        Some(())
    }

    /// The items of a list whose dashes sit at column `indent`.
    fn items(&mut self, items: &[Value], indent: usize) -> Option<()> {
        for item in items {
            self.indent(indent);
            self.out.push_str("- ");
            match item {
                Value::Object(m) if m.is_empty() => self.out.push_str("{}\n"),
                Value::Array(a) if a.is_empty() => self.out.push_str("[]\n"),
                Value::Object(m) => self.entries(ordered(m, &[]), indent + 2, true, false)?,
                Value::Array(_) => return None,
                scalar => {
                    self.scalar(scalar)?;
                    self.out.push('\n');
                }
            }
        }
        Some(())
    }

    fn scalar(&mut self, v: &Value) -> Option<()> {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(true) => self.out.push_str("true"),
            Value::Bool(false) => self.out.push_str("false"),
            Value::Number(n) if n.is_f64() => self.lone(v)?,
            Value::Number(n) => self.out.push_str(&n.to_string()),
            Value::String(s) if s.len() > MAX_LINE || s.contains('\n') => return None,
            Value::String(s) if plain_value(s) => self.out.push_str(s),
            Value::String(_) => self.lone(v)?,
            Value::Array(_) | Value::Object(_) => return None,
        }
        Some(())
    }

    /// A scalar as serde-saphyr writes it alone, when that is one line.
    fn lone(&mut self, v: &Value) -> Option<()> {
        let text = serde_saphyr::to_string(v).ok()?;
        let line = text.strip_suffix('\n').unwrap_or(&text);
        if line.contains('\n') {
            return None;
        }
        self.out.push_str(line);
        Some(())
    }
}

/// Words a YAML 1.1 or 1.2 reader takes for a boolean, null or a float, in any case.
const AMBIGUOUS: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
];

fn ambiguous(s: &str) -> bool {
    AMBIGUOUS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// An identifier-like key written as is: a letter, then letters, digits, `.`, `_`, `/`
/// or `-`.
fn plain_key(k: &str) -> bool {
    k.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'))
        && !ambiguous(k)
}

/// A string value written as is: a letter or `/` first, then letters, digits and
/// `. _ / : = @ + -` only, not ending in `:`, and no word a reader would take for
/// something else. Everything else is left to serde-saphyr's own rule.
fn plain_value(s: &str) -> bool {
    s.as_bytes()
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'/')
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'.' | b'_' | b'/' | b':' | b'=' | b'@' | b'+' | b'-')
        })
        && !s.ends_with(':')
        && !ambiguous(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn saphyr(v: &Value) -> String {
        crate::render::saphyr_yaml(v).unwrap()
    }

    #[test]
    fn writes_what_serde_saphyr_writes() {
        let doc = json!({
            "spec": {"replicas": 3, "ratio": 4.0, "enabled": true, "none": null, "empty": {}, "list": [],
                     "containers": [{"name": "api", "args": ["--a", "b c", "2024.1"], "env": [{"name": "X", "value": "yes"}],
                                     "resources": {"limits": {"cpu": "100m"}}}, {}, "x"],
                     "url": "http://keystone-api.openstack.svc.cluster.local:5000/v3", "ends": "key:",
                     "quote": "it's \"here\"", "tab": "a\tb", "hash": "a #b", "empty_string": ""},
            "metadata": {"annotations": {"a.io/x": "1"}, "name": "nova-api", "labels": {"app": "nova"}, "namespace": "openstack", "uid": "u"},
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "zz": "last"
        });
        let fast = write(&doc).expect("this document is all the writer knows");
        assert_eq!(fast, saphyr(&doc));
        assert!(fast.starts_with("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nova-api\n  namespace: openstack\n"));
    }

    #[test]
    fn leaves_the_rest_to_serde_saphyr() {
        for doc in [
            json!({"data": {"script": "#!/bin/sh\necho hi\n"}}),
            json!({"data": {"long": "a".repeat(81)}}),
            json!({"data": {"0": "numeric key"}}),
            json!({"data": [["nested"]]}),
            json!({}),
            json!("scalar"),
        ] {
            assert_eq!(write(&doc), None, "{doc}");
        }
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[a-zA-Z0-9 ._/:=@+#'\"\\-]{0,12}".prop_map(Value::from),
            prop::sample::select(vec![
                "yes",
                "No",
                "ON",
                "off",
                "y",
                "N",
                "true",
                "False",
                "null",
                "~",
                "NaN",
                ".inf",
                "-",
                "- a",
                "?x",
                "1e3",
                "0x1F",
                "1_000",
                "12:30",
                "2024-01-01",
                "0755",
                "a: b",
                "key:",
                "---",
                "...",
                "é",
                "a\u{7f}b",
                "<<",
                "=",
                "/",
                "@x",
                "%x",
                ":x",
            ])
            .prop_map(Value::from),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        // Mostly keys the writer takes, so that most documents are written by both.
        prop_oneof![
            30 => "[a-z][a-zA-Z0-9._/-]{0,8}",
            1 => "[a-zA-Z0-9 :#-]{0,6}",
            1 => prop::sample::select(vec!["yes".to_string(), "on".into(), "1".into(), "<<".into()]),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(key(), inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Whatever the writer writes is byte for byte what serde-saphyr writes.
        #[test]
        fn agrees_with_serde_saphyr(doc in prop::collection::btree_map(key(), value(), 1..6)) {
            let doc = Value::Object(doc.into_iter().collect());
            if let Some(fast) = write(&doc) {
                prop_assert_eq!(fast, saphyr(&doc));
            }
        }
    }
}
