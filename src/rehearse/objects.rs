//! Kubernetes objects as a rehearsal sees them: their identity, their pod templates and
//! what their pods wait for before they start.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::render::api_group;

/// Kinds that have no namespace (a namespace written on one is ignored by the API).
const CLUSTER_SCOPED: [&str; 20] = [
    "APIService",
    "CSIDriver",
    "ClusterIssuer",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "GatewayClass",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PriorityClass",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeSnapshotClass",
    "ClusterPolicy",
];

/// An object's identity in the API: two objects with one key have one owner too many.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// API group (`""` for the core group).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace (`""` for cluster-scoped kinds).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() {
            String::new()
        } else {
            format!(".{}", self.group)
        };
        if self.namespace.is_empty() {
            write!(f, "{}{group} {}", self.kind, self.name)
        } else {
            write!(f, "{}{group} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Who writes an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// gcc, in a file of the tree.
    Gcc,
    /// A release's render (the index into the rehearsal's releases).
    Release(usize),
}

/// One object of a tree or of a render.
#[derive(Debug, Clone)]
pub struct Object {
    /// Its identity.
    pub key: Key,
    /// The whole object.
    pub body: Value,
    /// Who writes it.
    pub owner: Owner,
    /// The tree file it is in (gcc's objects).
    pub file: Option<String>,
}

impl Object {
    /// An object from a parsed document; `None` for anything that is not one (a
    /// kustomization, an empty document). `namespace` is the release's, for objects
    /// that name none.
    pub fn from_value(v: &Value, namespace: Option<&str>, owner: Owner) -> Option<Object> {
        let api_version = v.get("apiVersion")?.as_str()?;
        let kind = v.get("kind")?.as_str()?;
        let name = v.pointer("/metadata/name")?.as_str()?;
        let namespace = if CLUSTER_SCOPED.contains(&kind) {
            ""
        } else {
            v.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .or(namespace)
                .unwrap_or("default")
        };
        Some(Object {
            key: Key {
                group: api_group(api_version).to_string(),
                kind: kind.to_string(),
                namespace: namespace.to_string(),
                name: name.to_string(),
            },
            body: v.clone(),
            owner,
            file: None,
        })
    }

    pub(super) fn in_file(mut self, file: &str) -> Object {
        self.file = Some(file.to_string());
        self
    }

    /// The pod template of a workload (or a Pod itself): its labels and its spec.
    pub(crate) fn pod_template(&self) -> Option<(&Value, &Value)> {
        let t = match self.key.kind.as_str() {
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
                self.body.pointer("/spec/template")?
            }
            "CronJob" => self.body.pointer("/spec/jobTemplate/spec/template")?,
            "Pod" => &self.body,
            _ => return None,
        };
        Some((
            t.pointer("/metadata/labels").unwrap_or(&Value::Null),
            t.get("spec")?,
        ))
    }

    /// The containers of its pod template, init containers first.
    pub fn containers(&self) -> impl Iterator<Item = &Value> {
        let spec = self.pod_template().map(|(_, spec)| spec);
        ["initContainers", "containers"]
            .into_iter()
            .filter_map(move |l| spec?.get(l).and_then(Value::as_array))
            .flatten()
    }

    /// What this object's pods wait for: kubernetes-entrypoint's `DEPENDENCY_*`, and the
    /// ConfigMaps they mount or read without `optional: true` (the kubelet keeps such a
    /// pod in ContainerCreating, or CreateContainerConfigError, until the ConfigMap exists).
    pub fn waits(&self) -> Vec<Wait> {
        let ns = &self.key.namespace;
        let mut out: Vec<Wait> = self
            .config_maps()
            .into_iter()
            .map(|name| Wait::ConfigMap(ns.clone(), name.to_string()))
            .collect();
        for c in self.containers() {
            for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
                let (Some(name), Some(value)) = (
                    e.get("name").and_then(Value::as_str),
                    e.get("value").and_then(Value::as_str),
                ) else {
                    continue;
                };
                waits_of(name, value, ns, &mut out);
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

impl Object {
    /// The ConfigMaps its pods need: volumes (plain and projected), `envFrom` and
    /// `configMapKeyRef`, each unless marked optional.
    fn config_maps(&self) -> Vec<&str> {
        fn required(r: &Value) -> Option<&str> {
            if r.get("optional") == Some(&Value::Bool(true)) {
                return None;
            }
            r.get("name").and_then(Value::as_str)
        }
        let mut out = Vec::new();
        let volumes = self
            .pod_template()
            .and_then(|(_, spec)| spec.get("volumes"))
            .and_then(Value::as_array);
        for v in volumes.into_iter().flatten() {
            out.extend(v.get("configMap").and_then(required));
            let sources = v.pointer("/projected/sources").and_then(Value::as_array);
            out.extend(
                sources
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.get("configMap").and_then(required)),
            );
        }
        for c in self.containers() {
            let from = c.get("envFrom").and_then(Value::as_array);
            out.extend(
                from.into_iter()
                    .flatten()
                    .filter_map(|e| e.get("configMapRef").and_then(required)),
            );
            let env = c.get("env").and_then(Value::as_array);
            out.extend(
                env.into_iter()
                    .flatten()
                    .filter_map(|e| e.pointer("/valueFrom/configMapKeyRef").and_then(required)),
            );
        }
        out
    }
}

/// Something a pod waits for before it starts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Wait {
    /// A Job, by namespace and name, to succeed.
    Job(String, String),
    /// A Job with these labels, in a namespace.
    JobLabels(String, BTreeMap<String, String>),
    /// A Service with endpoints.
    Service(String, String),
    /// A DaemonSet's pods, by namespace and name.
    DaemonSet(String, String),
    /// A running pod with these labels, in a namespace.
    Pod(String, BTreeMap<String, String>),
    /// A custom resource, by apiVersion, kind, namespace, name.
    Resource(String, String, String, String),
    /// A ConfigMap, by namespace and name.
    ConfigMap(String, String),
}

impl std::fmt::Display for Wait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let labels = |l: &BTreeMap<String, String>| {
            l.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Wait::Job(ns, n) => write!(f, "Job {ns}/{n}"),
            Wait::JobLabels(ns, l) => write!(f, "a Job labelled {} in {ns}", labels(l)),
            Wait::Service(ns, n) => write!(f, "Service {ns}/{n}"),
            Wait::DaemonSet(ns, n) => write!(f, "DaemonSet {ns}/{n}"),
            Wait::Pod(ns, l) => write!(f, "a pod labelled {} in {ns}", labels(l)),
            Wait::Resource(a, k, ns, n) => write!(f, "{k} ({a}) {ns}/{n}"),
            Wait::ConfigMap(ns, n) => write!(f, "ConfigMap {ns}/{n}"),
        }
    }
}

