//! Risk flags: the changes a reviewer must not miss, each with a stable code and a
//! one-line reason. Rules look at field paths and object kinds only, so they apply the
//! same to Flux and Argo CD trees and to hand-edited ones.

use crate::model::Profile;
use serde::Serialize;
use serde_json::Value;

use super::{Change, FieldChange, ObjectDiff, ObjectKey, SideInfo};

/// One risky change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Risk {
    /// Stable code: `replicas_lowered`, `hpa_min_lowered`, `pdb_lowered`,
    /// `quorum_below_3`, `anti_affinity_weakened`, `chart_downgraded`,
    /// `image_downgraded`, `storage_changed`, `data_loss`, `secret_ref_changed`,
    /// `public_endpoint_changed`, `nondeterministic_build`.
    pub code: &'static str,
    /// The object concerned (`None` for tree-wide findings).
    pub object: Option<ObjectKey>,
    /// The field concerned.
    pub path: Option<String>,
    /// Why it matters, in a sentence.
    pub reason: String,
}

/// Kinds whose removal deletes data (or the namespace holding it).
const DATA_KINDS: [&str; 8] = [
    "Namespace",
    "MariaDB",
    "Database",
    "User",
    "RabbitmqCluster",
    "Vhost",
    "Queue",
    "PersistentVolumeClaim",
];

/// Components that keep a quorum and must stay at 3 or more in `base`.
const QUORUM_RELEASES: [&str; 4] = ["memcached", "kube-ovn", "ovn", "rabbitmq"];

/// The order risks are listed in: data and availability first.
const ORDER: [&str; 12] = [
    "nondeterministic_build",
    "data_loss",
    "quorum_below_3",
    "anti_affinity_weakened",
    "replicas_lowered",
    "hpa_min_lowered",
    "pdb_lowered",
    "storage_changed",
    "public_endpoint_changed",
    "chart_downgraded",
    "image_downgraded",
    "secret_ref_changed",
];

fn number(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "absent".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// The numeric parts of a version (`v1.2.3-rc1` → [1, 2, 3, 1]); `None` without digits.
fn version_parts(s: &str) -> Option<Vec<u64>> {
    let parts: Vec<u64> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect();
    (!parts.is_empty()).then_some(parts)
}

/// A version by semver's rules (the `semver` crate), read leniently: a leading `v`, and
/// missing minor or patch numbers (`2024.1-ubuntu_jammy` is 2024.1.0, pre-release
/// `ubuntu_jammy`, with `_` read as `-`).
fn semver_of(s: &str) -> Option<semver::Version> {
    let s = s.strip_prefix('v').unwrap_or(s);
    if let Ok(v) = semver::Version::parse(s) {
        return Some(v);
    }
    let split = s.find(['-', '+']).unwrap_or(s.len());
    let (core, rest) = s.split_at(split);
    let dots = core.matches('.').count();
    if dots >= 2 || core.is_empty() {
        return None;
    }
    let padded = format!("{core}{}{}", ".0".repeat(2 - dots), rest.replace('_', "-"));
    semver::Version::parse(&padded).ok()
}

/// `new` is an older version than `old`: by semver precedence where both parse (build
/// metadata, `+...`, is ignored; a pre-release comes before its release), else by their
/// numbers, build metadata left out.
fn downgraded(old: &str, new: &str) -> bool {
    if let (Some(a), Some(b)) = (semver_of(old), semver_of(new)) {
        return b.cmp_precedence(&a) == std::cmp::Ordering::Less;
    }
    let core = |s: &str| s.split('+').next().unwrap_or(s).to_string();
    match (version_parts(&core(old)), version_parts(&core(new))) {
        (Some(a), Some(b)) => b < a,
        _ => false,
    }
}

/// Splits an image reference into repository and tag (`repo:tag@digest` → tag).
fn image_tag(image: &str) -> Option<(&str, &str)> {
    let image = image.split('@').next()?;
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    let colon = image[slash..].rfind(':')? + slash;
    Some((&image[..colon], &image[colon + 1..]))
}

fn last_segment(path: &str) -> &str {
    if let Some(quoted) = path.strip_suffix("\"]")
        && let Some(start) = quoted.rfind("[\"")
    {
        return &quoted[start + 2..];
    }
    let tail = path.rsplit(['.', '[']).next().unwrap_or(path);
    tail.trim_end_matches(']')
}

fn has_segment(path: &str, seg: &str) -> bool {
    path.split(['.', '[', ']', '"']).any(|s| s == seg)
}

fn contains_key(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| k == key || contains_key(v, key)),
        Value::Array(l) => l.iter().any(|v| contains_key(v, key)),
        _ => false,
    }
}

