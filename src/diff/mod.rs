//! Resource-aware diff of two output trees.
//!
//! Objects are matched by (API group, kind, namespace, name), never by file name. A
//! changed object is described by the field paths that changed (values compared as
//! data: map key order never shows, list order does), then by a unified diff of its
//! canonical YAML. `risk` flags the changes a reviewer must not miss; `format` prints
//! the result as text, markdown or JSON.

mod format;
mod meaning;
mod risk;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::lock::Lock;
use crate::render::{LOCK_FILE, api_group, holds_objects, to_yaml};

pub use format::{
    MARKDOWN_MAX_BYTES, MarkdownOptions, comment_marker, json, markdown, markdown_all,
    markdown_with, text, valid_comment_id,
};
pub(crate) use risk::Risk;

/// One side of a diff: a label for people and the whole output tree.
#[derive(Debug, Clone)]
pub struct Side {
    /// What was asked for (`gcc/prod`, `src:HEAD`, `work`), with the commit when known.
    pub label: String,
    /// Every file of the tree, lock included.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// What the lock file of a side says about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SideInfo {
    /// The label given.
    pub label: String,
    /// The build id from the lock.
    pub build_id: Option<String>,
    /// The profile from the lock (`base`, `aio`).
    pub profile: Option<String>,
    /// The target from the lock (`flux`, `argocd`).
    pub target: Option<String>,
    /// gcc's version from the lock.
    pub gcc_version: Option<String>,
}

/// Identifies an object across builds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectKey {
    /// API group (`""` for the core group).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace (`""` for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl std::fmt::Display for ObjectKey {
    /// `Kind namespace/name`, or `Kind name` for cluster-scoped objects.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.namespace.as_str() {
            "" => write!(f, "{} {}", self.kind, self.name),
            ns => write!(f, "{} {ns}/{}", self.kind, self.name),
        }
    }
}

impl ObjectKey {
    /// Like `Display`, with the kind qualified kubectl-style (`User.k8s.mariadb.com`)
    /// when `qualify` says the kind alone is ambiguous.
    pub fn shown(&self, qualify: bool) -> String {
        if !qualify || self.group.is_empty() {
            return self.to_string();
        }
        let kind = format!("{}.{}", self.kind, self.group);
        match self.namespace.as_str() {
            "" => format!("{kind} {}", self.name),
            ns => format!("{kind} {ns}/{}", self.name),
        }
    }
}

/// One changed field: its path (`spec.values.pod.replicas.api`) and both values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Dotted path; list items as `[i]`, keys with dots as `["a.b"]`.
    pub path: String,
    /// Value before (`None`: the field is new).
    pub old: Option<Value>,
    /// Value after (`None`: the field is gone).
    pub new: Option<Value>,
    /// The input line that set the new value (the old one, for a removed field), when that
    /// side was compiled from inputs: `environments/prod.yaml:19:35 (environment)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// How one object differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// Only in `to`.
    Added {
        /// The object.
        object: Value,
    },
    /// Only in `from`.
    Removed {
        /// The object.
        object: Value,
    },
    /// In both, with different content.
    Changed {
        /// Field by field.
        fields: Vec<FieldChange>,
        /// Unified diff of the canonical YAML.
        unified: String,
    },
}

/// One object that differs between the two sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectDiff {
    /// Which object.
    #[serde(flatten)]
    pub key: ObjectKey,
    /// Its file in `from`, if there.
    pub file_from: Option<String>,
    /// Its file in `to`, if there.
    pub file_to: Option<String>,
    /// What changed.
    #[serde(flatten)]
    pub change: Change,
}

/// How a file that holds no Kubernetes object (the lab's `site/dhcp/kea-dhcp4.json`,
/// `bootstrap/install.sh`) differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum FileChange {
    /// Only in `to`.
    Added {
        /// Its text.
        text: String,
    },
    /// Only in `from`.
    Removed {
        /// Its text.
        text: String,
    },
    /// In both, with different bytes.
    Changed {
        /// Field by field, when both sides are JSON documents (else empty).
        fields: Vec<FieldChange>,
        /// Unified diff of the text.
        unified: String,
    },
}

