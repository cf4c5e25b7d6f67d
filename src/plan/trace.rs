//! Provenance of Helm values: which layer wrote each value of a release and which it
//! overrode, kept as a side table beside the plan (the values themselves stay plain).
//!
//! Recording is off in a build (a [`Recorder`] that is off clones nothing and records
//! nothing); `gcc explain` plans with it on. Each step of the merge is recorded with the
//! values it wrote: explicitly for a layer built on its own (the environment's `values`,
//! what the plan computed from the inventory), or as the difference it made for a step
//! that edits the values in place.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::Loc;

/// Which layer set a value (the order they merge in: catalog, plan and inventory, profile,
/// environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// The catalog compiled into gcc (Genestack's conventions, chart facts).
    Catalog,
    /// A rule of the profile (`base`).
    Profile,
    /// Read from the inventory.
    Inventory,
    /// The environment's own `values` (or another key of the environment).
    Environment,
    /// A decision of the plan (the HA proof, the failure domain, a default).
    Plan,
}

impl Layer {
    /// The layer's name, as the output writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Catalog => "catalog",
            Layer::Profile => "profile",
            Layer::Inventory => "inventory",
            Layer::Environment => "environment",
            Layer::Plan => "plan",
        }
    }
}

/// Where an origin is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    /// An input file at a pointer; with `per_leaf`, each value at its own path below it.
    Input {
        /// The pointer.
        at: Loc,
        /// Append the value's path (the environment's `values`).
        per_leaf: bool,
    },
    /// A catalog file compiled into gcc (`catalog/services.yaml`) at a JSON pointer.
    Catalog {
        /// The file, as the repository names it.
        file: &'static str,
        /// The pointer.
        ptr: String,
        /// Append the value's path (the catalog's `values`).
        per_leaf: bool,
    },
}

/// What set a value: the layer, in words, and where (for a plan decision: the inputs it
/// used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The layer.
    pub layer: Layer,
    /// What it is, in words.
    pub what: String,
    /// Where it is written; for a plan decision, every input it used.
    pub sites: Vec<Site>,
}

impl Origin {
    /// An origin in layer `layer`.
    pub(crate) fn new(layer: Layer, what: impl Into<String>) -> Self {
        Self {
            layer,
            what: what.into(),
            sites: Vec::new(),
        }
    }

    /// With the input at `at` (its own path below it when `per_leaf`).
    pub(crate) fn input(mut self, at: Loc, per_leaf: bool) -> Self {
        self.sites.push(Site::Input { at, per_leaf });
        self
    }

    /// With the catalog file `file` at `ptr`.
    pub(crate) fn catalog(mut self, file: &'static str, ptr: String, per_leaf: bool) -> Self {
        self.sites.push(Site::Catalog {
            file,
            ptr,
            per_leaf,
        });
        self
    }
}

/// One step of a release's values: what wrote it, and the values it wrote (a removed
/// value as `null`).
pub type Step = (Origin, Map<String, Value>);

/// What the plan recorded about where its output comes from.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Every release's steps, by release name, in merge order.
    pub values: BTreeMap<String, Vec<Step>>,
    /// The plan's decisions in the other objects it writes: by `Kind/name`, then by the
    /// field's dotted path (`spec.minReplicas`, `metadata.labels.topology.gcc.cloud/machine`).
    pub decisions: BTreeMap<String, BTreeMap<String, Origin>>,
}

impl Provenance {
    /// Records that field `field` of object `kind`/`name` comes from `origin`.
    pub(crate) fn decide(&mut self, kind: &str, name: &str, field: &str, origin: Origin) {
        self.decisions
            .entry(format!("{kind}/{name}"))
            .or_default()
            .insert(field.to_string(), origin);
    }
}

/// A path of keys into values.
pub type Path = Vec<String>;

/// Records steps when on; does nothing (and clones nothing) when off.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    steps: Option<Vec<Step>>,
}

impl Recorder {
    /// A recorder, on or off.
    pub(crate) fn new(on: bool) -> Self {
        Self {
            steps: on.then(Vec::new),
        }
    }

    /// The values before a step that edits them in place (`None` when off).
    pub(crate) fn mark(&self, v: &Map<String, Value>) -> Option<Map<String, Value>> {
        self.steps.as_ref().map(|_| v.clone())
    }

