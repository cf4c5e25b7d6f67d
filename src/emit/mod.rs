//! Stage 4, emit: turns a [`Plan`] into Kubernetes objects for its target.
//!
//! `plain` writes the objects every target shares (Namespaces, MariaDB and RabbitMQ
//! objects, HPAs, PDBs, StorageClasses, MetalLB pools, Node labels), `edge` the public
//! edge (Gateway, routes, issuers, certificates), `site` the lab's own files (Kea's
//! configuration); `flux` writes the
//! Helm sources and releases, `argocd` the Applications, the AppProject and sync waves. Architecture invariant: no decision is taken here; every
//! number, name and choice comes from the plan.

pub mod argocd;
mod bootstrap;
mod edge;
mod flux;
mod plain;
mod site;

pub(crate) use site::in_site;
pub use site::kea_files;

use serde_json::Value;

use crate::model::Target;
use crate::plan::{Plan, Stage};

/// Where in the output tree a group of objects goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// Listed in the root `kustomization.yaml` (a tree applied as one, in sync waves).
    Root,
    /// The directory of one install stage, with its own kustomization (a staged tree).
    Stage(Stage),
    /// `nodes/`, with its own kustomization (operators choose how to apply it).
    Nodes,
    /// `flux/`: the GitRepository and the Kustomizations that apply the stages.
    Flux,
    /// `bootstrap/`: the Argo CD Applications that sync the tree, applied once by hand.
    Bootstrap,
}

/// The objects of one build.
#[derive(Debug, Default)]
pub struct Emitted {
    /// Objects and the section they belong to.
    pub objects: Vec<(Section, Value)>,
    /// Remote manifests, applied in the operators' stage (or `operators/`).
    pub remote: Vec<String>,
    /// The tree is applied stage by stage (Flux), not as one (Argo CD's sync waves).
    pub staged: bool,
    /// Files that are not Kubernetes objects (`bootstrap/install.sh`, the lab's
    /// `site/dhcp/kea-dhcp4.json`), by tree path.
    pub files: Vec<(String, String)>,
}

/// Emits every object of `plan`: the shared objects, then the target's.
pub fn emit(plan: &Plan) -> Emitted {
    let mut out = Emitted::default();
    plain::emit(plan, &mut out);
    edge::emit(plan, &mut out);
    match plan.target {
        Target::Flux => {
            flux::emit(plan, &mut out);
            // Each object goes to the stage the plan gives it.
            for (section, o) in &mut out.objects {
                if *section == Section::Root {
                    let at = |k: &str| o.pointer(k).and_then(Value::as_str).unwrap_or("");
                    *section = Section::Stage(plan.stage_of(at("/kind"), at("/metadata/name")));
                }
            }
            flux::stages(plan, &mut out);
            out.staged = true;
        }
        Target::Argocd => argocd::emit(plan, &mut out),
    }
    out.remote = plan.remote.iter().map(|(_, r)| r.url.clone()).collect();
    site::emit(plan, &mut out);
    if let Some(script) = bootstrap::install_script(plan) {
        out.files.push(("bootstrap/install.sh".into(), script));
    }
    out
}

/// A Kubernetes object skeleton.
pub(crate) fn object(api_version: &str, kind: &str, name: &str, namespace: Option<&str>) -> Value {
    let mut meta = serde_json::Map::new();
    meta.insert("name".into(), Value::String(name.into()));
    if let Some(ns) = namespace {
        meta.insert("namespace".into(), Value::String(ns.into()));
    }
    serde_json::json!({ "apiVersion": api_version, "kind": kind, "metadata": meta })
}

/// Sets `spec` (or another top-level field) on an object built by [`object`].
pub(crate) fn with(mut obj: Value, field: &str, value: Value) -> Value {
    if let Value::Object(m) = &mut obj {
        m.insert(field.into(), value);
    }
    obj
}

/// Adds labels or annotations to an object's metadata.
pub(crate) fn meta(mut obj: Value, field: &str, entries: Value) -> Value {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert(field.into(), entries);
    }
    obj
}