/// One file outside the objects that differs between the two sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileDiff {
    /// Its path in the tree.
    pub path: String,
    /// What changed.
    #[serde(flatten)]
    pub change: FileChange,
}

/// Counts of objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Only in `to`.
    pub added: usize,
    /// Only in `from`.
    pub removed: usize,
    /// In both, different.
    pub changed: usize,
    /// In both, equal.
    pub unchanged: usize,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    /// The environment.
    pub environment: String,
    /// The old side.
    pub from: SideInfo,
    /// The new side.
    pub to: SideInfo,
    /// Nothing differs: no object, no file byte (the lock aside).
    pub identical: bool,
    /// Object counts.
    pub summary: Summary,
    /// Input files whose digests differ between the two locks.
    pub inputs_changed: Vec<String>,
    /// Risky changes, most important first.
    pub risks: Vec<Risk>,
    /// Remarks (cross-target comparison, unreadable files).
    pub notes: Vec<String>,
    /// The differing objects, by key.
    pub objects: Vec<ObjectDiff>,
    /// The differing files that hold no object (not the lock, not a kustomization), by
    /// path.
    pub files: Vec<FileDiff>,
    /// Kinds that occur in more than one API group in these trees (`User`: MariaDB and
    /// RabbitMQ); people see them qualified with their group.
    pub ambiguous_kinds: BTreeSet<String>,
    /// With `--rendered`: each differing release, rendered by Helm on both sides.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rendered: Vec<RenderedRelease>,
}

/// One differing HelmRelease or Application and what it renders to on each side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenderedRelease {
    /// The release object.
    pub release: ObjectKey,
    /// The rendered objects compared (objects, fields, risks as for the tree), when both
    /// sides rendered (a side without the release renders nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<Box<Diff>>,
    /// Why it was not rendered (a chart not in the chart directory, Helm's error); the
    /// release is then diffed as a tree object only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_rendered: Option<String>,
}

/// The objects one side of a release renders to, compared: `from`/`to` are the rendered
/// objects (empty for a side without the release), `outer` the tree diff they belong
/// to, whose profile the risk rules use.
pub(crate) fn rendered_diff(
    release: &ObjectKey,
    from: &[Value],
    to: &[Value],
    outer: &Diff,
) -> Diff {
    let files = |objects: &[Value]| -> BTreeMap<String, Vec<u8>> {
        objects
            .iter()
            .map(|o| {
                let s = |ptr: &str| o.pointer(ptr).and_then(Value::as_str).unwrap_or_default();
                let path = format!(
                    "{}/{}_{}.yaml",
                    s("/metadata/namespace"),
                    s("/kind").to_ascii_lowercase(),
                    s("/metadata/name")
                );
                (path, to_yaml(o).unwrap_or_default().into_bytes())
            })
            .collect()
    };
    let side = |info: &SideInfo, objects: &[Value]| Side {
        label: format!("{} rendered", info.label),
        files: files(objects),
    };
    let (a, b) = (side(&outer.from, from), side(&outer.to, to));
    let mut d = diff(&format!("{} {release}", outer.environment), &a, &b);
    d.from.profile = outer.from.profile.clone();
    d.to.profile = outer.to.profile.clone();
    d.risks = risk::assess(&d.objects, &d.to, &d.from, &b.files, false);
    d
}

impl Diff {
    /// Adds the rendered releases, and their risks to the tree's (each naming the release
    /// in its reason), in the order of importance.
    pub(crate) fn add_rendered(&mut self, rendered: Vec<RenderedRelease>) {
        for r in &rendered {
            if let Some(inner) = &r.diff {
                for risk in &inner.risks {
                    let mut risk = risk.clone();
                    risk.reason = format!("rendered by {}: {}", self.name(&r.release), risk.reason);
                    self.risks.push(risk);
                }
            }
        }
        risk::sort(&mut self.risks);
        self.rendered = rendered;
    }
}

