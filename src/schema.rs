//! JSON Schemas of the input files, embedded in the binary, and validation of a parsed
//! document against them with every violation mapped back to its YAML span.
//!
//! The schemas in `schema/` are the contract with editors (yaml-language-server) and
//! with users: every property has a description, which doubles as the help line of a
//! violation.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::diag::{Diagnostic, closest, did_you_mean};
use crate::yaml::{Doc, escape_ptr};

/// Code: a key the schema does not know.
pub(crate) const UNKNOWN_KEY: &str = "gcc::schema::unknown_key";
/// Code: a required key is missing.
pub(crate) const MISSING_KEY: &str = "gcc::schema::missing_key";
/// Code: a value of the wrong type (string for number, list for mapping, ...).
pub(crate) const WRONG_TYPE: &str = "gcc::schema::wrong_type";
/// Code: a value outside the allowed set or form (enum, pattern, unique items).
pub(crate) const INVALID_VALUE: &str = "gcc::schema::invalid_value";
/// Code: a number outside its bounds, or a list of the wrong length.
pub(crate) const OUT_OF_RANGE: &str = "gcc::schema::out_of_range";

/// The two kinds of input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// `inventory/<name>.yaml` or one file of `inventory/<name>/`.
    Inventory,
    /// `environments/<name>.yaml`.
    Environment,
}

impl SchemaKind {
    /// The schema's JSON text, as shipped in `schema/`.
    pub fn text(self) -> &'static str {
        match self {
            SchemaKind::Inventory => include_str!("../schema/inventory.schema.json"),
            SchemaKind::Environment => include_str!("../schema/environment.schema.json"),
        }
    }

    /// The schema as a JSON value.
    pub fn value(self) -> &'static Value {
        static INV: OnceLock<Value> = OnceLock::new();
        static ENV: OnceLock<Value> = OnceLock::new();
        let cell = match self {
            SchemaKind::Inventory => &INV,
            SchemaKind::Environment => &ENV,
        };
        cell.get_or_init(|| serde_json::from_str(self.text()).expect("embedded schema is JSON"))
    }

    fn validator(self) -> &'static jsonschema::Validator {
        static INV: OnceLock<jsonschema::Validator> = OnceLock::new();
        static ENV: OnceLock<jsonschema::Validator> = OnceLock::new();
        let cell = match self {
            SchemaKind::Inventory => &INV,
            SchemaKind::Environment => &ENV,
        };
        cell.get_or_init(|| self.compile())
    }

    /// A new validator of this schema (a run compiles each once, on first use).
    pub fn compile(self) -> jsonschema::Validator {
        jsonschema::draft202012::new(self.value()).expect("embedded schema compiles")
    }

    fn noun(self) -> &'static str {
        match self {
            SchemaKind::Inventory => "an inventory",
            SchemaKind::Environment => "an environment",
        }
    }
}

