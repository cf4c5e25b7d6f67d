//! Helm values: the deep merge gcc applies between layers, and dotted-path helpers.
//!
//! Merge rule (documented in README): maps merge key by key, recursively; every other
//! value (scalars and lists) replaces the earlier one whole: lists are never
//! concatenated, so a layer that sets a list owns it. `null` removes the key, as in Helm.

use serde_json::{Map, Value};

/// Merges `over` into `base` (see the module doc for the rule).
pub fn merge(base: &mut Map<String, Value>, over: &Map<String, Value>) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (_, Value::Null) => {
                base.remove(k);
            }
            (Some(Value::Object(b)), Value::Object(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Sets `value` at the dotted `path`, creating maps on the way (replacing non-maps).
pub fn set(root: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut cur = root;
    for p in parts {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(m) = entry else { return };
        cur = m;
    }
    cur.insert(last.to_string(), value);
}

/// The value at the dotted `path`, if any.
pub fn get<'a>(root: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = root.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// Removes the value at the dotted `path` and any maps it leaves empty.
pub fn remove(root: &mut Map<String, Value>, path: &str) {
    fn go(m: &mut Map<String, Value>, parts: &[&str]) {
        match parts {
            [] => {}
            [last] => {
                m.remove(*last);
            }
            [first, rest @ ..] => {
                if let Some(Value::Object(child)) = m.get_mut(*first) {
                    go(child, rest);
                    if child.is_empty() {
                        m.remove(*first);
                    }
                }
            }
        }
    }
    let parts: Vec<&str> = path.split('.').collect();
    go(root, &parts);
}

/// Builds a map from `(dotted path, value)` pairs.
pub(crate) fn from_paths<'a>(
    pairs: impl IntoIterator<Item = (&'a str, Value)>,
) -> Map<String, Value> {
    let mut m = Map::new();
    for (p, v) in pairs {
        set(&mut m, p, v);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn maps_merge_lists_replace_null_removes() {
        let mut base = obj(json!({"a": {"b": 1, "c": [1, 2]}, "d": 1, "e": {"f": 1}}));
        merge(
            &mut base,
            &obj(json!({"a": {"c": [3], "g": true}, "d": null, "e": 5})),
        );
        assert_eq!(
            Value::Object(base),
            json!({"a": {"b": 1, "c": [3], "g": true}, "e": 5})
        );
    }

    #[test]
    fn dotted_paths() {
        let mut m = from_paths([("a.b.c", json!(1)), ("a.d", json!("x"))]);
        assert_eq!(get(&m, "a.b.c"), Some(&json!(1)));
        assert_eq!(get(&m, "a.x"), None);
        remove(&mut m, "a.b.c");
        assert_eq!(Value::Object(m), json!({"a": {"d": "x"}}));
    }
}