impl Diff {
    /// How an object is named to people: `Kind ns/name`, qualified when ambiguous.
    pub fn name(&self, key: &ObjectKey) -> String {
        key.shown(self.ambiguous_kinds.contains(&key.kind))
    }
}

/// API groups whose objects only one target emits.
const TARGET_GROUPS: [&str; 4] = [
    "helm.toolkit.fluxcd.io",
    "source.toolkit.fluxcd.io",
    "kustomize.toolkit.fluxcd.io",
    "argoproj.io",
];

/// A side's lock, when it has one gcc can read.
fn lock_of(side: &Side) -> Option<Lock> {
    side.files.get(LOCK_FILE).and_then(|b| Lock::parse(b).ok())
}

struct Parsed {
    objects: BTreeMap<ObjectKey, (String, Value)>,
    notes: Vec<String>,
}

/// The files that hold no object and differ, by path.
fn other_files(from: &BTreeMap<String, Vec<u8>>, to: &BTreeMap<String, Vec<u8>>) -> Vec<FileDiff> {
    let shown = |path: &str, b: &[u8]| -> String {
        // A picture's bytes say nothing to a reviewer: name it instead of printing it.
        if path.ends_with(".svg") {
            format!(
                "(a picture, {} bytes: open it, or run `gcc graph`)\n",
                b.len()
            )
        } else {
            String::from_utf8_lossy(b).into_owned()
        }
    };
    let other = |p: &&String| {
        let name = p.rsplit('/').next().unwrap_or(p);
        p.as_str() != LOCK_FILE && name != "kustomization.yaml" && !holds_objects(p)
    };
    let paths: BTreeSet<&String> = from.keys().chain(to.keys()).filter(other).collect();
    paths
        .into_iter()
        .filter_map(|path| {
            let change = match (from.get(path), to.get(path)) {
                (None, Some(b)) => FileChange::Added {
                    text: shown(path, b),
                },
                (Some(a), None) => FileChange::Removed {
                    text: shown(path, a),
                },
                (Some(a), Some(b)) if a != b && path.ends_with(".svg") => FileChange::Changed {
                    fields: Vec::new(),
                    unified: format!("-{}+{}", shown(path, a), shown(path, b)),
                },
                (Some(a), Some(b)) if a != b => {
                    let (ta, tb) = (shown(path, a), shown(path, b));
                    let mut fields = Vec::new();
                    if let (Ok(ja), Ok(jb)) = (
                        serde_json::from_slice::<Value>(a),
                        serde_json::from_slice::<Value>(b),
                    ) {
                        field_changes(&mut String::new(), &ja, &jb, &mut fields);
                    }
                    let unified = similar::TextDiff::from_lines(&ta, &tb)
                        .unified_diff()
                        .context_radius(3)
                        .header(&format!("a/{path}"), &format!("b/{path}"))
                        .to_string();
                    FileChange::Changed { fields, unified }
                }
                _ => return None,
            };
            Some(FileDiff {
                path: path.clone(),
                change,
            })
        })
        .collect()
}

/// The objects of a tree gcc rendered, by key, with their files.
pub(crate) fn tree_objects(
    files: &BTreeMap<String, Vec<u8>>,
) -> BTreeMap<ObjectKey, (String, Value)> {
    objects("tree", files, |_| None).objects
}

