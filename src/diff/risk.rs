//! Risk flags: the changes a reviewer must not miss, each with a stable code and a
//! one-line reason. Rules judge what the plan says a number means ([`meaning`]: replicas,
//! quorum members, autoscaler bounds), versions by semver, and object kinds, so they
//! apply the same to Flux and Argo CD trees; a field the plan did not write (a hand edit)
//! is judged by its name.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::Catalog;
use crate::model::Profile;
use serde::Serialize;
use serde_json::Value;

use super::meaning::{self, Meaning};
use super::{Change, FieldChange, ObjectDiff, ObjectKey, SideInfo};

/// One risky change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Risk {
    /// Stable code: `replicas_lowered`, `hpa_min_lowered`, `hpa_max_lowered`, `pdb_lowered`,
    /// `pods_replaced`,
    /// `quorum_below_3`, `anti_affinity_weakened`, `chart_downgraded`,
    /// `image_downgraded`, `release_skew`, `storage_changed`, `data_loss`, `secret_ref_changed`,
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

/// The order risks are listed in: data and availability first.
const ORDER: [&str; 15] = [
    "nondeterministic_build",
    "data_loss",
    "quorum_below_3",
    "anti_affinity_weakened",
    "replicas_lowered",
    "hpa_min_lowered",
    "hpa_max_lowered",
    "pdb_lowered",
    "pods_replaced",
    "storage_changed",
    "public_endpoint_changed",
    "chart_downgraded",
    "image_downgraded",
    "release_skew",
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

/// Assesses every differing object; `to`/`from` give the profiles, `to_files` the new
/// tree (for what a release holds beyond its changed fields), `bytes_differ` whether any
/// non-lock file changed.
pub(crate) fn assess(
    objects: &[ObjectDiff],
    to: &SideInfo,
    from: &SideInfo,
    to_files: &BTreeMap<String, Vec<u8>>,
    bytes_differ: bool,
) -> Vec<Risk> {
    let mut risks = release_skew(objects, to_files);
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
                // A changed pod template replaces every pod of the workload.
                // Named by what changed in the containers first, a template hash last.
                let mut pod: Vec<&FieldChange> = fields
                    .iter()
                    .filter(|f| f.path.starts_with("spec.template."))
                    .collect();
                pod.sort_by_key(|f| f.path.starts_with("spec.template.metadata."));
                if matches!(
                    key.kind.as_str(),
                    "Deployment" | "StatefulSet" | "DaemonSet"
                ) && let Some(first) = pod.first()
                {
                    let more = match pod.len() {
                        1 => String::new(),
                        2 => " and 1 more pod field".to_string(),
                        n => format!(" and {} more pod fields", n - 1),
                    };
                    flag(
                        "pods_replaced",
                        Some(first.path.as_str()),
                        format!(
                            "its pods are replaced: {} {} → {}{more}",
                            last_segment(&first.path),
                            show(first.old.as_ref()),
                            show(first.new.as_ref())
                        ),
                    );
                }
                for f in fields {
                    field_risks(key, f, base, &mut flag);
                }
            }
        }
    }
    sort(&mut risks);
    risks
}

/// Sorts risks by importance (stable: equal codes keep their order).
pub(crate) fn sort(risks: &mut [Risk]) {
    risks.sort_by_key(|r| {
        ORDER
            .iter()
            .position(|c| *c == r.code)
            .unwrap_or(ORDER.len())
    });
}