/// `ns:name` or `name` (in `ns`).
fn qualified(item: &str, ns: &str) -> (String, String) {
    match item.split_once(':') {
        Some((n, name)) => (n.to_string(), name.to_string()),
        None => (ns.to_string(), item.to_string()),
    }
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// A label map as strings (a non-string value written as JSON).
pub(super) fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            (k.clone(), v)
        })
        .collect()
}

fn waits_of(env: &str, value: &str, ns: &str, out: &mut Vec<Wait>) {
    match env {
        "DEPENDENCY_JOBS" => out.extend(list(value).map(|j| {
            let (n, name) = qualified(j, ns);
            Wait::Job(n, name)
        })),
        "DEPENDENCY_SERVICE" => out.extend(list(value).map(|s| {
            let (n, name) = qualified(s, ns);
            Wait::Service(n, name)
        })),
        "DEPENDENCY_DAEMONSET" => out.extend(list(value).map(|d| {
            let (n, name) = qualified(d, ns);
            Wait::DaemonSet(n, name)
        })),
        "DEPENDENCY_JOBS_JSON" | "DEPENDENCY_POD_JSON" | "DEPENDENCY_CUSTOM_RESOURCE" => {
            let Ok(Value::Array(items)) = serde_json::from_str::<Value>(value) else {
                return;
            };
            for item in &items {
                match (env, item) {
                    // A JSON list of names duplicates DEPENDENCY_JOBS.
                    ("DEPENDENCY_JOBS_JSON", Value::String(j)) => {
                        let (n, name) = qualified(j, ns);
                        out.push(Wait::Job(n, name));
                    }
                    ("DEPENDENCY_JOBS_JSON", Value::Object(o)) => {
                        let n = o.get("namespace").and_then(Value::as_str).unwrap_or(ns);
                        out.push(Wait::JobLabels(
                            n.to_string(),
                            labels(o.get("labels").unwrap_or(&Value::Null)),
                        ));
                    }
                    ("DEPENDENCY_POD_JSON", Value::Object(o)) => {
                        let n = o.get("namespace").and_then(Value::as_str).unwrap_or(ns);
                        out.push(Wait::Pod(
                            n.to_string(),
                            labels(o.get("labels").unwrap_or(&Value::Null)),
                        ));
                    }
                    ("DEPENDENCY_CUSTOM_RESOURCE", Value::Object(o)) => {
                        let s = |k: &str| {
                            o.get(k)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string()
                        };
                        let n = o.get("namespace").and_then(Value::as_str).unwrap_or(ns);
                        out.push(Wait::Resource(
                            s("apiVersion"),
                            s("kind"),
                            n.to_string(),
                            s("name"),
                        ));
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// The objects of a `helm template` stream, in order, each with the post-render `patches`
/// that target it applied; documents that are not objects (comments only, `null`) are
/// skipped. The error is the YAML parser's.
pub(crate) fn parse_stream(
    stream: &str,
    namespace: &str,
    owner: Owner,
    patches: &[Patch],
) -> Result<Vec<Object>, String> {
    let mut docs: Vec<Value> = serde_saphyr::from_multiple(stream).map_err(|e| e.to_string())?;
    for doc in &mut docs {
        for p in patches {
            if p.targets(doc) {
                strategic_merge(doc, &p.patch, None);
            }
        }
    }
    Ok(docs
        .iter()
        .filter_map(|d| Object::from_value(d, Some(namespace), owner.clone()))
        .collect())
}

/// A strategic-merge patch a controller applies to what Helm renders (Flux
/// `postRenderers[].kustomize.patches`), with its target.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    /// Target kind.
    pub kind: String,
    /// Target name.
    pub name: String,
    /// The partial object.
    pub patch: Value,
}

impl Patch {
    fn targets(&self, doc: &Value) -> bool {
        doc.get("kind").and_then(Value::as_str) == Some(self.kind.as_str())
            && doc.pointer("/metadata/name").and_then(Value::as_str) == Some(self.name.as_str())
    }
}

/// The merge key Kubernetes gives the lists under `field` (`patchMergeKey`), for the pod
/// fields a patch may touch; any other list is replaced whole.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "volumes" | "env" | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "ports" => Some("containerPort"),
        _ => None,
    }
}

/// Kustomize's strategic merge, the part a patch of a pod template needs: maps merge key
/// by key (`null` deletes), a list with a merge key ([`merge_key`]) merges item by item on
/// it (new items appended), any other value is replaced.
pub(crate) fn strategic_merge(target: &mut Value, patch: &Value, field: Option<&str>) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match (t.get_mut(k), v) {
                    (_, Value::Null) => {
                        t.remove(k);
                    }
                    (Some(tv), _) => strategic_merge(tv, v, Some(k)),
                    (None, _) => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(p)) if field.and_then(merge_key).is_some() => {
            let key = field.and_then(merge_key).unwrap_or_default();
            for item in p {
                match t
                    .iter_mut()
                    .find(|x| x.get(key).is_some() && x.get(key) == item.get(key))
                {
                    Some(x) => strategic_merge(x, item, None),
                    None => t.push(item.clone()),
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "---\n# Source: keystone/templates/job-db-sync.yaml\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: \"keystone-db-sync\"\nspec:\n  template:\n    metadata:\n      labels:\n        application: keystone\n    spec:\n      initContainers:\n        - name: init\n          env:\n            - name: DEPENDENCY_SERVICE\n              value: \"openstack:mariadb-cluster-primary,rabbitmq-nodes\"\n            - name: DEPENDENCY_JOBS\n              value: \"keystone-db-init,other:keystone-x\"\n            - name: DEPENDENCY_DAEMONSET\n              value: \"\"\n            - name: DEPENDENCY_POD_JSON\n              value: \"[{\\\"labels\\\":{\\\"application\\\":\\\"ovn\\\",\\\"component\\\":\\\"ovn-controller\\\"},\\\"requireSameNode\\\":true}]\"\n      containers: []\n---\n# Source: keystone/templates/empty.yaml\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\n  namespace: ignored\n";

    #[test]
    fn strategic_merge_merges_pod_lists_on_their_keys_and_replaces_the_rest() {
        let mut doc = serde_json::json!({
            "kind": "Deployment",
            "metadata": { "name": "web", "labels": { "a": "1", "b": "2" } },
            "spec": { "template": { "spec": {
                "containers": [
                    { "name": "nginx", "image": "n", "volumeMounts": [{ "name": "v", "mountPath": "/a" }] },
                    { "name": "app", "image": "x" },
                ],
                "tolerations": [{ "key": "t" }],
            }}},
        });
        let patch = serde_json::json!({
            "metadata": { "labels": { "b": null, "c": "3" } },
            "spec": { "template": { "spec": {
                "containers": [
                    { "name": "app", "resources": { "requests": { "cpu": "1" } } },
                    { "name": "nginx", "volumeMounts": [{ "name": "v", "mountPath": "/b" }] },
                    { "name": "sidecar", "image": "s" },
                ],
                "tolerations": [{ "key": "u" }],
            }}},
        });
        let p = Patch {
            kind: "Deployment".into(),
            name: "web".into(),
            patch,
        };
        assert!(p.targets(&doc));
        strategic_merge(&mut doc, &p.patch, None);
        assert_eq!(
            doc["metadata"]["labels"],
            serde_json::json!({ "a": "1", "c": "3" })
        );
        let spec = &doc["spec"]["template"]["spec"];
        // Containers merge by name, in place; a new one is appended.
        let names: Vec<&str> = spec["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["nginx", "app", "sidecar"]);
        assert_eq!(spec["containers"][1]["image"], "x");
        assert_eq!(spec["containers"][1]["resources"]["requests"]["cpu"], "1");
        // volumeMounts merge on mountPath, not name: both mounts stay.
        assert_eq!(
            spec["containers"][0]["volumeMounts"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        // A list with no merge key is replaced.
        assert_eq!(spec["tolerations"], serde_json::json!([{ "key": "u" }]));
        // Another object is not a target.
        assert!(!p.targets(
            &serde_json::json!({ "kind": "Deployment", "metadata": { "name": "other" } })
        ));
    }

    #[test]
    fn a_helm_toolkit_stream_gives_objects_and_their_waits() {
        let objs = parse_stream(STREAM, "openstack", Owner::Release(0), &[]).unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(
            objs[0].key.to_string(),
            "Job.batch openstack/keystone-db-sync"
        );
        assert_eq!(
            objs[1].key.to_string(),
            "ClusterRole.rbac.authorization.k8s.io r"
        );
        let waits: Vec<String> = objs[0].waits().iter().map(ToString::to_string).collect();
        assert_eq!(
            waits,
            [
                "Job openstack/keystone-db-init",
                "Job other/keystone-x",
                "Service openstack/mariadb-cluster-primary",
                "Service openstack/rabbitmq-nodes",
                "a pod labelled application=ovn,component=ovn-controller in openstack",
            ]
        );
        assert!(objs[1].waits().is_empty());
    }

    #[test]
    fn a_stream_that_is_not_yaml_is_an_error() {
        assert!(parse_stream("a: [", "x", Owner::Gcc, &[]).is_err());
    }
}