/// Assesses every differing object; `to`/`from` give the profiles, `bytes_differ`
/// whether any non-lock file changed.
pub(crate) fn assess(
    objects: &[ObjectDiff],
    to: &SideInfo,
    from: &SideInfo,
    bytes_differ: bool,
) -> Vec<Risk> {
    let mut risks = Vec::new();
    if bytes_differ && from.build_id.is_some() && from.build_id == to.build_id {
        risks.push(Risk {
            code: "nondeterministic_build",
            object: None,
            path: None,
            reason:
                "the build id is the same but the bytes differ: a determinism bug or a hand edit"
                    .into(),
        });
    }
    let base = to.profile.as_deref() == Some("base");
    for o in objects {
        let key = &o.key;
        let mut flag = |code: &'static str, path: Option<&str>, reason: String| {
            risks.push(Risk {
                code,
                object: Some(key.clone()),
                path: path.map(String::from),
                reason,
            });
        };
        match &o.change {
            Change::Removed { .. } => {
                if DATA_KINDS.contains(&key.kind.as_str()) {
                    flag(
                        "data_loss",
                        None,
                        format!("{} removed: its data goes with it", key.kind),
                    );
                }
                if key.kind == "PodDisruptionBudget" {
                    flag("pdb_lowered", None, "PodDisruptionBudget removed".into());
                }
                if key.kind == "StorageClass" {
                    flag("storage_changed", None, "StorageClass removed".into());
                }
                if matches!(key.kind.as_str(), "HTTPRoute" | "Gateway") {
                    flag(
                        "public_endpoint_changed",
                        None,
                        format!(
                            "{} removed: users' URLs through it stop answering",
                            key.kind
                        ),
                    );
                }
            }
            Change::Added { .. } => {}
            Change::Changed { fields, .. } => {
                if key.kind == "StorageClass" {
                    flag(
                        "storage_changed",
                        fields.first().map(|f| f.path.as_str()),
                        "StorageClass changed: its parameters are immutable, the class must be recreated".into(),
                    );
                }
                if key.kind == "PersistentVolumeClaim" {
                    flag(
                        "storage_changed",
                        fields.first().map(|f| f.path.as_str()),
                        "PersistentVolumeClaim changed".into(),
                    );
                }
                for f in fields {
                    field_risks(key, f, base, &mut flag);
                }
            }
        }
    }
    risks.sort_by_key(|r| {
        ORDER
            .iter()
            .position(|c| *c == r.code)
            .unwrap_or(ORDER.len())
    });
    risks
}

