//! Stage 5, render: objects → canonical YAML files, `kustomization.yaml`, hashes, the
//! lock file and the build id. Writing the tree is `ops::outdir`.
//!
//! Canonical YAML: `apiVersion`, `kind`, `metadata` (`name`, `namespace`, `labels`,
//! `annotations`, then the rest), `spec`, then the remaining keys; every other map
//! sorted by key; LF line ends; one trailing newline. The emitter is serde-saphyr, which
//! quotes every string a YAML 1.1 reader (kubectl) would misread.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};

pub use crate::lock::build_id;
pub(crate) use crate::lock::{GCC_BUILD, GCC_VERSION, LOCK_FILE, sha256_hex};

use crate::emit::{Emitted, Section};
use crate::plan::{Plan, Stage};

/// A rendered build: every file's bytes, by path relative to the output directory.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Files, including `gcc.lock.json`.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The build id.
    pub build_id: String,
    /// Objects by kind.
    pub counts: BTreeMap<String, usize>,
}

struct Ordered<'a> {
    value: &'a Value,
    first: &'static [&'static str],
}

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Value::Object(m) = self.value else {
            return self.value.serialize(s);
        };
        let mut map = s.serialize_map(Some(m.len()))?;
        for k in self.first {
            if let Some(v) = m.get(*k) {
                if *k == "metadata" {
                    map.serialize_entry(
                        k,
                        &Ordered {
                            value: v,
                            first: &["name", "namespace", "labels", "annotations"],
                        },
                    )?;
                } else {
                    map.serialize_entry(k, v)?;
                }
            }
        }
        for (k, v) in m {
            if !self.first.contains(&k.as_str()) {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

/// Canonical YAML of one object: gcc's own writer ([`crate::canonical`]) where it knows
/// every piece, serde-saphyr otherwise; debug builds check they agree.
pub(crate) fn to_yaml(obj: &Value) -> Result<String, String> {
    match crate::canonical::write(obj) {
        Some(text) => {
            debug_assert_eq!(Ok(&text), saphyr_yaml(obj).as_ref(), "canonical writer");
            Ok(text)
        }
        None => saphyr_yaml(obj),
    }
}

/// Canonical YAML of one object, written by serde-saphyr.
pub(crate) fn saphyr_yaml(obj: &Value) -> Result<String, String> {
    let ordered = Ordered {
        value: obj,
        first: &["apiVersion", "kind", "metadata", "spec"],
    };
    let mut text = serde_saphyr::to_string(&ordered).map_err(|e| e.to_string())?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// True when `s` is a lowercase DNS-1123 subdomain (what a file name stem may be).
fn is_safe_stem(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// True for the files of a tree that hold one Kubernetes object each: YAML, except
/// kustomizations, the lock and the lab's own files under `site/` (Ansible variables).
pub(crate) fn holds_objects(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path != LOCK_FILE
        && name != "kustomization.yaml"
        && name.ends_with(".yaml")
        && !crate::emit::in_site(path)
}

/// Checks a relative output path: `/`-separated safe segments, a `.yaml`/`.json` file (or
/// a `.sh` script: `bootstrap/install.sh`; or an `.svg` picture: `site/placement.svg`).
pub fn validate_output_path(path: &str) -> Result<(), String> {
    let segments: Vec<&str> = path.split('/').collect();
    let Some((file, dirs)) = segments.split_last() else {
        return Err(format!("empty output path `{path}`"));
    };
    let stem = file
        .strip_suffix(".yaml")
        .or_else(|| file.strip_suffix(".json"))
        .or_else(|| file.strip_suffix(".sh"))
        .or_else(|| file.strip_suffix(".svg"))
        .ok_or_else(|| format!("output file `{path}` is not .yaml, .json, .sh or .svg"))?;
    if path.starts_with('/') || path.contains('\\') {
        return Err(format!("output path `{path}` is absolute"));
    }
    for seg in dirs.iter().chain(std::iter::once(&stem)) {
        if *seg == ".." || *seg == "." || !is_safe_stem(seg) {
            return Err(format!(
                "output path `{path}` has an unsafe segment `{seg}`: names must be lowercase DNS-1123"
            ));
        }
    }
    Ok(())
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or("")
}

/// The group of an apiVersion (`""` for core).
pub(crate) fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
}

/// Renders the emitted objects of `plan` with the digests of its inputs.
pub fn render(
    plan: &Plan,
    emitted: &Emitted,
    inputs: &BTreeMap<String, String>,
) -> Result<Rendered, String> {
    // File stem per object: `<kind>-<name>`; objects that would share a file get their
    // API group's vendor label in front (`mariadb-user-nova`, `rabbitmq-user-nova`).
    let dir_of = |section: Section, o: &Value| -> String {
        let ns = match str_at(o, &["metadata", "namespace"]) {
            "" => "cluster",
            ns => ns,
        };
        match section {
            Section::Nodes => "nodes".into(),
            Section::Flux => "flux".into(),
            Section::Bootstrap => "bootstrap".into(),
            Section::Root => ns.to_string(),
            Section::Stage(stage) => format!("{}/{ns}", stage.dir()),
        }
    };
    let stem = |o: &Value| {
        format!(
            "{}-{}",
            str_at(o, &["kind"]).to_ascii_lowercase(),
            str_at(o, &["metadata", "name"])
        )
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (section, o) in &emitted.objects {
        *seen
            .entry(format!("{}/{}", dir_of(*section, o), stem(o)))
            .or_default() += 1;
    }
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (section, o) in &emitted.objects {
        let dir = dir_of(*section, o);
        let mut s = stem(o);
        if seen[&format!("{dir}/{s}")] > 1 {
            let group = api_group(str_at(o, &["apiVersion"]));
            let labels: Vec<&str> = group.split('.').collect();
            let vendor = if labels.len() >= 2 {
                labels[labels.len() - 2]
            } else {
                labels[0]
            };
            s = format!("{vendor}-{s}");
        }
        let path = format!("{dir}/{s}.yaml");
        validate_output_path(&path)?;
        let text = to_yaml(o)?;
        if files.insert(path.clone(), text.into_bytes()).is_some() {
            return Err(format!("two objects render to `{path}`"));
        }
        *counts.entry(str_at(o, &["kind"]).to_string()).or_default() += 1;
    }
    let kustomization = |resources: Vec<Value>| {
        to_yaml(&json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
        }))
    };
    // The files below `dir/`, relative to it.
    let under = |files: &BTreeMap<String, Vec<u8>>, dir: &str| -> Vec<Value> {
        files
            .keys()
            .filter(|p| p.ends_with(".yaml"))
            .filter_map(|p| p.strip_prefix(&format!("{dir}/")).map(|p| json!(p)))
            .collect()
    };
    for (path, text) in &emitted.files {
        validate_output_path(path)?;
        if files
            .insert(path.clone(), text.clone().into_bytes())
            .is_some()
        {
            return Err(format!("two files render to `{path}`"));
        }
    }
    let mut kustomizations: Vec<(String, Vec<Value>)> = Vec::new();
    if emitted.staged {
        // One kustomization per stage (the remote manifests in the operators' stage), one
        // for flux/, and a root that is the Flux plumbing: applying it applies the rest.
        for stage in Stage::ALL {
            let mut resources = under(&files, &stage.dir());
            if stage == Stage::Operators {
                resources.extend(emitted.remote.iter().map(|u| json!(u)));
            }
            kustomizations.push((stage.dir(), resources));
        }
        kustomizations.push(("flux".into(), under(&files, "flux")));
        kustomizations.push((String::new(), vec![json!("flux")]));
    } else {
        let root = files
            .keys()
            .filter(|p| holds_objects(p))
            .filter(|p| !p.starts_with("nodes/") && !p.starts_with("bootstrap/"))
            .map(|p| json!(p))
            .collect();
        kustomizations.push((String::new(), root));
        let bootstrap = under(&files, "bootstrap");
        if !bootstrap.is_empty() {
            kustomizations.push(("bootstrap".into(), bootstrap));
        }
        if !emitted.remote.is_empty() {
            let remote = emitted.remote.iter().map(|u| json!(u)).collect();
            kustomizations.push(("operators".into(), remote));
        }
    }
    let nodes = under(&files, "nodes");
    if !nodes.is_empty() {
        kustomizations.push(("nodes".into(), nodes));
    }
    for (dir, resources) in kustomizations {
        let path = if dir.is_empty() {
            "kustomization.yaml".to_string()
        } else {
            format!("{dir}/kustomization.yaml")
        };
        files.insert(path, kustomization(resources)?.into_bytes());
    }

    let hashes: BTreeMap<String, String> = files
        .iter()
        .map(|(p, b)| (p.clone(), sha256_hex(b)))
        .collect();
    let build_id = build_id(hashes.iter().map(|(p, h)| (p.as_str(), h.as_str())));
    let lock = crate::lock::Lock::of(plan, &build_id, inputs, &hashes);
    files.insert(LOCK_FILE.into(), lock.to_text()?.into_bytes());
    Ok(Rendered {
        files,
        build_id,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_order_and_quoting() {
        let o = json!({
            "spec": {"b": "no", "a": "on", "c": "0777"},
            "metadata": {"labels": {"x": "y"}, "name": "n", "namespace": "ns"},
            "kind": "K", "apiVersion": "v1", "data": {"k": "1_000"}
        });
        let y = to_yaml(&o).unwrap();
        assert_eq!(
            y,
            "apiVersion: v1\nkind: K\nmetadata:\n  name: \"n\"\n  namespace: ns\n  labels:\n    x: \"y\"\nspec:\n  a: \"on\"\n  b: \"no\"\n  c: \"0777\"\ndata:\n  k: \"1_000\"\n"
        );
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for bad in [
            "../x.yaml",
            "a/../b.yaml",
            "/etc/x.yaml",
            "A/b.yaml",
            "a/b",
            "a//b.yaml",
            "a/-b.yaml",
            "a\\b.yaml",
            "a/b c.yaml",
        ] {
            assert!(validate_output_path(bad).is_err(), "{bad}");
        }
        for good in [
            "cluster/namespace-openstack.yaml",
            "openstack/user-nova.yaml",
            "gcc.lock.json",
        ] {
            assert!(validate_output_path(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn build_id_ignores_order_and_the_lock() {
        let a = build_id([("b", "2"), ("a", "1"), (LOCK_FILE, "x")]);
        let b = build_id([("a", "1"), ("b", "2")]);
        assert_eq!(a, b);
        assert_ne!(a, build_id([("a", "1"), ("b", "3")]));
        assert_eq!(
            build_id([]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
