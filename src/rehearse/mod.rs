//! Rehearsal: what the cluster's controllers would make of a tree, done offline.
//!
//! For every HelmRelease (Flux) and Application (Argo CD) of a built tree, the values are
//! composed as the controller composes them ([`releases`]); `ops::rehearse` renders each
//! with real Helm against its pinned chart; [`check`] then reads the rendered objects
//! beside the tree's own and reports what would not come up: a pod that waits for a Job,
//! Service, DaemonSet or pod nothing renders, two owners of one object, a values path the
//! chart does not have, an Argo CD secret placeholder that cannot be replaced any more, a
//! route to nothing, a public endpoint in Keystone's catalog the Gateway does not serve.
//!
//! Pure: text in, diagnostics out. Running Helm is `ops::rehearse`'s side effect.

mod checks;
mod edge;
mod objects;
mod provider;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::diag::{Diagnostic, FileId, Files};
use crate::yaml::{self, Doc, escape_ptr};

pub(crate) use checks::Findings;
pub use checks::{Claimed, Status, check, schema_violation};
pub use objects::Object;
pub(crate) use objects::{Key, Owner, Patch, parse_stream};

/// A pod would wait for ever: kubernetes-entrypoint waits for something nothing renders.
pub(crate) const WAITS_FOREVER: &str = "gcc::rehearse::waits_forever";
/// Two releases, or a release and gcc, render the same object.
pub(crate) const TWO_OWNERS: &str = "gcc::rehearse::two_owners";
/// A values path gcc sets that the chart's values.yaml does not have (Helm ignores it).
pub(crate) const DEAD_KEY: &str = "gcc::rehearse::dead_key";
/// A PodDisruptionBudget or HorizontalPodAutoscaler of gcc's reaches no rendered workload.
pub(crate) const SELECTS_NOTHING: &str = "gcc::rehearse::selects_nothing";
/// A Deployment gcc autoscales renders fewer replicas than its autoscaler's minimum, no
/// resource requests, or no anti-affinity on the machine label.
pub(crate) const WEAK_API: &str = "gcc::rehearse::weak_api";
/// Rendered configuration holds a chart's default password (`user:password@host`).
pub(crate) const DEFAULT_CREDENTIAL: &str = "gcc::rehearse::default_credential";
/// A rendered object its upstream JSON Schema refuses.
pub(crate) const SCHEMA_VIOLATION: &str = "gcc::rehearse::schema_violation";
/// A release renders images `gcc versions` does not list, or the table lists images
/// nothing renders.
pub(crate) const IMAGE_MISMATCH: &str = "gcc::rehearse::image_mismatch";
/// `helm template` failed.
pub(crate) const HELM_FAILED: &str = "gcc::rehearse::helm_failed";
/// The chart of a release is not in the chart directory: it was not rehearsed.
pub(crate) const NOT_REHEARSED: &str = "gcc::rehearse::not_rehearsed";
/// An Argo CD secret placeholder ended up where argocd-vault-plugin cannot find it
/// (URL-encoded, or inside base64 Secret data).
pub(crate) const PLACEHOLDER_MANGLED: &str = "gcc::rehearse::placeholder_mangled";
/// Rendered configuration connects to a database or broker that is not there: a Service
/// nothing renders, a MariaDB user or database gcc does not create or grant, a RabbitMQ
/// user on a vhost it has no permission on.
pub(crate) const CONNECTS_NOWHERE: &str = "gcc::rehearse::connects_nowhere";
/// A rendered workload's node selector or required node affinity matches none of the
/// tree's nodes: its pods never run.
pub(crate) const UNSCHEDULABLE: &str = "gcc::rehearse::unschedulable";
/// A file of the tree is not what gcc writes (not YAML, a release without a chart).
pub(crate) const BAD_TREE: &str = "gcc::rehearse::bad_tree";
/// Code: Helm waits for a pod that waits for one of the release's own post-install hooks,
/// which Helm runs only after the wait: the install never completes.
pub(crate) const HOOK_DEADLOCK: &str = "gcc::rehearse::hook_deadlock";
/// Code (warning): an Argo CD Application's pod waits for a Job that Argo CD runs as a
/// PostSync hook, after every resource is Healthy.
pub(crate) const POST_SYNC_WAIT: &str = "gcc::rehearse::post_sync_wait";

