//! Flux: one HelmRepository per chart repository, one HelmRelease per component.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Emitted, Section, object, with};
use crate::plan::{FLUX_NAMESPACE, Plan};

/// HelmRelease API version.
pub(crate) const HELM_RELEASE: &str = "helm.toolkit.fluxcd.io/v2";
/// HelmRepository API version.
pub(crate) const HELM_REPOSITORY: &str = "source.toolkit.fluxcd.io/v1";

pub(super) fn emit(plan: &Plan, out: &mut Emitted) {
    let repos: BTreeMap<&str, &str> = plan
        .components
        .iter()
        .map(|c| (c.repository.as_str(), c.repository_url.as_str()))
        .collect();
    for (name, url) in repos {
        let mut spec = json!({ "interval": "1h", "url": url });
        if url.starts_with("oci://") {
            spec["type"] = json!("oci");
        }
        let o = object(
            HELM_REPOSITORY,
            "HelmRepository",
            name,
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
        let mut spec = json!({
            "interval": "1h",
            "releaseName": c.name,
            "timeout": "120m",
            "chart": { "spec": {
                "chart": c.chart,
                "version": c.version,
                "sourceRef": { "kind": "HelmRepository", "name": c.repository, "namespace": FLUX_NAMESPACE },
            }},
            "install": { "crds": "CreateReplace", "remediation": { "retries": 3 } },
            "upgrade": { "crds": "CreateReplace", "remediation": { "retries": 3 } },
            "values": c.values,
        });
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