/// The objects of a tree: every YAML file except kustomizations and the lock. `known`
/// gives the object already read from a file of the same path and bytes (the other side
/// of a diff), so a file both sides hold is parsed once.
fn objects(
    label: &str,
    files: &BTreeMap<String, Vec<u8>>,
    known: impl Fn(&str) -> Option<Value> + Sync,
) -> Parsed {
    use rayon::prelude::*;
    let mut out = Parsed {
        objects: BTreeMap::new(),
        notes: Vec::new(),
    };
    // Parsing is most of the work and each file is independent: on all cores, in order.
    let read: Vec<(&String, Result<Value, String>)> = files
        .par_iter()
        .filter(|(path, _)| holds_objects(path))
        .map(|(path, bytes)| {
            let value = match known(path) {
                Some(v) => Ok(v),
                None => std::str::from_utf8(bytes)
                    .map_err(|e| e.to_string())
                    .and_then(|t| serde_saphyr::from_str::<Value>(t).map_err(|e| e.to_string())),
            };
            (path, value)
        })
        .collect();
    for (path, value) in read {
        let value = match value {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                out.notes.push(format!(
                    "{label}: {path} is not a Kubernetes object; skipped"
                ));
                continue;
            }
            Err(e) => {
                let first = e.lines().next().unwrap_or_default().to_string();
                out.notes
                    .push(format!("{label}: {path} cannot be read ({first}); skipped"));
                continue;
            }
        };
        let s = |ptr: &str| {
            value
                .pointer(ptr)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let key = ObjectKey {
            group: api_group(&s("/apiVersion")).to_string(),
            kind: s("/kind"),
            namespace: s("/metadata/namespace"),
            name: s("/metadata/name"),
        };
        if let Some((first, _)) = out.objects.get(&key) {
            out.notes.push(format!(
                "{label}: {path} and {first} hold the same object {key}; the second is ignored"
            ));
            continue;
        }
        out.objects.insert(key, (path.clone(), value));
    }
    out
}

/// Compares two output trees of environment `env`.
pub fn diff(env: &str, from: &Side, to: &Side) -> Diff {
    let (lf, lt) = (lock_of(from), lock_of(to));
    let info = |side: &Side, l: &Option<Lock>| SideInfo {
        label: side.label.clone(),
        build_id: l.as_ref().map(|l| l.build_id.clone()),
        profile: l.as_ref().and_then(|l| l.profile.clone()),
        target: l.as_ref().and_then(|l| l.target.clone()),
        gcc_version: l
            .as_ref()
            .map(|l| l.gcc_version.clone())
            .filter(|v| !v.is_empty()),
    };
    let mut a = objects(&from.label, &from.files, |_| None);
    let read: BTreeMap<&str, &Value> = a.objects.values().map(|(p, v)| (p.as_str(), v)).collect();
    let mut b = objects(&to.label, &to.files, |path| {
        (from.files.get(path) == to.files.get(path))
            .then(|| read.get(path).map(|v| (*v).clone()))
            .flatten()
    });
    drop(read);
    let mut notes: Vec<String> = a.notes.drain(..).chain(b.notes.drain(..)).collect();

    let target = |l: &Option<Lock>| l.as_ref().and_then(|l| l.target.clone());
    if let (Some(tf), Some(tt)) = (target(&lf), target(&lt))
        && tf != tt
    {
        let mut left_out = 0;
        for side in [&mut a.objects, &mut b.objects] {
            let before = side.len();
            side.retain(|k, _| !TARGET_GROUPS.contains(&k.group.as_str()));
            left_out += before - side.len();
            for (_, v) in side.values_mut() {
                drop_sync_wave(v);
            }
        }
        notes.push(format!(
            "{} is a {tf} build and {} a {tt} build: only the objects both targets share are \
             compared ({left_out} Flux or Argo CD objects left out, Argo CD sync waves ignored)",
            from.label, to.label
        ));
    }

    let keys: BTreeSet<&ObjectKey> = a.objects.keys().chain(b.objects.keys()).collect();
    let mut groups: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for k in &keys {
        groups.entry(&k.kind).or_default().insert(&k.group);
    }
    let ambiguous_kinds: BTreeSet<String> = groups
        .into_iter()
        .filter(|(_, g)| g.len() > 1)
        .map(|(k, _)| k.to_string())
        .collect();
    let mut summary = Summary::default();
    let mut diffs = Vec::new();
    for key in keys {
        let change = match (a.objects.get(key), b.objects.get(key)) {
            (None, Some((file, v))) => {
                summary.added += 1;
                (None, Some(file), Change::Added { object: v.clone() })
            }
            (Some((file, v)), None) => {
                summary.removed += 1;
                (Some(file), None, Change::Removed { object: v.clone() })
            }
            (Some((fa, va)), Some((fb, vb))) => {
                if va == vb {
                    summary.unchanged += 1;
                    continue;
                }
                summary.changed += 1;
                let mut fields = Vec::new();
                field_changes(&mut String::new(), va, vb, &mut fields);
                let unified = unified(fa, va, fb, vb);
                (Some(fa), Some(fb), Change::Changed { fields, unified })
            }
            (None, None) => continue,
        };
        diffs.push(ObjectDiff {
            key: key.clone(),
            file_from: change.0.cloned(),
            file_to: change.1.cloned(),
            change: change.2,
        });
    }

    let bytes_differ = {
        let strip = |f: &BTreeMap<String, Vec<u8>>| {
            f.iter()
                .filter(|(p, _)| p.as_str() != LOCK_FILE)
                .map(|(p, b)| (p.clone(), b.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        strip(&from.files) != strip(&to.files)
    };
    let none = BTreeMap::new();
    let fi = lf.as_ref().map_or(&none, |l| &l.inputs);
    let ti = lt.as_ref().map_or(&none, |l| &l.inputs);
    let inputs_changed: Vec<String> = fi
        .keys()
        .chain(ti.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|k| fi.get(*k) != ti.get(*k))
        .cloned()
        .collect();
    let (from_info, to_info) = (info(from, &lf), info(to, &lt));
    let risks = risk::assess(&diffs, &to_info, &from_info, &to.files, bytes_differ);
    Diff {
        environment: env.to_string(),
        from: from_info,
        to: to_info,
        identical: diffs.is_empty() && !bytes_differ,
        summary,
        inputs_changed,
        risks,
        notes,
        objects: diffs,
        files: other_files(&from.files, &to.files),
        ambiguous_kinds,
        rendered: Vec::new(),
    }
}

/// Removes Argo CD's sync-wave annotation (and an annotation map it leaves empty).
fn drop_sync_wave(v: &mut Value) {
    let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
        a.remove(crate::emit::argocd::SYNC_WAVE);
        if a.is_empty() {
            meta.remove("annotations");
        }
    }
}

/// A path segment for a map key: `.key`, or `["a.b"]` when the key is not a plain word.
fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push_str(&format!("[{}]", Value::String(key.to_string())));
    }
}