/// An HTTPRoute of gcc's leads to no listener of the tree's Gateways, or to a Service (or
/// port) no release renders.
pub(crate) const ROUTE_NOWHERE: &str = "gcc::rehearse::route_nowhere";
/// A chart registers a public endpoint in Keystone that the Gateway does not serve.
pub(crate) const PRIVATE_ENDPOINT: &str = "gcc::rehearse::private_endpoint";
/// Code: a rendered bootstrap script creates an external network on a physical network no
/// node bridges or the ML2 configuration does not allow.
pub(crate) const PROVIDER_UNBRIDGED: &str = "gcc::rehearse::provider_unbridged";

/// Which controller hands the values to Helm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    /// Flux's helm-controller: `spec.values` over `spec.valuesFrom`.
    Flux,
    /// Argo CD: `spec.source.helm.valuesObject`; argocd-vault-plugin replaces `<path:…>`
    /// placeholders in what Helm renders.
    ArgoCd,
}

impl Controller {
    /// The controller of a release object of API group `group` and `kind`.
    pub(crate) fn of(group: &str, kind: &str) -> Option<Controller> {
        match (group, kind) {
            ("helm.toolkit.fluxcd.io", "HelmRelease") => Some(Controller::Flux),
            ("argoproj.io", "Application") => Some(Controller::ArgoCd),
            _ => None,
        }
    }

    /// Where the release object holds its inline values (dotted).
    pub(crate) fn values_field(self) -> &'static str {
        match self {
            Controller::Flux => "spec.values",
            Controller::ArgoCd => "spec.source.helm.valuesObject",
        }
    }

    /// Where the release object holds its chart version (dotted; Flux: a HelmRepository
    /// chart's).
    pub(crate) fn version_field(self) -> &'static str {
        match self {
            Controller::Flux => "spec.chart.spec.version",
            Controller::ArgoCd => "spec.source.targetRevision",
        }
    }
}

/// A dotted field as a JSON pointer.
fn ptr(field: &str) -> String {
    format!("/{}", field.replace('.', "/"))
}

/// One values path gcc sets, and where in the release's file it is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetPath {
    /// The path's segments (`["manifests", "ingress_api"]`).
    pub path: Vec<String>,
    /// JSON pointer of the node in the release's file.
    pub ptr: String,
}

/// One release of a tree, as its controller would install it.
#[derive(Debug, Clone)]
pub struct Release {
    /// Tree path of the HelmRelease or Application.
    pub file: String,
    /// Who installs it.
    pub controller: Controller,
    /// Helm release name.
    pub name: String,
    /// Namespace the release installs into.
    pub namespace: String,
    /// Chart name.
    pub chart: String,
    /// Chart version.
    pub version: String,
    /// The values Helm receives; a Secret's value is a placeholder naming it.
    pub values: Value,
    /// Every leaf path gcc sets, inline or from a Secret.
    pub set: Vec<SetPath>,
    /// What the controller patches in Helm's output.
    pub patches: Vec<Patch>,
    /// Helm waits for the release's resources to be ready before it runs its
    /// post-install and post-upgrade hooks (helm-controller's default; `disableWait` off).
    pub waits_before_hooks: bool,
}

/// What Helm made of one release.
#[derive(Debug, Clone)]
pub enum Rendering {
    /// The chart is not in the chart directory (why, in words).
    NoChart(String),
    /// `helm template` failed (its error).
    Failed(String),
    /// The manifest stream and the chart's default values.
    Rendered {
        /// `helm template`'s output.
        manifests: String,
        /// The chart's values.yaml.
        defaults: Value,
    },
}

/// The tree under rehearsal: its files registered for diagnostics, its objects parsed.
pub struct Tree {
    /// Every YAML file, for labels.
    pub files: Files,
    docs: BTreeMap<String, (FileId, Doc)>,
    /// gcc's own objects (not releases' renders).
    pub objects: Vec<Object>,
    /// Problems reading the tree.
    pub diagnostics: Vec<Diagnostic>,
}