fn field_risks(
    key: &ObjectKey,
    f: &FieldChange,
    base: bool,
    flag: &mut impl FnMut(&'static str, Option<&str>, String),
) {
    let path = f.path.as_str();
    let (old, new) = (f.old.as_ref(), f.new.as_ref());
    let last = last_segment(path);
    let lowered = matches!((number(old), number(new)), (Some(a), Some(b)) if b < a);
    let raised = matches!((number(old), number(new)), (Some(a), Some(b)) if b > a);
    let what = format!("{} → {}", show(old), show(new));

    // Replicas, HPA minimum, PDB.
    if key.kind == "HorizontalPodAutoscaler" && path == "spec.minReplicas" && lowered {
        flag(
            "hpa_min_lowered",
            Some(path),
            format!("HPA minimum lowered: {what}"),
        );
    } else if (last == "replicas" || has_segment(path, "replicas")) && lowered {
        flag(
            "replicas_lowered",
            Some(path),
            format!("replicas lowered: {what}"),
        );
    }
    if (key.kind == "PodDisruptionBudget" || has_segment(path, "podDisruptionBudget"))
        && ((last == "minAvailable" && lowered) || (last == "maxUnavailable" && raised))
    {
        flag(
            "pdb_lowered",
            Some(path),
            format!("disruption budget loosened: {last} {what}"),
        );
    }
    // Quorum services in base.
    let quorum_object = matches!(key.kind.as_str(), "MariaDB" | "RabbitmqCluster")
        || (matches!(key.kind.as_str(), "HelmRelease" | "Application")
            && QUORUM_RELEASES.contains(&key.name.as_str()));
    if base
        && quorum_object
        && has_segment(path, "replicas")
        && let Some(n) = number(new).filter(|n| *n < Profile::BASE_QUORUM as f64)
    {
        {
            flag(
                "quorum_below_3",
                Some(path),
                format!(
                    "{} runs {n} replicas: a quorum needs {} to survive the loss of one machine",
                    key.name,
                    Profile::BASE_QUORUM
                ),
            );
        }
    }
    if base
        && old.is_some()
        && (has_segment(path, "podAntiAffinity")
            || old.is_some_and(|v| contains_key(v, "podAntiAffinity")))
        && (new.is_none()
            || has_segment(path, "requiredDuringSchedulingIgnoredDuringExecution")
            || last == "topologyKey")
    {
        flag(
            "anti_affinity_weakened",
            Some(path),
            "pod anti-affinity weakened: replicas may share a machine".into(),
        );
    }
    // Versions.
    if let (Some(Value::String(a)), Some(Value::String(b))) = (old, new) {
        let chart_path = path == "spec.chart.spec.version"
            || (key.kind == "OCIRepository" && path == "spec.ref.tag")
            || (key.group == "argoproj.io" && last == "targetRevision");
        if chart_path && downgraded(a, b) {
            flag(
                "chart_downgraded",
                Some(path),
                format!("chart version downgraded: {what}"),
            );
        }
        if last == "image" || last.ends_with("Image") {
            if let (Some((ra, ta)), Some((rb, tb))) = (image_tag(a), image_tag(b))
                && ra == rb
                && downgraded(ta, tb)
            {
                flag(
                    "image_downgraded",
                    Some(path),
                    format!("image downgraded: {what}"),
                );
            }
        } else if (last == "tag" || has_segment(path, "tags")) && !chart_path && downgraded(a, b) {
            flag(
                "image_downgraded",
                Some(path),
                format!("image tag downgraded: {what}"),
            );
        }
    }
    // Storage.
    if matches!(
        last,
        "storageClassName" | "storageClass" | "storage_class" | "size" | "storage"
    ) && key.kind != "StorageClass"
    {
        flag(
            "storage_changed",
            Some(path),
            format!("storage changed: {last} {what}"),
        );
    }
    // Where users reach the cloud: a route's host name, the Gateway's address, the public
    // name a chart registers in Keystone's catalog, the issuer clients must trust.
    let public = (key.kind == "HTTPRoute" && has_segment(path, "hostnames"))
        || (key.kind == "Gateway" && path.contains("loadBalancerIPs"))
        || (has_segment(path, "host_fqdn_override") && has_segment(path, "public"))
        || (key.kind == "Certificate" && has_segment(path, "issuerRef"));
    if public && old.is_some() {
        flag(
            "public_endpoint_changed",
            Some(path),
            format!(
                "public endpoint changed ({}): {what}; DNS, clients and bookmarks must follow",
                key.kind
            ),
        );
    }
    // Secret references.
    let secretish = has_segment(path, "valuesFrom")
        || path
            .split(['.', '['])
            .any(|s| s.to_ascii_lowercase().contains("secret"))
        || [old, new]
            .into_iter()
            .flatten()
            .any(|v| v.as_str().is_some_and(|s| s.contains("<path:")));
    if secretish {
        flag(
            "secret_ref_changed",
            Some(path),
            format!("Secret reference changed: {what}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_images_compare_numerically() {
        assert!(downgraded("2024.2.10", "2024.2.9"));
        assert!(!downgraded("2024.2.9", "2024.2.10"));
        assert!(downgraded("v1.10.0", "v1.9.3"));
        assert!(!downgraded("latest", "stable"));
        assert_eq!(image_tag("reg:5000/a/b:1.2"), Some(("reg:5000/a/b", "1.2")));
        assert_eq!(image_tag("reg:5000/a/b"), None);
        assert_eq!(image_tag("a/b:1.2@sha256:ff"), Some(("a/b", "1.2")));
    }

    #[test]
    fn versions_compare_by_semver_precedence() {
        // Build metadata is no version: another chart commit of the same version is no
        // downgrade, either way.
        assert!(!downgraded("2025.1.19+ed289c1cd", "2025.1.19+0cd784591"));
        assert!(!downgraded("2025.1.19+0cd784591", "2025.1.19+ed289c1cd"));
        assert!(downgraded("2025.1.20+0cd784591", "2025.1.19+ed289c1cd"));
        // A release after its release candidate is an upgrade; the reverse a downgrade.
        assert!(!downgraded("2025.1.20-rc1", "2025.1.20"));
        assert!(downgraded("2025.1.20", "2025.1.20-rc1"));
        // openstack-helm's versions with two commits, and image tags with a suffix.
        assert!(downgraded(
            "2024.2.396+13651f45-628a320c",
            "2024.2.300+13651f45-628a320c"
        ));
        assert!(downgraded("2024.2-ubuntu_jammy", "2024.1-ubuntu_jammy"));
        assert!(!downgraded("2024.1-ubuntu_jammy", "2024.2-ubuntu_jammy"));
    }

    #[test]
    fn segments_and_last_segments() {
        assert_eq!(last_segment("spec.values.pod.replicas.api"), "api");
        assert_eq!(last_segment("metadata.labels[\"a.b\"]"), "a.b");
        assert_eq!(last_segment("spec.list[3]"), "3");
        assert!(has_segment("spec.values.pod.replicas.api", "replicas"));
        assert!(!has_segment("spec.maxReplicas", "replicas"));
    }
}
