//! The embedded catalog must say what `../shared/reference` says: secrets, scaling
//! deployments, databases, chart versions and repositories. A drift in either side
//! fails here instead of in a cluster.

use std::collections::BTreeSet;
use std::path::PathBuf;

use gcc::catalog::Catalog;
use serde_json::Value;

fn reference(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap()
}

fn component<'a>(reference: &'a Value, name: &str) -> &'a Value {
    reference["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the reference"))
}

#[test]
fn services_match_the_reference_catalog() {
    let r = reference("genestack-catalog.yaml");
    let c = Catalog::get();
    for (name, entry) in &c.services {
        let rc = component(&r, name);
        let want: BTreeSet<(String, String, String)> = rc["values_from_secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let secret = s["secret"].as_str().unwrap();
                (
                    s["values_path"].as_str().unwrap().to_string(),
                    secret
                        .strip_prefix("openstack/")
                        .expect("namespace openstack")
                        .to_string(),
                    s["key"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let have: BTreeSet<(String, String, String)> = entry
            .secrets
            .iter()
            .map(|s| (s.path.clone(), s.secret.clone(), s.key.clone()))
            .collect();
        assert_eq!(have, want, "{name}: secrets");
        let api: BTreeSet<&str> = rc["api_services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let have_api: BTreeSet<&str> = entry.api.iter().map(|a| a.deployment.as_str()).collect();
        assert_eq!(have_api, api, "{name}: scaling deployments");
        let deps = rc["depends_on"].as_array().unwrap();
        let db = deps
            .iter()
            .filter_map(|d| d.as_str())
            .find(|d| d.starts_with("mariadb-cluster: databases "));
        match db {
            Some(line) => {
                let list = line.split_whitespace().nth(2).unwrap();
                let want: Vec<String> = list.split(',').map(|d| d.replace('_', "-")).collect();
                let have: Vec<String> = entry.databases.iter().map(|d| d.name.clone()).collect();
                assert_eq!(have, want, "{name}: databases");
            }
            None => assert!(entry.databases.is_empty(), "{name}: databases"),
        }
        let vhost = deps
            .iter()
            .filter_map(|d| d.as_str())
            .any(|d| d.starts_with("rabbitmq-cluster:"));
        assert_eq!(entry.vhost, vhost, "{name}: vhost");
    }
}

#[test]
fn infrastructure_matches_the_reference_catalog() {
    let r = reference("genestack-catalog.yaml");
    let c = Catalog::get();
    for (name, comp) in &c.components {
        if name == "csi-driver-nfs" || name == "mariadb-operator-crds" {
            continue; // not in the reference: upstream README / the operator's CRD chart
        }
        let rc = component(&r, name);
        assert_eq!(
            rc["namespace"],
            comp.namespace.as_str(),
            "{name}: namespace"
        );
        assert_eq!(
            rc["chart_version"],
            comp.version.as_str(),
            "{name}: version"
        );
        let url = &c.repositories[&comp.repository];
        let want = rc["chart_repo"].as_str().unwrap().trim_end_matches('/');
        let have = format!("{url}/{}", comp.chart);
        assert!(
            want == url || want == have,
            "{name}: repository {want} vs {url}"
        );
    }
    assert_eq!(
        c.components["mariadb-operator-crds"].version,
        c.components["mariadb-operator"].version
    );
    for (name, remote) in &c.remote {
        let rc = component(&r, name);
        assert_eq!(rc["chart_repo"], remote.url.as_str(), "{name}");
    }
}

#[test]
fn chart_sets_match_the_reference_versions() {
    let r = reference("chart-versions.yaml");
    let c = Catalog::get();
    assert_eq!(c.chart_sets.len(), 3);
    for set in &c.chart_sets {
        let refset = &r["refs"][set.git_ref.as_str()];
        assert_eq!(refset["commit"], set.commit.as_str(), "{}", set.git_ref);
        for (svc, version) in &set.charts {
            assert_eq!(
                refset["charts"][svc.as_str()],
                version.as_str(),
                "{} {svc}",
                set.git_ref
            );
        }
        for svc in c.services.keys() {
            let in_ref = refset["charts"].get(svc.as_str()).is_some();
            assert_eq!(
                set.charts.contains_key(svc),
                in_ref,
                "{} {svc}",
                set.git_ref
            );
            let images: Vec<&str> = refset["service_images"]
                .get(svc.as_str())
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|v| v.as_str().unwrap()).collect())
                .unwrap_or_default();
            let have: Vec<&str> = set
                .images
                .get(svc)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default();
            assert_eq!(have, images, "{} {svc} images", set.git_ref);
        }
    }
}

#[test]
fn job_deps_are_the_pinned_charts_own_lists() {
    // Every `dependencies.static.<key>.jobs` list of a pinned chart that names the
    // service's db-init or rabbit-init Job is in the catalog exactly as the chart has it,
    // and the catalog holds no other: the plan rewrites these lists, so they are facts.
    let charts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/charts");
    let c = Catalog::get();
    let mut checked = 0;
    for (name, entry) in &c.services {
        let dirs: Vec<_> = std::fs::read_dir(&charts)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{name}@"))
            })
            .collect();
        assert!(!dirs.is_empty(), "no pinned chart for {name}");
        for dir in dirs {
            let path = dir.join(name).join("values.yaml");
            let values: Value =
                serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let init = [format!("{name}-db-init"), format!("{name}-rabbit-init")];
            let mut want = std::collections::BTreeMap::new();
            for (key, dep) in values["dependencies"]["static"].as_object().unwrap() {
                let jobs: Vec<String> = dep["jobs"]
                    .as_array()
                    .map(|a| a.iter().map(|j| j.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default();
                if jobs.iter().any(|j| init.contains(j)) {
                    want.insert(key.clone(), jobs);
                }
            }
            assert_eq!(entry.job_deps, want, "{name}: {}", path.display());
            checked += want.len();
        }
    }
    assert!(checked > 50, "only {checked} lists checked");
}