impl Tree {
    /// Parses every `.yaml` file of a built tree.
    pub fn new(files: &BTreeMap<String, Vec<u8>>) -> Tree {
        let mut tree = Tree {
            files: Files::default(),
            docs: BTreeMap::new(),
            objects: Vec::new(),
            diagnostics: Vec::new(),
        };
        for (path, bytes) in files {
            if !path.ends_with(".yaml") || crate::emit::in_site(path) {
                continue;
            }
            let Ok(text) = std::str::from_utf8(bytes) else {
                tree.diagnostics
                    .push(Diagnostic::error(BAD_TREE, format!("{path} is not UTF-8")));
                continue;
            };
            let id = tree.files.add(path.clone(), text);
            let parsed = yaml::parse(id, text);
            let Some(doc) = parsed.doc else {
                tree.diagnostics.push(
                    Diagnostic::error(BAD_TREE, format!("{path} is not YAML gcc wrote"))
                        .help("rehearse a tree `gcc build` wrote, unmodified"),
                );
                continue;
            };
            if let Some(obj) = Object::from_value(&doc.value, None, objects::Owner::Gcc) {
                tree.objects.push(obj.in_file(path));
            }
            tree.docs.insert(path.clone(), (id, doc));
        }
        tree
    }

    /// The document of a tree file.
    pub(crate) fn doc(&self, path: &str) -> Option<&Doc> {
        self.docs.get(path).map(|(_, d)| d)
    }

