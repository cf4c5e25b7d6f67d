//! Flux: one HelmRepository per chart repository, one HelmRelease per component, and
//! the plumbing that applies the tree: a GitRepository for the deploy branch and one
//! Kustomization per install stage, each waiting for the one before.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Emitted, Section, object, with};
use crate::plan::{FLUX_NAMESPACE, Plan, Stage};

/// HelmRelease API version.
pub(crate) const HELM_RELEASE: &str = "helm.toolkit.fluxcd.io/v2";
/// HelmRepository and GitRepository API version.
pub(crate) const HELM_REPOSITORY: &str = "source.toolkit.fluxcd.io/v1";
/// Flux Kustomization API version.
pub(crate) const KUSTOMIZATION: &str = "kustomize.toolkit.fluxcd.io/v1";

/// The media type of a Helm chart's content layer in an OCI artifact.
const HELM_CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

pub(super) fn emit(plan: &Plan, out: &mut Emitted) {
    // Charts in Helm repositories: one HelmRepository per repository. Charts in OCI
    // registries: one OCIRepository per chart, at its version, that the HelmRelease
    // references (`chartRef`, the form Flux documents for OCI charts).
    let repos: BTreeMap<&str, &str> = plan
        .components
        .iter()
        .filter(|c| !is_oci(&c.repository_url))
        .map(|c| (c.repository.as_str(), c.repository_url.as_str()))
        .collect();
    for (name, url) in repos {
        let spec = json!({ "interval": "1h", "url": url });
        let o = object(
            HELM_REPOSITORY,
            "HelmRepository",
            name,
            Some(FLUX_NAMESPACE),
        );
        out.objects.push((Section::Root, with(o, "spec", spec)));
    }
    for c in plan.components.iter().filter(|c| is_oci(&c.repository_url)) {
        let spec = json!({
            "interval": "1h",
            "url": format!("{}/{}", c.repository_url.trim_end_matches('/'), c.chart),
            "ref": { "tag": c.version },
            "layerSelector": { "mediaType": HELM_CHART_LAYER, "operation": "copy" },
        });
        let o = object(
            HELM_REPOSITORY,
            "OCIRepository",
            &c.name,
            Some(FLUX_NAMESPACE),
        );
        out.objects.push((Section::Root, with(o, "spec", spec)));
    }
    for c in &plan.components {
        let depends_on: Vec<Value> = c
            .depends_on
            .iter()
            .filter_map(|d| plan.component(d))
            .map(|d| json!({ "name": d.name, "namespace": d.namespace }))
            .collect();
        let values_from: Vec<Value> = c
            .secrets
            .iter()
            .map(|s| {
                json!({
                    "kind": "Secret",
                    "name": s.secret,
                    "valuesKey": s.key,
                    "targetPath": s.path,
                })
            })
            .collect();
        let chart = if is_oci(&c.repository_url) {
            (
                "chartRef",
                json!({ "kind": "OCIRepository", "name": c.name, "namespace": FLUX_NAMESPACE }),
            )
        } else {
            (
                "chart",
                json!({ "spec": {
                    "chart": c.chart,
                    "version": c.version,
                    "sourceRef": { "kind": "HelmRepository", "name": c.repository, "namespace": FLUX_NAMESPACE },
                }}),
            )
        };
        let mut spec = json!({
            "interval": "1h",
            "releaseName": c.name,
            "timeout": "120m",
            "install": { "crds": "CreateReplace", "remediation": { "retries": 3 } },
            "upgrade": { "crds": "CreateReplace", "remediation": { "retries": 3 } },
            "values": c.values,
        });
        spec[chart.0] = chart.1;
        if !c.helm_wait {
            // Helm runs post-install hooks only after its wait, and these pods wait for
            // the hooks: Helm runs them at once instead, and waits for them.
            spec["install"]["disableWait"] = json!(true);
            spec["upgrade"]["disableWait"] = json!(true);
        }
        if !depends_on.is_empty() {
            spec["dependsOn"] = Value::Array(depends_on);
        }
        if !values_from.is_empty() {
            spec["valuesFrom"] = Value::Array(values_from);
        }
        let o = object(HELM_RELEASE, "HelmRelease", &c.name, Some(&c.namespace));
        out.objects.push((Section::Root, with(o, "spec", spec)));
    }
}

/// The GitRepository of the deploy branch and the Kustomizations that apply the tree: one
/// per stage, in order (`dependsOn` the stage before, `wait` for every object it applies
/// to be ready, so a stage's custom resources meet the CRDs and controllers of the stages
/// before), and one for `nodes/` that never prunes (a Node is not gcc's to delete).
pub(super) fn stages(plan: &Plan, out: &mut Emitted) {
    let source = format!("gcc-{}", plan.env);
    let mut spec = json!({
        "interval": "1m",
        "url": plan.source.url,
        "ref": { "branch": plan.source.branch },
    });
    if let Some(secret) = &plan.source.secret {
        spec["secretRef"] = json!({ "name": secret });
    }
    let o = object(
        HELM_REPOSITORY,
        "GitRepository",
        &source,
        Some(FLUX_NAMESPACE),
    );
    out.objects.push((Section::Flux, with(o, "spec", spec)));
    let name = |stage: &str| format!("{}-{stage}", plan.env);
    for stage in Stage::ALL {
        let mut spec = json!({
            "interval": "10m",
            "retryInterval": "1m",
            "timeout": "30m",
            "sourceRef": { "kind": "GitRepository", "name": source },
            "path": format!("./{}", stage.dir()),
            "prune": true,
            "wait": true,
        });
        if let Some(before) = stage.before() {
            spec["dependsOn"] = json!([{ "name": name(before.name()) }]);
        }
        let o = object(
            KUSTOMIZATION,
            "Kustomization",
            &name(stage.name()),
            Some(FLUX_NAMESPACE),
        );
        out.objects.push((Section::Flux, with(o, "spec", spec)));
    }
    if !plan.nodes.is_empty() {
        let spec = json!({
            "interval": "10m",
            "sourceRef": { "kind": "GitRepository", "name": source },
            "path": "./nodes",
            "prune": false,
        });
        let o = object(
            KUSTOMIZATION,
            "Kustomization",
            &name("nodes"),
            Some(FLUX_NAMESPACE),
        );
        out.objects.push((Section::Flux, with(o, "spec", spec)));
    }
}

/// A chart repository that is an OCI registry.
fn is_oci(url: &str) -> bool {
    url.starts_with("oci://")
}
