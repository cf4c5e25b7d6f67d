//! What a number in an emitted object means, as the plan decided it: the risk rules judge
//! replicas, quorum members and autoscaler bounds, not path segments. Read from the
//! catalog (the values paths the plan writes its facts to, each service's scaling
//! Deployments) and the kinds gcc writes, the same for Flux and Argo CD trees.

use serde_json::Value;

use super::ObjectKey;
use crate::catalog::Catalog;
use crate::rehearse::Controller;

/// What a changed number means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    /// Replicas of something that scales (an API Deployment).
    Replicas,
    /// Members of a quorum (MariaDB Galera, RabbitMQ, memcached's servers, OVN central).
    Quorum,
    /// An autoscaler's floor.
    HpaMin,
    /// An autoscaler's ceiling.
    HpaMax,
}

/// The Helm values path of a release's field (`spec.values.pod.replicas.api` →
/// `pod.replicas.api`), where the release's controller keeps its values; `None` for other
/// objects and fields.
fn values_path<'a>(key: &ObjectKey, path: &'a str) -> Option<&'a str> {
    let root = Controller::of(&key.group, &key.kind)?.values_field();
    path.strip_prefix(root)?.strip_prefix('.')
}

/// What the number at `path` of object `key` means, if the plan put it there.
pub(crate) fn meaning(key: &ObjectKey, path: &str) -> Option<Meaning> {
    match (key.kind.as_str(), path) {
        ("HorizontalPodAutoscaler", "spec.minReplicas") => return Some(Meaning::HpaMin),
        ("HorizontalPodAutoscaler", "spec.maxReplicas") => return Some(Meaning::HpaMax),
        ("MariaDB" | "RabbitmqCluster", "spec.replicas") => return Some(Meaning::Quorum),
        ("Deployment" | "StatefulSet", "spec.replicas") => return Some(Meaning::Replicas),
        _ => {}
    }
    let values = values_path(key, path)?;
    let catalog = Catalog::get();
    let planned_quorum = catalog.components.get(&key.name).is_some_and(|c| {
        c.planned
            .iter()
            .any(|p| p.path == values && p.fact.counts_quorum())
    });
    if planned_quorum {
        return Some(Meaning::Quorum);
    }
    let scaled = catalog
        .services
        .get(&key.name)
        .is_some_and(|s| s.api.iter().any(|a| a.replicas_path() == values));
    scaled.then_some(Meaning::Replicas)
}

/// How many a value counts: a number, or the members of a comma-separated list (OVN
/// central's addresses).
pub(crate) fn count(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => Some(s.split(',').filter(|m| !m.trim().is_empty()).count() as f64),
        Value::Array(items) => Some(items.len() as f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(group: &str, kind: &str, name: &str) -> ObjectKey {
        ObjectKey {
            group: group.into(),
            kind: kind.into(),
            namespace: "openstack".into(),
            name: name.into(),
        }
    }

    #[test]
    fn meanings_come_from_the_catalog_for_both_targets() {
        for (group, kind) in [
            ("helm.toolkit.fluxcd.io", "HelmRelease"),
            ("argoproj.io", "Application"),
        ] {
            let root = Controller::of(group, kind).unwrap().values_field();
            let ovn = key(group, kind, "kube-ovn");
            let at = |p: &str| format!("{root}.{p}");
            assert_eq!(meaning(&ovn, &at("MASTER_NODES")), Some(Meaning::Quorum));
            assert_eq!(meaning(&ovn, &at("ipv4.POD_CIDR")), None);
            let memcached = key(group, kind, "memcached");
            assert_eq!(
                meaning(&memcached, &at("pod.replicas.server")),
                Some(Meaning::Quorum)
            );
            let nova = key(group, kind, "nova");
            assert_eq!(
                meaning(&nova, &at("pod.replicas.osapi")),
                Some(Meaning::Replicas)
            );
            // A key that only looks like replicas is not one the plan writes.
            assert_eq!(meaning(&nova, &at("pod.replicas.compute_ironic")), None);
        }
        let hpa = key("autoscaling", "HorizontalPodAutoscaler", "nova-api-osapi");
        assert_eq!(meaning(&hpa, "spec.maxReplicas"), Some(Meaning::HpaMax));
        let galera = key("k8s.mariadb.com", "MariaDB", "mariadb-cluster");
        assert_eq!(meaning(&galera, "spec.replicas"), Some(Meaning::Quorum));
    }

    #[test]
    fn counts_numbers_and_lists() {
        assert_eq!(count(Some(&serde_json::json!(3))), Some(3.0));
        assert_eq!(
            count(Some(&serde_json::json!("10.0.0.1,10.0.0.2"))),
            Some(2.0)
        );
        assert_eq!(count(Some(&serde_json::json!(""))), Some(0.0));
        assert_eq!(count(None), None);
    }
}