    /// Every release of the tree, with its values composed; files that look like a release
    /// but are not complete are diagnostics.
    pub fn releases(&self) -> (Vec<Release>, Vec<Diagnostic>) {
        let mut out = Vec::new();
        let mut diags = Vec::new();
        // The charts OCIRepositories hold, by `namespace/name`: a HelmRelease's chartRef.
        let oci: BTreeMap<String, (String, String)> = self
            .docs
            .values()
            .map(|(_, d)| &d.value)
            .filter(|v| str_at(v, "/kind") == Some("OCIRepository"))
            .filter_map(|v| {
                let chart = str_at(v, "/spec/url")?.rsplit('/').next()?.to_string();
                let tag = str_at(v, "/spec/ref/tag")?.to_string();
                let at = format!(
                    "{}/{}",
                    str_at(v, "/metadata/namespace")?,
                    str_at(v, "/metadata/name")?
                );
                Some((at, (chart, tag)))
            })
            .collect();
        for (path, (_, doc)) in &self.docs {
            let v = &doc.value;
            let controller = match (str_at(v, "/apiVersion"), str_at(v, "/kind")) {
                (Some(a), Some("HelmRelease")) if a.starts_with("helm.toolkit.fluxcd.io/") => {
                    Controller::Flux
                }
                // An Application of a directory (the root Applications of `bootstrap/`)
                // syncs manifests, not a chart.
                (Some(a), Some("Application"))
                    if a.starts_with("argoproj.io/")
                        && str_at(v, "/spec/source/path").is_none() =>
                {
                    Controller::ArgoCd
                }
                _ => continue,
            };
            match release(path, v, controller, &oci) {
                Ok(r) => out.push(r),
                Err(what) => diags.push(
                    Diagnostic::error(BAD_TREE, format!("{path}: {what}"))
                        .at(doc.label("", "this release")),
                ),
            }
        }
        (out, diags)
    }
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// The placeholder a Secret's value becomes in a rehearsal: names the Secret and key, so
/// a rendered object shows where it came from.
pub fn placeholder(secret: &str, key: &str) -> String {
    format!("rehearsal-secret-{secret}-{key}")
}

fn release(
    file: &str,
    v: &Value,
    controller: Controller,
    oci: &BTreeMap<String, (String, String)>,
) -> Result<Release, String> {
    let need = |ptr: &str| {
        str_at(v, ptr)
            .map(str::to_string)
            .ok_or_else(|| format!("no {ptr}"))
    };
    let mut set = Vec::new();
    let mut patches = Vec::new();
    let mut waits_before_hooks = false;
    let (name, namespace, chart, version, values) = match controller {
        Controller::Flux => {
            let name = str_at(v, "/spec/releaseName")
                .map(str::to_string)
                .map_or_else(|| need("/metadata/name"), Ok)?;
            let namespace = str_at(v, "/spec/targetNamespace")
                .map(str::to_string)
                .map_or_else(|| need("/metadata/namespace"), Ok)?;
            // helm-controller: each valuesFrom in order (a targetPath sets one value),
            // then the inline values merged over them.
            let mut values = Value::Object(Map::new());
            for (i, from) in v
                .pointer("/spec/valuesFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let (Some(target), Some(secret)) =
                    (str_at(from, "/targetPath"), str_at(from, "/name"))
                else {
                    continue; // a whole-document merge: its content is the cluster's
                };
                let key = str_at(from, "/valuesKey").unwrap_or("values.yaml");
                let path: Vec<String> = target.split('.').map(str::to_string).collect();
                set_path(&mut values, &path, Value::String(placeholder(secret, key)));
                set.push(SetPath {
                    path,
                    ptr: format!("/spec/valuesFrom/{i}/targetPath"),
                });
            }
            let values_ptr = ptr(Controller::Flux.values_field());
            let inline = v.pointer(&values_ptr).cloned().unwrap_or(Value::Null);
            leaves(&inline, &mut Vec::new(), &values_ptr, &mut set);
            merge(&mut values, inline);
            patches = post_render_patches(v)?;
            waits_before_hooks = v.pointer("/spec/install/disableWait") != Some(&Value::Bool(true));
            // The chart: in a HelmRepository (`chart.spec`), or an OCIRepository's
            // (`chartRef`, the chart named by its URL's last segment, at its tag).
            let (chart, version) = match str_at(v, "/spec/chartRef/name") {
                Some(r) => {
                    let ns = str_at(v, "/spec/chartRef/namespace")
                        .or_else(|| str_at(v, "/metadata/namespace"))
                        .unwrap_or_default();
                    oci.get(&format!("{ns}/{r}"))
                        .cloned()
                        .ok_or_else(|| format!("no OCIRepository {ns}/{r} in the tree"))?
                }
                None => (
                    need("/spec/chart/spec/chart")?,
                    need(&ptr(Controller::Flux.version_field()))?,
                ),
            };
            (name, namespace, chart, version, values)
        }
        Controller::ArgoCd => {
            let name = str_at(v, "/spec/source/helm/releaseName")
                .map(str::to_string)
                .map_or_else(|| need("/metadata/name"), Ok)?;
            let base = ptr(Controller::ArgoCd.values_field());
            let mut values = v.pointer(&base).cloned().unwrap_or(Value::Null);
            leaves(&values, &mut Vec::new(), &base, &mut set);
            // The root Application runs argocd-vault-plugin over this tree: the child
            // Application reaches the cluster, and Helm, with its placeholders resolved.
            resolve_vault_placeholders(&mut values);
            (
                name,
                need("/spec/destination/namespace")?,
                need("/spec/source/chart")?,
                need(&ptr(Controller::ArgoCd.version_field()))?,
                values,
            )
        }
    };
    Ok(Release {
        file: file.to_string(),
        controller,
        name,
        namespace,
        chart,
        version,
        values,
        set,
        patches,
        waits_before_hooks,
    })
}

/// helm-controller's Kustomize post-render patches: each a strategic-merge patch with a
/// kind and name target. Anything else (JSON 6902, label selectors, images) is refused:
/// rehearsing it without applying it would pass a render nobody sees.
fn post_render_patches(v: &Value) -> Result<Vec<Patch>, String> {
    let mut out = Vec::new();
    let renderers = v.pointer("/spec/postRenderers").and_then(Value::as_array);
    for (i, r) in renderers.into_iter().flatten().enumerate() {
        let Some(k) = r.get("kustomize").and_then(Value::as_object) else {
            return Err(format!(
                "postRenderers/{i} is not a Kustomize post-renderer"
            ));
        };
        if let Some(other) = k.keys().find(|key| *key != "patches") {
            return Err(format!(
                "postRenderers/{i}/kustomize/{other}: rehearse applies only `patches`"
            ));
        }
        for (j, p) in k
            .get("patches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("postRenderers/{i}/kustomize/patches/{j}");
            let (Some(kind), Some(name), Some(text)) = (
                str_at(p, "/target/kind"),
                str_at(p, "/target/name"),
                str_at(p, "/patch"),
            ) else {
                return Err(format!("{at}: needs a patch and a target kind and name"));
            };
            let patch: Value = serde_saphyr::from_str(text).map_err(|e| format!("{at}: {e}"))?;
            if !patch.is_object() {
                return Err(format!("{at}: not a strategic-merge patch (an object)"));
            }
            out.push(Patch {
                kind: kind.to_string(),
                name: name.to_string(),
                patch,
            });
        }
    }
    Ok(out)
}

/// Replaces every argocd-vault-plugin placeholder `<path:…/<secret>#<key>>` in the strings
/// under `v` with [`placeholder`] of its Secret and key, as the plugin would with the
/// secret's value.
fn resolve_vault_placeholders(v: &mut Value) {
    match v {
        Value::String(s) => {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find("<path:") {
                let Some(len) = rest[start..].find('>') else {
                    break;
                };
                let inner = &rest[start + "<path:".len()..start + len];
                let (path, key) = inner.split_once('#').unwrap_or((inner, ""));
                let secret = path.rsplit('/').next().unwrap_or(path);
                out.push_str(&rest[..start]);
                out.push_str(&placeholder(secret, key));
                rest = &rest[start + len + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(a) => a.iter_mut().for_each(resolve_vault_placeholders),
        Value::Object(m) => m.values_mut().for_each(resolve_vault_placeholders),
        _ => {}
    }
}

/// Every leaf under `v` (a scalar, a list, or an empty map), with its pointer.
fn leaves(v: &Value, path: &mut Vec<String>, ptr: &str, out: &mut Vec<SetPath>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                path.push(k.clone());
                leaves(child, path, &format!("{ptr}/{}", escape_ptr(k)), out);
                path.pop();
            }
        }
        Value::Null if path.is_empty() => {}
        _ => out.push(SetPath {
            path: path.clone(),
            ptr: ptr.to_string(),
        }),
    }
}

fn set_path(values: &mut Value, path: &[String], leaf: Value) {
    let mut at = values;
    for seg in path {
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        at = at
            .as_object_mut()
            .expect("made a map above")
            .entry(seg.clone())
            .or_insert(Value::Null);
    }
    *at = leaf;
}

/// Helm's (and helm-controller's) merge: maps merge key by key, anything else replaces.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (_, Value::Null) => {}
        (slot, v) => *slot = v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> Tree {
        Tree::new(
            &files
                .iter()
                .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn flux_values_are_the_secrets_then_the_inline_values_over_them() {
        let t = tree(&[(
            "openstack/helmrelease-k.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: k\n  namespace: openstack\nspec:\n  chart:\n    spec:\n      chart: keystone\n      version: 1.0.0\n  releaseName: keystone\n  values:\n    a:\n      b: 1\n      c: inline\n  valuesFrom:\n  - kind: Secret\n    name: s\n    targetPath: a.c\n    valuesKey: password\n  - kind: Secret\n    name: t\n    targetPath: d.e\n",
        )]);
        let (rs, diags) = t.releases();
        assert!(diags.is_empty(), "{diags:?}");
        let r = &rs[0];
        assert_eq!(
            (r.name.as_str(), r.namespace.as_str(), r.chart.as_str()),
            ("keystone", "openstack", "keystone")
        );
        // The inline value wins over the Secret at the same path, as in helm-controller.
        assert_eq!(
            r.values,
            serde_json::json!({"a": {"b": 1, "c": "inline"}, "d": {"e": "rehearsal-secret-t-values.yaml"}})
        );
        let ptrs: Vec<_> = r.set.iter().map(|s| s.ptr.as_str()).collect();
        assert_eq!(
            ptrs,
            [
                "/spec/valuesFrom/0/targetPath",
                "/spec/valuesFrom/1/targetPath",
                "/spec/values/a/b",
                "/spec/values/a/c"
            ]
        );
    }

    #[test]
    fn argocd_placeholders_are_resolved_before_helm_as_the_root_plugin_does() {
        let mut v = serde_json::json!({"a": ["x <path:secret/data/gcc/e/ns/db#password> y", "<path:k/v/s#k>"], "b": "<path:broken"});
        resolve_vault_placeholders(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": ["x rehearsal-secret-db-password y", "rehearsal-secret-s-k"], "b": "<path:broken"})
        );
    }

    #[test]
    fn a_release_without_a_chart_is_a_bad_tree() {
        let t = tree(&[(
            "x/helmrelease-k.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: k\n  namespace: x\nspec: {}\n",
        )]);
        let (rs, diags) = t.releases();
        assert!(rs.is_empty());
        assert_eq!(diags[0].code, BAD_TREE);
        assert!(
            diags[0].message.contains("/spec/chart/spec/chart"),
            "{}",
            diags[0].message
        );
    }
}