/// Changed releases of OpenStack services whose chart and images no chart set of the
/// catalog pairs: their images name one OpenStack release, and the chart version, which
/// the catalog knows, comes in its sets only with images of another (nova's chart moved
/// to 2025.1's set while its images stay 2024.1). Where the catalog knows no chart for
/// the images' release, or not the chart, nothing is judged.
fn release_skew(objects: &[ObjectDiff], to_files: &BTreeMap<String, Vec<u8>>) -> Vec<Risk> {
    let changed: BTreeMap<&str, &ObjectKey> = objects
        .iter()
        .filter(|o| !matches!(o.change, Change::Removed { .. }))
        .filter(|o| matches!(o.key.kind.as_str(), "HelmRelease" | "Application"))
        .filter_map(|o| Some((o.file_to.as_deref()?, &o.key)))
        .collect();
    if changed.is_empty() {
        return Vec::new();
    }
    let catalog = Catalog::get();
    // (chart version, image release) as each chart set pairs them, per service.
    let paired = |service: &str| -> BTreeSet<(&str, &str)> {
        catalog
            .chart_sets
            .iter()
            .filter_map(|set| Some((set.charts.get(service)?, set.images.get(service)?)))
            .flat_map(|(chart, images)| {
                images
                    .iter()
                    .filter_map(|i| catalog.tag_release(i.split_once(':')?.1))
                    .map(move |r| (chart.as_str(), r))
            })
            .collect()
    };
    // Only the changed releases' files and those that may hold the OCIRepositories their
    // chartRefs name are read (a superset of what `releases` looks at for them).
    let wanted: BTreeMap<String, Vec<u8>> = to_files
        .iter()
        .filter(|(path, bytes)| {
            changed.contains_key(path.as_str())
                || std::str::from_utf8(bytes).is_ok_and(|t| t.contains("OCIRepository"))
        })
        .map(|(path, bytes)| (path.clone(), bytes.clone()))
        .collect();
    let (releases, _) = crate::rehearse::Tree::new(&wanted).releases();
    let mut risks = Vec::new();
    for r in releases {
        let Some(key) = changed.get(r.file.as_str()) else {
            continue;
        };
        let image_releases: BTreeSet<&str> = r
            .values
            .pointer("/images/tags")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|tags| tags.values())
            .filter_map(Value::as_str)
            .filter_map(|image| catalog.tag_release(image_tag(image)?.1))
            .collect();
        let [release] = image_releases.into_iter().collect::<Vec<_>>()[..] else {
            continue;
        };
        let pairs = paired(&r.name);
        let with_chart: BTreeSet<&str> = pairs
            .iter()
            .filter(|(c, _)| *c == r.version)
            .map(|(_, rel)| *rel)
            .collect();
        // Judged only where the catalog knows both: the chart, and a chart for the images.
        let Some(paired_chart) = pairs
            .iter()
            .filter(|(_, rel)| *rel == release)
            .map(|(c, _)| *c)
            .next_back()
        else {
            continue;
        };
        if with_chart.is_empty() || with_chart.contains(release) {
            continue;
        }
        risks.push(Risk {
            code: "release_skew",
            object: Some((*key).clone()),
            path: Some(r.controller.version_field().into()),
            reason: format!(
                "{}'s chart {} comes with {} images, but its images are {release}'s; the \
                 catalog pairs {release} images with chart {paired_chart}",
                r.name,
                r.version,
                with_chart.into_iter().collect::<Vec<_>>().join(" or ")
            ),
        });
    }
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

    // Replicas, quorum members and autoscaler bounds, by what the plan says the number
    // means; a number the plan did not write (a hand edit, a chart gcc does not know) is
    // judged by its name.
    let meaning = meaning::meaning(key, path);
    let (a, b) = match meaning {
        Some(_) => (meaning::count(old), meaning::count(new)),
        None => (number(old), number(new)),
    };
    let lowered = matches!((a, b), (Some(a), Some(b)) if b < a);
    let raised = matches!((a, b), (Some(a), Some(b)) if b > a);
    let what = format!("{} → {}", show(old), show(new));
    match meaning {
        Some(Meaning::HpaMin) if lowered => flag(
            "hpa_min_lowered",
            Some(path),
            format!("HPA minimum lowered: {what}"),
        ),
        Some(Meaning::HpaMax) if lowered => flag(
            "hpa_max_lowered",
            Some(path),
            format!("HPA maximum lowered: {what}; fewer pods to take a peak"),
        ),
        Some(Meaning::Replicas | Meaning::Quorum) if lowered => flag(
            "replicas_lowered",
            Some(path),
            format!("replicas lowered: {what}"),
        ),
        None if (last == "replicas" || has_segment(path, "replicas")) && lowered => flag(
            "replicas_lowered",
            Some(path),
            format!("replicas lowered: {what}"),
        ),
        _ => {}
    }
    if base
        && meaning == Some(Meaning::Quorum)
        && let Some(n) = b.filter(|n| *n < Profile::BASE_QUORUM as f64)
    {
        flag(
            "quorum_below_3",
            Some(path),
            format!(
                "{} keeps {n} quorum members: a quorum needs {} to survive the loss of one machine",
                key.name,
                Profile::BASE_QUORUM
            ),
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
        let chart_path = crate::rehearse::Controller::of(&key.group, &key.kind)
            .is_some_and(|c| path == c.version_field())
            || (key.kind == "OCIRepository" && path == "spec.ref.tag")
            // An Application of several sources (`spec.sources[i].targetRevision`).
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
