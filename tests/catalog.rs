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

/// The values.yaml of the pinned chart of an OpenStack service (one per service in
/// ../shared/charts).
fn chart_values(name: &str) -> Value {
    let dir = chart_dir(name);
    serde_saphyr::from_str(&std::fs::read_to_string(dir.join(name).join("values.yaml")).unwrap())
        .unwrap()
}

/// The folder of the pinned chart of `name` in ../shared/charts (`<name>@<version>`).
fn chart_dir(name: &str) -> PathBuf {
    let charts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/charts");
    std::fs::read_dir(&charts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}@"))
        })
        .unwrap_or_else(|| panic!("no pinned chart for {name}"))
}

/// Whether the chart reads `path`: it is in its values.yaml up to the leaf's parent, or in
/// its oslo.config sections (`conf.<service>`, passed through whole).
fn chart_reads(values: &Value, service: &str, path: &str) -> bool {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.len() > 2 && parts[0] == "conf" && parts[1] == service {
        return true;
    }
    let mut at = values;
    for p in &parts[..parts.len() - 1] {
        match at.get(*p) {
            Some(v) => at = v,
            None => return false,
        }
    }
    true
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
        // Genestack wires a few paths the pinned chart has no value for (Helm ignores
        // them): those are left out, and only those.
        let values = chart_values(name);
        // Nor does gcc fill the credentials of an endpoint it runs nothing behind
        // (`endpoints_off`: gnocchi's MariaDB, which only its turned-off db_init Job uses).
        let off = |path: &str| {
            entry
                .endpoints_off
                .iter()
                .any(|e| path.starts_with(&format!("endpoints.{e}.")))
        };
        let want: BTreeSet<_> = want
            .into_iter()
            .filter(|(path, _, _)| chart_reads(&values, name, path) && !off(path))
            .collect();
        // gcc's additions, each a default password the reference leaves in place
        // (`gcc rehearse` reports them as gcc::rehearse::default_credential).
        let added = [(
            "octavia",
            "endpoints.oslo_db_persistence.auth.admin.password",
        )];
        let have: BTreeSet<(String, String, String)> = entry
            .secrets
            .iter()
            .filter(|s| !added.contains(&(name.as_str(), s.path.as_str())))
            .map(|s| (s.path.clone(), s.secret.clone(), s.key.clone()))
            .collect();
        assert_eq!(have, want, "{name}: secrets");
        let api: BTreeSet<&str> = rc["api_services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut have_api: BTreeSet<&str> =
            entry.api.iter().map(|a| a.deployment.as_str()).collect();
        // gcc's one addition: Genestack dropped neutron-server's HPA, leaving a single
        // replica in base (reference pitfall 3); gcc scales it like every API.
        have_api.remove("neutron-server");
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
        // A vhost only for a chart that talks to RabbitMQ at all.
        let vhost = vhost && values["endpoints"].get("oslo_messaging").is_some();
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
    // Every `dependencies.static.<key>.jobs` list of a pinned chart that names a Job gcc
    // turns off (db-init, rabbit-init, ...) is in the catalog exactly as the chart has it,
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
            let init = entry.jobs_off(name);
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

#[test]
fn service_deps_are_the_pinned_charts_own_lists() {
    // Every `dependencies.static.<key>.services` list that names an endpoint the catalog
    // turns off is in the catalog as the chart has it, and no other: the plan rewrites them.
    let mut checked = 0;
    for (name, entry) in &Catalog::get().services {
        let values = chart_values(name);
        let mut want = std::collections::BTreeMap::new();
        for (key, dep) in values["dependencies"]["static"].as_object().unwrap() {
            let services: Vec<gcc::catalog::ServiceDep> = dep["services"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|d| serde_json::from_value(d.clone()).unwrap())
                        .collect()
                })
                .unwrap_or_default();
            if services
                .iter()
                .any(|d| entry.endpoints_off.contains(&d.service))
            {
                want.insert(key.clone(), services);
            }
        }
        assert_eq!(entry.service_deps, want, "{name}");
        for e in &entry.endpoints_off {
            assert!(
                values["endpoints"][e].is_object(),
                "{name}: no endpoints.{e}"
            );
        }
        checked += want.len();
    }
    assert!(checked >= 9, "only {checked} lists checked");
}