    /// Records what changed in `v` since `mark` as written by `origin`.
    pub(crate) fn since(
        &mut self,
        mark: Option<Map<String, Value>>,
        v: &Map<String, Value>,
        origin: impl FnOnce() -> Origin,
    ) {
        if let (Some(steps), Some(before)) = (self.steps.as_mut(), mark) {
            let mut wrote = Map::new();
            changed(&before, v, &mut Vec::new(), &mut wrote);
            if !wrote.is_empty() {
                steps.push((origin(), wrote));
            }
        }
    }

    /// Records `layer`, a layer built on its own, as written by `origin`.
    pub(crate) fn wrote(&mut self, layer: &Map<String, Value>, origin: impl FnOnce() -> Origin) {
        if let Some(steps) = self.steps.as_mut()
            && !layer.is_empty()
        {
            steps.push((origin(), layer.clone()));
        }
    }

    /// Appends the steps of `later`, recorded apart (a layer built before the values it
    /// merges into).
    pub(crate) fn append(&mut self, later: Recorder) {
        if let (Some(steps), Some(more)) = (self.steps.as_mut(), later.steps) {
            steps.extend(more);
        }
    }

    /// The steps recorded (`None` when off).
    pub(crate) fn finish(self) -> Option<Vec<Step>> {
        self.steps
    }
}

/// The leaves of `after` that differ from `before`, and `null` where `before` had a leaf
/// `after` lacks, written into `out` at their paths.
fn changed(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    path: &mut Vec<String>,
    out: &mut Map<String, Value>,
) {
    for (k, a) in after {
        path.push(k.clone());
        match (before.get(k), a) {
            (Some(Value::Object(b)), Value::Object(a)) if !a.is_empty() => changed(b, a, path, out),
            (Some(b), a) if b == a => {}
            _ => put(out, path, a.clone()),
        }
        path.pop();
    }
    for k in before.keys().filter(|k| !after.contains_key(*k)) {
        path.push(k.clone());
        put(out, path, Value::Null);
        path.pop();
    }
}

fn put(out: &mut Map<String, Value>, path: &[String], v: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = out;
    for p in parents {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(m) = entry else { return };
        cur = m;
    }
    cur.insert(last.clone(), v);
}

/// Every leaf of `v` (scalars, lists and empty maps: what a merge replaces whole), by path.
pub fn leaves(v: &Map<String, Value>) -> Vec<(Path, &Value)> {
    fn go<'a>(m: &'a Map<String, Value>, path: &mut Path, out: &mut Vec<(Path, &'a Value)>) {
        for (k, v) in m {
            path.push(k.clone());
            match v {
                Value::Object(child) if !child.is_empty() => go(child, path, out),
                _ => out.push((path.clone(), v)),
            }
            path.pop();
        }
    }
    let mut out = Vec::new();
    go(v, &mut Vec::new(), &mut out);
    out
}

/// What step `wrote` says about `path`: the value it wrote there, `null` when it removed
/// the value or a map above it, `None` when it did not touch it.
pub fn wrote_at<'a>(wrote: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut cur = wrote.get(first)?;
    for p in rest {
        match cur {
            Value::Object(m) => cur = m.get(p)?,
            Value::Null => return Some(cur),
            // A list or scalar above the path replaced the map the path was in.
            _ => return Some(cur),
        }
    }
    Some(cur)
}

/// The steps that wrote `path`, in merge order: the last one set the final value, each
/// earlier one was overridden.
pub fn trail<'a>(steps: &'a [Step], path: &[String]) -> Vec<(&'a Origin, &'a Value)> {
    steps
        .iter()
        .filter_map(|(o, wrote)| wrote_at(wrote, path).map(|v| (o, v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn a_step_in_place_records_what_it_changed_and_removed() {
        let mut r = Recorder::new(true);
        let mut v = obj(json!({"a": {"b": 1, "c": 2}, "d": [1]}));
        let m = r.mark(&v);
        v = obj(json!({"a": {"b": 1, "c": 3}, "e": true}));
        r.since(m, &v, || Origin::new(Layer::Profile, "p"));
        let steps = r.finish().unwrap();
        assert_eq!(
            Value::Object(steps[0].1.clone()),
            json!({"a": {"c": 3}, "d": null, "e": true})
        );
        let path = |s: &str| s.split('.').map(String::from).collect::<Vec<_>>();
        assert_eq!(trail(&steps, &path("a.c")).len(), 1);
        assert!(trail(&steps, &path("a.b")).is_empty());
    }

    #[test]
    fn off_records_nothing() {
        let mut r = Recorder::new(false);
        let v = obj(json!({"a": 1}));
        assert!(r.mark(&v).is_none());
        r.wrote(&v, || unreachable!("an off recorder builds no origin"));
        assert!(r.finish().is_none());
    }
}