/// Validates `doc` against the schema of `kind`. Nodes in `skip` (already reported by the
/// YAML reader) produce no further diagnostics.
pub fn validate(kind: SchemaKind, doc: &Doc, skip: &BTreeSet<String>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for err in kind.validator().iter_errors(&doc.value) {
        let ptr = err.instance_path().as_str().to_string();
        if skip.contains(&ptr) {
            continue;
        }
        let schema_path = err.schema_path().as_str().to_string();
        // An unknown name under a map with `propertyNames` (the environment's services):
        // the editor flags it while typing; gcc's check reports it with the closest name.
        if schema_path.contains("/propertyNames") {
            continue;
        }
        let prop_schema = parent_schema(kind.value(), &schema_path);
        let description = prop_schema
            .and_then(|s| s.get("description"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let instance = err.instance();
        match err.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let known: Vec<&str> = prop_schema
                    .and_then(|s| s.get("properties"))
                    .and_then(Value::as_object)
                    .map(|m| m.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                for key in unexpected {
                    let child = format!("{ptr}/{}", escape_ptr(key));
                    let help = did_you_mean(key, &known, "keys here");
                    out.push(
                        Diagnostic::error(UNKNOWN_KEY, format!("unknown key `{key}`"))
                            .at(doc.key_label(&child, "not a known key here"))
                            .help(help),
                    );
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                let where_ = if ptr.is_empty() {
                    format!("{} file", kind.noun())
                } else {
                    format!("`{}`", display_ptr_in(&doc.value, &ptr))
                };
                let help = prop_schema
                    .and_then(|s| {
                        s.pointer(&format!("/properties/{}/description", escape_ptr(name)))
                    })
                    .and_then(Value::as_str)
                    .map_or_else(
                        || format!("add `{name}:`"),
                        |d| format!("add `{name}:`: {d}"),
                    );
                out.push(
                    Diagnostic::error(MISSING_KEY, format!("{where_} is missing `{name}`"))
                        .at(doc.key_label(&ptr, format!("`{name}` is required here")))
                        .help(help),
                );
            }
            ValidationErrorKind::Type { kind: expected } => {
                let expected = type_names(expected);
                let found = describe(instance);
                let label_text = format!("expected {expected}");
                let message = if ptr.is_empty() {
                    format!(
                        "{} file must be a mapping of keys, found {found}",
                        kind.noun()
                    )
                } else {
                    format!(
                        "`{}` must be {expected}, found {found}",
                        display_ptr_in(&doc.value, &ptr)
                    )
                };
                let help = if expected.contains("string")
                    && !instance.is_string()
                    && !instance.is_object()
                    && !instance.is_array()
                {
                    let text = doc_text_hint(instance);
                    format!("quote it: \"{text}\"")
                } else {
                    description.unwrap_or_else(|| format!("write {expected}"))
                };
                out.push(
                    Diagnostic::error(WRONG_TYPE, message)
                        .at(doc.label(&ptr, label_text))
                        .help(help),
                );
            }
            ValidationErrorKind::Enum { options } => {
                let opts: Vec<String> = options
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let refs: Vec<&str> = opts.iter().map(String::as_str).collect();
                let got = instance
                    .as_str()
                    .map_or_else(|| instance.to_string(), str::to_string);
                let help = match closest(&got, &refs) {
                    Some(k) => format!("did you mean `{k}`? (one of: {})", opts.join(", ")),
                    None => format!("use one of: {}", opts.join(", ")),
                };
                out.push(
                    Diagnostic::error(
                        INVALID_VALUE,
                        format!("`{got}` is not a valid `{}`", last_key(&ptr)),
                    )
                    .at(doc.label(&ptr, "not allowed here"))
                    .help(help),
                );
            }
            ValidationErrorKind::Pattern { .. } => {
                let got = instance.as_str().unwrap_or_default();
                out.push(
                    Diagnostic::error(
                        INVALID_VALUE,
                        format!("`{got}` is not a valid `{}`", last_key(&ptr)),
                    )
                    .at(doc.label(&ptr, "does not have the expected form"))
                    .help(description.unwrap_or_else(|| err.to_string())),
                );
            }
            ValidationErrorKind::Not { schema }
                if schema
                    .get("required")
                    .and_then(Value::as_array)
                    .is_some_and(|r| {
                        r.len() > 1 && schema.as_object().is_some_and(|o| o.len() == 1)
                    }) =>
            {
                // `not: {required: [a, b]}`: keys that exclude each other.
                let keys: Vec<&str> = schema["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let shown: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
                let last = keys.last().copied().unwrap_or_default();
                let mut d = Diagnostic::error(
                    INVALID_VALUE,
                    format!(
                        "`{}`: {} exclude each other",
                        display_ptr_in(&doc.value, &ptr),
                        shown.join(" and ")
                    ),
                )
                .at(doc.label(&format!("{ptr}/{last}"), "given as well"));
                d = d.help(match description {
                    Some(h) => format!("give one of {}; {h}", shown.join(", ")),
                    None => format!("give one of {}", shown.join(", ")),
                });
                out.push(d);
            }
            other => {
                let (code, label) = match other {
                    ValidationErrorKind::Minimum { .. }
                    | ValidationErrorKind::Maximum { .. }
                    | ValidationErrorKind::ExclusiveMinimum { .. }
                    | ValidationErrorKind::ExclusiveMaximum { .. }
                    | ValidationErrorKind::MinItems { .. }
                    | ValidationErrorKind::MaxItems { .. } => (OUT_OF_RANGE, "out of range"),
                    _ => (INVALID_VALUE, "here"),
                };
                let mut d = Diagnostic::error(
                    code,
                    format!("`{}`: {err}", display_ptr_in(&doc.value, &ptr)),
                )
                .at(doc.label(&ptr, label));
                if let Some(h) = description {
                    d = d.help(h);
                }
                out.push(d);
            }
        }
    }
    out
}

/// The schema object that holds the failing keyword (`.../properties/cpu` for `.../cpu/type`).
fn parent_schema<'a>(root: &'a Value, schema_path: &str) -> Option<&'a Value> {
    let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
    root.pointer(parent)
}

/// `/nodes/0/cpu` → `nodes[0].cpu`, as people write paths; a list item is named by its
/// `name` where `doc` gives one (`nodes[k8s-wrk-01].cpu`), the way people find it.
pub(crate) fn display_ptr_in(doc: &Value, ptr: &str) -> String {
    let mut out = String::new();
    let mut at = Some(doc);
    for raw in ptr.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        let index = seg.chars().all(|c| c.is_ascii_digit()) && !seg.is_empty();
        at = at.and_then(|v| match v {
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            Value::Object(m) => m.get(&seg),
            _ => None,
        });
        if index {
            match at.and_then(|v| v.get("name")).and_then(Value::as_str) {
                Some(name) if !name.is_empty() && !name.contains([']', '[']) => {
                    out.push_str(&format!("[{name}]"));
                }
                _ => out.push_str(&format!("[{seg}]")),
            }
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

fn last_key(ptr: &str) -> String {
    let segs: Vec<&str> = ptr.split('/').skip(1).collect();
    segs.iter()
        .rev()
        .find(|s| !s.chars().all(|c| c.is_ascii_digit()))
        .map_or_else(String::new, |s| s.replace("~1", "/").replace("~0", "~"))
}

fn type_names(kind: &TypeKind) -> String {
    let name = |t: &jsonschema::JsonType| match t.to_string().as_str() {
        "object" => "a mapping".to_string(),
        "array" => "a list".to_string(),
        "integer" => "an integer".to_string(),
        "number" => "a number".to_string(),
        "string" => "a string".to_string(),
        "boolean" => "true or false".to_string(),
        other => other.to_string(),
    };
    match kind {
        TypeKind::Single(t) => name(t),
        TypeKind::Multiple(set) => set
            .iter()
            .map(|t| name(&t))
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string `{s}`"),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
    }
}

fn doc_text_hint(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_schemas_compile_and_describe_every_property() {
        for kind in [SchemaKind::Inventory, SchemaKind::Environment] {
            let _ = kind.validator();
            let mut missing = Vec::new();
            walk_properties(kind.value(), String::new(), &mut missing);
            assert!(
                missing.is_empty(),
                "properties without description: {missing:?}"
            );
        }
    }

    fn walk_properties(v: &Value, at: String, missing: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::Object(props)) = m.get("properties") {
                    for (k, p) in props {
                        if p.get("description").is_none() {
                            missing.push(format!("{at}/{k}"));
                        }
                    }
                }
                for (k, child) in m {
                    walk_properties(child, format!("{at}/{k}"), missing);
                }
            }
            Value::Array(a) => a
                .iter()
                .for_each(|c| walk_properties(c, at.clone(), missing)),
            _ => {}
        }
    }

    #[test]
    fn the_environment_schema_names_exactly_the_catalogs_services() {
        let services = &SchemaKind::Environment.value()["properties"]["services"];
        let catalog: Vec<&str> = crate::catalog::Catalog::get()
            .services
            .keys()
            .map(String::as_str)
            .collect();
        let listed: Vec<&str> = services["propertyNames"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(listed, catalog, "propertyNames.enum");
        let described: Vec<&str> = services["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(described, catalog, "properties");
        // An editor flags a misspelt service; gcc itself leaves it to the check, which
        // names the closest one.
        let mut files = crate::diag::Files::default();
        let text = "inventory: a\nprofile: aio\nrelease: \"2024.1\"\nservices:\n  keystne: {}\n";
        let file = files.add("environments/x.yaml", text);
        let doc = crate::yaml::parse(file, text).doc.unwrap();
        assert!(!SchemaKind::Environment.validator().is_valid(&doc.value));
        assert!(validate(SchemaKind::Environment, &doc, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn display_pointer() {
        assert_eq!(
            display_ptr_in(&Value::Null, "/nodes/0/interfaces/1/mac"),
            "nodes[0].interfaces[1].mac"
        );
        assert_eq!(
            display_ptr_in(&Value::Null, "/services/nova/values/a~1b"),
            "services.nova.values.a/b"
        );
        let doc = serde_json::json!({
            "nodes": [{ "name": "k8s-ctl-01" }, { "interfaces": [{ "name": "ens6" }, {}] }]
        });
        assert_eq!(
            display_ptr_in(&doc, "/nodes/0/cpu"),
            "nodes[k8s-ctl-01].cpu"
        );
        assert_eq!(
            display_ptr_in(&doc, "/nodes/1/interfaces/0/mac"),
            "nodes[1].interfaces[ens6].mac"
        );
        assert_eq!(
            display_ptr_in(&doc, "/nodes/1/interfaces/1/mac"),
            "nodes[1].interfaces[1].mac"
        );
    }
}