#[test]
fn catalog_values_and_store_paths_are_the_pinned_charts() {
    // Every leaf of a service's catalog `values` and both paths of its NAS store are
    // values the pinned chart has (or oslo.config options it passes through whole).
    fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
        match v.as_object() {
            Some(m) if !m.is_empty() => {
                for (k, v) in m {
                    let p = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    leaves(v, p, out);
                }
            }
            _ if at.is_empty() => {}
            _ => out.push(at),
        }
    }
    let mut checked = 0;
    for (name, entry) in &Catalog::get().services {
        let values = chart_values(name);
        let mut paths = Vec::new();
        leaves(
            &Value::Object(entry.values.clone()),
            String::new(),
            &mut paths,
        );
        if let Some(p) = &entry.provider_networks {
            paths.extend([p.enabled.clone(), p.script.clone()]);
        }
        if let Some(store) = &entry.nas_store {
            // Either the chart's own claim (its class and size paths) or one gcc writes.
            assert_eq!(
                store.class.is_some() && store.size.is_some(),
                store.claim.is_none(),
                "{name}: nas_store needs `class` and `size`, or `claim`"
            );
            paths.extend(store.class.iter().chain(&store.size).cloned());
            // The `pod.mounts.<component>.<container>` entries the chart reads.
            paths.extend(store.claim.iter().flat_map(|c| c.mounts.clone()));
        }
        for st in &entry.stand_ins {
            paths.push(st.path.clone());
            // A Secret stand-in holds no secret.
            if st.kind == gcc::catalog::StandInKind::Secret {
                assert!(
                    st.data.values().all(String::is_empty),
                    "{name}: {}",
                    st.name
                );
            }
        }
        for p in paths {
            let mut at = Some(&values);
            for seg in p.split('.') {
                at = at.and_then(|v| v.get(seg));
            }
            // Below a path the chart passes through whole (catalog/rehearse.yaml free_form).
            let segs: Vec<&str> = p.split('.').collect();
            let passed_through = gcc::catalog::is_free_form(
                &gcc::catalog::Rehearsal::get().free_form_paths(name),
                &segs,
            );
            assert!(
                at.is_some() || passed_through,
                "{name}: {p} is not in the chart's values.yaml"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} paths checked");
}

#[test]
fn image_keys_are_the_pinned_charts_and_each_runs_one_image() {
    // Every key the catalog maps is an `images.tags` key of the pinned chart (Helm would
    // ignore another, and the chart's default image would run), no key runs two images, and
    // every image name is a fixed image or a Genestack service image that a chart set pins.
    let c = Catalog::get();
    let pinned: std::collections::BTreeSet<&str> = c
        .chart_sets
        .iter()
        .flat_map(|s| s.images.values().flatten())
        .filter_map(|i| i.split_once(':').map(|(n, _)| n))
        .collect();
    for (name, entry) in &c.services {
        let tags = chart_values(name)["images"]["tags"].clone();
        let mut seen = std::collections::BTreeSet::new();
        for (image, keys) in &entry.images {
            assert!(
                c.fixed_images.contains_key(image) || pinned.contains(image.as_str()),
                "{name}: image {image} is neither fixed nor pinned by any chart set"
            );
            for key in keys {
                assert!(
                    tags.get(key).is_some(),
                    "{name}: no images.tags.{key} in the chart"
                );
                assert!(
                    seen.insert(key),
                    "{name}: images.tags.{key} runs two images"
                );
            }
        }
        assert!(
            seen.contains(&"dep_check".to_string()),
            "{name}: dep_check runs the chart's default"
        );
    }
}

#[test]
fn manifests_off_are_the_pinned_charts_own_switches_and_all_of_them() {
    // Each switch the catalog turns off is a `manifests.*` key of the pinned chart (Helm
    // ignores any other name, and the object renders anyway), and every ingress, Helm test
    // pod and rabbit-init switch the chart has is turned off: gcc routes through Gateway
    // API, no controller runs tests, and the messaging-topology operator makes vhosts.
    let charts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/charts");
    let c = Catalog::get();
    let mut checked = 0;
    for (name, entry) in &c.services {
        for dir in std::fs::read_dir(&charts)
            .unwrap()
            .map(|e| e.unwrap().path())
        {
            if !dir
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}@"))
            {
                continue;
            }
            let path = dir.join(name).join("values.yaml");
            let values: Value =
                serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let switches = values["manifests"].as_object().unwrap();
            for m in &entry.manifests_off {
                assert!(
                    switches.contains_key(m),
                    "{name}: no manifests.{m} in {}",
                    path.display()
                );
            }
            for key in switches.keys() {
                let must = key.starts_with("ingress")
                    || key.starts_with("service_ingress")
                    || key == "secret_ingress_tls"
                    || (key.starts_with("pod_") && key.ends_with("test"))
                    || key == "job_rabbit_init";
                assert!(
                    !must || entry.manifests_off.contains(key),
                    "{name}: manifests.{key} stays on ({})",
                    path.display()
                );
            }
            checked += entry.manifests_off.len();
        }
    }
    assert!(checked > 80, "only {checked} switches checked");
    // Genestack keeps the chart's own db-init Job for designate and skyline only.
    let kept: Vec<&str> = c
        .services
        .iter()
        .filter(|(_, e)| !e.manifests_off.iter().any(|m| m == "job_db_init"))
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(kept, ["designate", "skyline"]);
}

