//! Argo CD: one Application per component (Helm chart, pinned `targetRevision`, the
//! merged values as `helm.valuesObject`), an AppProject per environment, and sync waves
//! on every object so that operators come before their clusters, clusters before the
//! per-service accounts, accounts before the OpenStack services.
//!
//! Secrets: Argo CD cannot read Helm values from cluster Secrets, and no secret value
//! may reach git. Each secret values path gets an argocd-vault-plugin inline-path
//! placeholder, `<path:secret/data/gcc/<env>/<namespace>/<secret>#<key>>`; the root
//! Application that syncs this tree runs the `argocd-vault-plugin-kustomize` plugin,
//! which replaces the placeholders before the Applications reach the cluster. The
//! component Applications themselves stay plain Helm sources (a source is either
//! `helm` or `plugin`, never both).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{Emitted, Section, object, with};
use crate::plan::{ARGOCD_NAMESPACE, Plan, ProvidedBy, values};

/// Application and AppProject API version.
pub(crate) const ARGOCD_API: &str = "argoproj.io/v1alpha1";
/// The annotation Argo CD orders a sync by.
pub(crate) const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// The in-cluster destination.
pub(crate) const IN_CLUSTER: &str = "https://kubernetes.default.svc";
/// Where the secrets live in the store argocd-vault-plugin reads (a KV v2 mount
/// `secret`); the environment, namespace and Secret name follow.
pub(crate) const SECRET_STORE_PREFIX: &str = "secret/data/gcc";

/// The argocd-vault-plugin placeholder for one key of a required Secret.
pub fn placeholder(env: &str, namespace: &str, secret: &str, key: &str) -> String {
    format!("<path:{SECRET_STORE_PREFIX}/{env}/{namespace}/{secret}#{key}>")
}

/// A chart repository as Argo CD names it: OCI registries without the `oci://` scheme.
fn repo_url(url: &str) -> &str {
    url.strip_prefix("oci://").unwrap_or(url)
}

fn annotate(obj: &mut Value, wave: i64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(a) = annotations.as_object_mut() {
            a.insert(SYNC_WAVE.into(), Value::String(wave.to_string()));
        }
    }
}

pub(super) fn emit(plan: &Plan, out: &mut Emitted) {
    let waves = plan.sync_waves();
    // The shared objects keep their content; they only gain their wave.
    for (_, o) in out.objects.iter_mut() {
        let kind = o["kind"].as_str().unwrap_or_default().to_string();
        annotate(o, waves.for_kind(&kind));
    }

    let project = plan.env.as_str();
    let repos: BTreeSet<&str> = plan
        .components
        .iter()
        .map(|c| repo_url(&c.repository_url))
        .collect();
    let namespaces: BTreeSet<&str> = plan
        .components
        .iter()
        .map(|c| c.namespace.as_str())
        .collect();
    let mut appproject = with(
        object(ARGOCD_API, "AppProject", project, Some(ARGOCD_NAMESPACE)),
        "spec",
        json!({
            "description": format!("gcc environment {} (inventory {})", plan.env, plan.inventory),
            "sourceRepos": repos,
            "destinations": namespaces
                .iter()
                .map(|ns| json!({ "server": IN_CLUSTER, "namespace": ns }))
                .collect::<Vec<_>>(),
            // Operators install CRDs, ClusterRoles and webhooks: cluster-scoped kinds are
            // not restricted; sources and destinations are.
            "clusterResourceWhitelist": [{ "group": "*", "kind": "*" }],
        }),
    );
    annotate(&mut appproject, waves.for_kind("AppProject"));
    out.objects.push((Section::Root, appproject));

    for c in &plan.components {
        let mut values_object = c.values.clone();
        for s in &c.secrets {
            let secret = placeholder(&plan.env, &c.namespace, &s.secret, &s.key);
            values::set(&mut values_object, &s.path, Value::String(secret));
        }
        let mut spec = json!({
            "project": project,
            "source": {
                "repoURL": repo_url(&c.repository_url),
                "chart": c.chart,
                "targetRevision": c.version,
                "helm": {
                    "releaseName": c.name,
                    "valuesObject": values_object,
                },
            },
            "destination": { "server": IN_CLUSTER, "namespace": c.namespace },
            "syncPolicy": {
                "automated": { "prune": true, "selfHeal": true },
                "syncOptions": ["CreateNamespace=false", "ServerSideApply=true"],
                "retry": {
                    "limit": 5,
                    "backoff": { "duration": "30s", "factor": 2, "maxDuration": "10m" },
                },
            },
        });
        if !c.autoscalers.is_empty() {
            // gcc's HPAs own these Deployments' replicas: self-heal must not reset them to
            // the chart's count, and a sync must not apply it (RespectIgnoreDifferences).
            spec["ignoreDifferences"] = c
                .autoscalers
                .iter()
                .map(|a| {
                    json!({ "group": "apps", "kind": "Deployment", "name": a.deployment,
                            "namespace": c.namespace, "jsonPointers": ["/spec/replicas"] })
                })
                .collect();
            if let Some(opts) = spec
                .pointer_mut("/syncPolicy/syncOptions")
                .and_then(Value::as_array_mut)
            {
                opts.push(json!("RespectIgnoreDifferences=true"));
            }
        }
        let mut app = with(
            object(ARGOCD_API, "Application", &c.name, Some(ARGOCD_NAMESPACE)),
            "spec",
            spec,
        );
        annotate(&mut app, waves.component(c));
        out.objects.push((Section::Root, app));
    }
    root_applications(plan, out);
}