/// The map keys of a [`FieldChange`] path (`a.b["c.d"]`), up to its first list index:
/// a merge replaces a list whole, so the list is where a value was set.
pub(crate) fn keys_of(path: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            // `["key"]` (a JSON string) or `[i]` (a list index: stop).
            let Some(Ok(key)) = serde_json::Deserializer::from_str(inner)
                .into_iter::<String>()
                .next()
            else {
                break;
            };
            let used = Value::String(key.clone()).to_string().len();
            keys.push(key);
            rest = inner.get(used..).unwrap_or_default();
            rest = rest.strip_prefix(']').unwrap_or(rest);
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            keys.push(rest[..end].to_string());
            rest = &rest[end..];
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
    }
    keys
}

/// Collects the changed leaves between `a` and `b`, maps by key, lists by index.
fn field_changes(path: &mut String, a: &Value, b: &Value, out: &mut Vec<FieldChange>) {
    if a == b {
        return;
    }
    let len = path.len();
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) => {
            let keys: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
            for k in keys {
                push_key(path, k);
                child_changes(path, ma.get(k), mb.get(k), out);
                path.truncate(len);
            }
        }
        (Value::Array(la), Value::Array(lb)) => {
            for i in 0..la.len().max(lb.len()) {
                path.push_str(&format!("[{i}]"));
                child_changes(path, la.get(i), lb.get(i), out);
                path.truncate(len);
            }
        }
        _ => out.push(FieldChange {
            path: path.clone(),
            old: Some(a.clone()),
            new: Some(b.clone()),
            origin: None,
        }),
    }
}

/// One map entry or list item: recurse when on both sides, else it was added or removed.
fn child_changes(
    path: &mut String,
    a: Option<&Value>,
    b: Option<&Value>,
    out: &mut Vec<FieldChange>,
) {
    match (a, b) {
        (Some(x), Some(y)) => field_changes(path, x, y, out),
        (x, y) => out.push(FieldChange {
            path: path.clone(),
            old: x.cloned(),
            new: y.cloned(),
            origin: None,
        }),
    }
}