#[test]
fn anti_affinity_is_set_only_where_the_chart_has_it() {
    // The chart's values.yaml has it, or a template gcc renders in the chart's place reads it.
    for (name, entry) in &Catalog::get().services {
        let has = chart_values(name)["pod"]["affinity"]["anti"].is_object()
            || entry.replace.iter().any(|r| {
                gcc::catalog::template(&r.template).is_some_and(|t| {
                    t.contains("helm-toolkit.snippets.kubernetes_pod_anti_affinity")
                })
            });
        assert_eq!(entry.anti_affinity, has, "{name}: pod.affinity.anti");
    }
}

#[test]
fn db_endpoints_are_every_oslo_db_endpoint_of_the_chart() {
    for (name, entry) in &Catalog::get().services {
        if entry.databases.is_empty() {
            continue;
        }
        let values = chart_values(name);
        let want: Vec<&String> = values["endpoints"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("oslo_db"))
            .collect();
        let mut have: Vec<&String> = entry.db_endpoints.iter().collect();
        have.sort();
        assert_eq!(have, want, "{name}: endpoints that point at MariaDB");
    }
}

#[test]
fn every_scaling_deployment_names_its_charts_replicas_key() {
    for (name, entry) in &Catalog::get().services {
        let values = chart_values(name);
        for a in &entry.api {
            assert!(
                values["pod"]["replicas"].get(&a.replicas).is_some(),
                "{name}: {} has no pod.replicas.{}",
                a.deployment,
                a.replicas
            );
        }
    }
}