/// The Applications that sync this tree, applied once by hand (`bootstrap/`): the
/// operators' manifests, the tree itself through argocd-vault-plugin (which resolves the
/// placeholders before the Applications reach the cluster), and `nodes/`, which never
/// prunes (a Node is not gcc's to delete). They live in the default project: the
/// environment's own project allows only the chart repositories.
fn root_applications(plan: &Plan, out: &mut Emitted) {
    let source = |path: &str| {
        json!({
            "repoURL": plan.source.url,
            "targetRevision": plan.source.branch,
            "path": path,
        })
    };
    let app = |name: String, source: Value, sync: Value| {
        let spec = json!({
            "project": "default",
            "source": source,
            "destination": { "server": IN_CLUSTER },
            "syncPolicy": sync,
        });
        with(
            object(ARGOCD_API, "Application", &name, Some(ARGOCD_NAMESPACE)),
            "spec",
            spec,
        )
    };
    let retry =
        json!({ "limit": 5, "backoff": { "duration": "30s", "factor": 2, "maxDuration": "10m" } });
    if !plan.remote.is_empty() {
        let sync = json!({ "automated": { "prune": true }, "retry": retry });
        let o = app(format!("{}-operators", plan.env), source("operators"), sync);
        out.objects.push((Section::Bootstrap, o));
    }
    let mut tree = source(".");
    tree["plugin"] = json!({ "name": "argocd-vault-plugin-kustomize" });
    let sync = json!({
        "automated": { "prune": true, "selfHeal": true },
        "syncOptions": ["RespectIgnoreDifferences=true"],
        "retry": retry,
    });
    let mut root = app(plan.env.clone(), tree, sync);
    // The tree's HPAs scale Deployments its Applications render: neither this
    // Application nor theirs may reset the replicas the HPAs set. The Secrets operators
    // write beside the clusters gcc describes (RabbitMQ's default user, PostgreSQL's
    // superuser) are theirs: self-heal must never reset them either.
    let mut ignore = Vec::new();
    if plan.components.iter().any(|c| !c.autoscalers.is_empty()) {
        ignore.push(
            json!({ "group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"] }),
        );
    }
    for s in &plan.secrets {
        if let ProvidedBy::Operator(_) = s.provided_by {
            ignore.push(json!({ "group": "", "kind": "Secret", "name": s.name,
                                "namespace": s.namespace, "jsonPointers": ["/data"] }));
        }
    }
    if !ignore.is_empty() {
        root["spec"]["ignoreDifferences"] = Value::Array(ignore);
    }
    out.objects.push((Section::Bootstrap, root));
    if !plan.nodes.is_empty() {
        let o = app(format!("{}-nodes", plan.env), source("nodes"), json!({}));
        out.objects.push((Section::Bootstrap, o));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_use_the_inline_path_syntax() {
        assert_eq!(
            placeholder("prod", "openstack", "nova-admin", "password"),
            "<path:secret/data/gcc/prod/openstack/nova-admin#password>"
        );
        assert_eq!(
            repo_url("oci://quay.io/jetstack/charts"),
            "quay.io/jetstack/charts"
        );
        assert_eq!(repo_url("https://charts.example"), "https://charts.example");
    }
}