/// Unified diff (3 lines of context) of two objects re-rendered canonically, so only
/// content shows, never the key order of a hand-edited file.
fn unified(file_a: &str, a: &Value, file_b: &str, b: &Value) -> String {
    let ya = to_yaml(a).unwrap_or_default();
    let yb = to_yaml(b).unwrap_or_default();
    similar::TextDiff::from_lines(&ya, &yb)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{file_a}"), &format!("b/{file_b}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn side(label: &str, files: &[(&str, &str)]) -> Side {
        Side {
            label: label.into(),
            files: files
                .iter()
                .map(|(p, b)| (p.to_string(), b.as_bytes().to_vec()))
                .collect(),
        }
    }

    #[test]
    fn key_order_is_not_a_change_but_list_order_is() {
        let a = side(
            "a",
            &[(
                "ns/configmap-x.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: ns}\ndata: {a: '1', b: '2'}\nlist: [1, 2]\n",
            )],
        );
        let reordered = side(
            "b",
            &[(
                "other/path.yaml",
                "kind: ConfigMap\nlist: [1, 2]\ndata: {b: '2', a: '1'}\nmetadata: {namespace: ns, name: x}\napiVersion: v1\n",
            )],
        );
        let d = diff("prod", &a, &reordered);
        assert_eq!(d.summary.unchanged, 1, "{d:?}");
        assert!(d.objects.is_empty());
        assert!(!d.identical, "the bytes still differ");

        let swapped = side(
            "c",
            &[(
                "ns/configmap-x.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: ns}\ndata: {a: '1', b: '2'}\nlist: [2, 1]\n",
            )],
        );
        let d = diff("prod", &a, &swapped);
        assert_eq!(d.summary.changed, 1);
        let Change::Changed { fields, unified } = &d.objects[0].change else {
            panic!("changed expected");
        };
        let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["list[0]", "list[1]"]);
        assert!(unified.contains(" list:\n+- 2\n - 1\n-- 2\n"), "{unified}");
    }

    #[test]
    fn paths_quote_keys_with_dots_and_report_added_and_removed_fields() {
        let mut out = Vec::new();
        let a =
            json!({"metadata": {"labels": {"app.kubernetes.io/name": "x", "old": 1}}, "l": [1]});
        let b =
            json!({"metadata": {"labels": {"app.kubernetes.io/name": "y", "new": 2}}, "l": [1, 2]});
        field_changes(&mut String::new(), &a, &b, &mut out);
        let got: Vec<(String, Option<Value>, Option<Value>)> =
            out.into_iter().map(|f| (f.path, f.old, f.new)).collect();
        assert_eq!(
            got,
            vec![
                ("l[1]".into(), None, Some(json!(2))),
                (
                    "metadata.labels[\"app.kubernetes.io/name\"]".into(),
                    Some(json!("x")),
                    Some(json!("y"))
                ),
                ("metadata.labels.new".into(), None, Some(json!(2))),
                ("metadata.labels.old".into(), Some(json!(1)), None),
            ]
        );
    }

    #[test]
    fn field_paths_back_to_keys() {
        assert_eq!(
            keys_of("spec.values.pod.replicas.api"),
            ["spec", "values", "pod", "replicas", "api"]
        );
        assert_eq!(
            keys_of(r#"metadata.labels["app.kubernetes.io/name"]"#),
            ["metadata", "labels", "app.kubernetes.io/name"]
        );
        assert_eq!(
            keys_of("spec.values.list[2].name"),
            ["spec", "values", "list"]
        );
        assert_eq!(keys_of(r#"a["b\"c"].d"#), ["a", "b\"c", "d"]);
    }

    #[test]
    fn unreadable_files_become_notes() {
        let a = side("a", &[("x.yaml", "a: [")]);
        let b = side("b", &[]);
        let d = diff("prod", &a, &b);
        assert!(
            d.notes[0].contains("x.yaml cannot be read"),
            "{:?}",
            d.notes
        );
    }
}