#[test]
fn a_replaced_chart_template_is_the_charts_own_plus_only_the_lines_gcc_marks() {
    // gcc's copy of a chart template, rendered in its place, must not drift from the
    // chart it was copied from: without its header and the lines that end in the gcc
    // comment, it is the chart's file without its licence header and manifests switch.
    let charts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/charts");
    let mut checked = 0;
    for (name, entry) in &Catalog::get().services {
        for r in &entry.replace {
            let ours = gcc::catalog::template(&r.template)
                .unwrap_or_else(|| panic!("{name}: no template {}", r.template));
            let chart = std::fs::read_to_string(
                charts
                    .join(format!("{name}@{}", r.chart_version))
                    .join(name)
                    .join(&r.chart_file),
            )
            .unwrap_or_else(|e| panic!("{name} {}: {e}", r.chart_version));
            let gate = format!("{{{{- if .Values.manifests.{} }}}}", r.manifest);
            let theirs: Vec<&str> = chart
                .split_once("*/}}\n")
                .expect("licence header")
                .1
                .lines()
                .skip_while(|l| l.trim().is_empty())
                .collect();
            assert_eq!(theirs.first(), Some(&gate.as_str()), "{name}");
            assert_eq!(theirs.last(), Some(&"{{- end }}"), "{name}");
            let theirs = &theirs[1..theirs.len() - 1];
            let body = ours.split_once("*/}}\n").expect("gcc's header").1;
            let added = body
                .lines()
                .filter(|l| l.ends_with("{{/* gcc */}}"))
                .count();
            let kept: Vec<&str> = body
                .lines()
                .filter(|l| !l.ends_with("{{/* gcc */}}"))
                .collect();
            assert_eq!(
                kept, theirs,
                "{name}: {} drifted from the chart",
                r.template
            );
            assert!(added > 0, "{name}: a copy that adds nothing");
            assert!(
                ours.contains(&r.chart_version),
                "{name}: header names the version"
            );
            // It stands in for the chart's template only where the chart pins that version.
            assert!(
                Catalog::get()
                    .chart_sets
                    .iter()
                    .any(|set| set.charts.get(name).is_some_and(|v| *v == r.chart_version)),
                "{name}: {} is pinned by no chart set",
                r.chart_version
            );
            checked += 1;
        }
    }
    assert!(checked >= 1);
}

#[test]
fn planned_values_of_infrastructure_are_the_pinned_charts() {
    // Every path an infrastructure component's `planned` facts write is a value of its
    // pinned chart (Helm would ignore another: the HA proof's members would not spread), and
    // anti-affinity goes only to charts that render helm-toolkit's.
    let charts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/charts");
    let mut checked = 0;
    for (name, c) in &Catalog::get().components {
        if c.planned.is_empty() && c.anti_affinity.is_none() {
            continue;
        }
        let dir = charts
            .join(format!("{}@{}", c.chart, c.version))
            .join(&c.chart);
        let values: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(dir.join("values.yaml")).unwrap())
                .unwrap();
        for p in &c.planned {
            let mut at = Some(&values);
            for seg in p.path.split('.') {
                at = at.and_then(|v| v.get(seg));
            }
            assert!(
                at.is_some(),
                "{name}: {} is not in the chart's values.yaml",
                p.path
            );
            checked += 1;
        }
        if c.anti_affinity.is_some() {
            assert!(
                values["pod"]["affinity"]["anti"]["type"]["default"].is_string(),
                "{name}: the chart has no pod.affinity.anti"
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} paths checked");
}

#[test]
fn public_apis_are_the_pinned_charts_endpoints_and_the_ones_keystone_lists() {
    for (name, entry) in &Catalog::get().services {
        let values = chart_values(name);
        for p in &entry.public {
            let e = &values["endpoints"][&p.endpoint];
            assert!(
                e["port"].get(&p.port).is_some(),
                "{name}: the chart has no endpoints.{}.port.{}",
                p.endpoint,
                p.port
            );
            // The backend Service is the endpoint's cluster-local host name.
            let short = e["hosts"]
                .get("internal")
                .or_else(|| e["hosts"].get("default"))
                .and_then(Value::as_str);
            assert_eq!(
                short,
                Some(p.backend.service.as_str()),
                "{name}: {}",
                p.endpoint
            );
        }
        // Every type the chart registers in Keystone (helm-toolkit's ks-endpoints Job)
        // is published, or its catalog entry would point into the cluster.
        let dir = chart_dir(name);
        let job = dir.join(name).join("templates/job-ks-endpoints.yaml");
        let Ok(job) = std::fs::read_to_string(&job) else {
            continue;
        };
        let off = entry.manifests_off.iter().any(|m| m == "job_ks_endpoints");
        for line in job
            .lines()
            .filter(|l| l.contains("\"serviceTypes\" ( tuple"))
        {
            let types = line
                .split("( tuple")
                .nth(1)
                .unwrap()
                .split(')')
                .next()
                .unwrap();
            for t in types
                .split_whitespace()
                .map(|t| t.trim_matches('"').replace('-', "_"))
            {
                assert!(
                    off || entry.public.iter().any(|p| p.endpoint == t),
                    "{name} registers {t} in Keystone but publishes no endpoint for it"
                );
            }
        }
    }
}
