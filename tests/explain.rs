//! `gcc explain`: a value from each layer (catalog, profile, inventory, environment,
//! plan) names the file and line that set it, and that line really holds it; every value
//! of every release in the bundled trees has a trail that ends in the value written.

mod common;

use common::{example_tree, gcc, repo, text};
use serde_json::Value;

/// `gcc explain --format json` of one field in `root`.
fn explain(root: &std::path::Path, env: &str, object: &str, field: &str) -> Value {
    let o = gcc(root, &["explain", env, object, field, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The origins of the one field asked for.
fn origins(e: &Value) -> &Vec<Value> {
    let fields = e["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 1, "{e}");
    fields[0]["origins"].as_array().unwrap()
}

/// The text of line `line` of `file` (relative to `root`, or gcc's own catalog).
fn line_of(root: &std::path::Path, file: &str, line: u64) -> String {
    let path = if file.starts_with("catalog/") {
        repo().join(file)
    } else {
        root.join(file)
    };
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .nth(usize::try_from(line).unwrap() - 1)
        .unwrap_or_default()
        .to_string()
}

/// Asserts origin `o` is in `layer` and its first position is a line holding `holds`.
fn at_line(root: &std::path::Path, o: &Value, layer: &str, file: &str, holds: &str) {
    assert_eq!(o["layer"], layer, "{o}");
    let at = &o["at"][0];
    assert_eq!(at["file"], file, "{o}");
    let line = line_of(root, file, at["line"].as_u64().unwrap());
    assert!(
        line.contains(holds),
        "{file}:{}: `{line}` lacks `{holds}`",
        at["line"]
    );
}

#[test]
fn a_value_from_each_layer_names_its_line() {
    let root = repo();
    let r = root.as_path();
    // Catalog: glance's store type, one of its Genestack values.
    let e = explain(
        r,
        "prod",
        "HelmRelease/openstack/glance",
        "spec.values.storage",
    );
    at_line(
        r,
        &origins(&e)[0],
        "catalog",
        "catalog/services.yaml",
        "storage: pvc",
    );
    // Profile: the API's starting replicas in base.
    let e = explain(
        r,
        "prod",
        "HelmRelease/openstack/keystone",
        "spec.values.pod.replicas.api",
    );
    at_line(
        r,
        &origins(&e)[0],
        "profile",
        "environments/prod.yaml",
        "profile: base",
    );
    // Inventory: neutron's flat network, from the provider subnet.
    let e = explain(
        r,
        "prod",
        "HelmRelease/openstack/neutron",
        "spec.values.conf.plugins.ml2_conf.ml2_type_flat.flat_networks",
    );
    at_line(
        r,
        &origins(&e)[0],
        "inventory",
        "inventory/laundry-lab/laundry-lab.yaml",
        "name: public",
    );
    // Environment: nova's CPU allocation ratio, at its line and column.
    let e = explain(
        r,
        "prod",
        "HelmRelease/openstack/nova",
        "spec.values.conf.nova.DEFAULT.cpu_allocation_ratio",
    );
    let o = &origins(&e)[0];
    at_line(
        r,
        o,
        "environment",
        "environments/prod.yaml",
        "cpu_allocation_ratio: 4.0",
    );
    let line = line_of(
        r,
        "environments/prod.yaml",
        o["at"][0]["line"].as_u64().unwrap(),
    );
    let col = usize::try_from(o["at"][0]["column"].as_u64().unwrap()).unwrap();
    assert_eq!(&line[col - 1..], "4.0", "the column points at the value");
    // Plan: memcached's replicas, the HA proof's members: the profile and the three
    // control-plane nodes it placed them on.
    let e = explain(
        r,
        "prod",
        "HelmRelease/openstack/nova",
        "spec.values.endpoints.oslo_cache.statefulset.replicas",
    );
    let o = &origins(&e)[0];
    assert_eq!(o["value"], 3);
    at_line(r, o, "plan", "environments/prod.yaml", "profile: base");
    let nodes: Vec<String> = o["at"].as_array().unwrap()[1..]
        .iter()
        .map(|p| line_of(r, p["file"].as_str().unwrap(), p["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        nodes,
        [
            "  - name: k8s-ctl-01",
            "  - name: k8s-ctl-02",
            "  - name: k8s-ctl-03"
        ]
    );
    // The chart version: the catalog's chart set, at the service's own line.
    let e = explain(
        r,
        "prod",
        "HelmRelease/openstack/nova",
        "spec.chart.spec.version",
    );
    at_line(
        r,
        &origins(&e)[0],
        "catalog",
        "catalog/releases.yaml",
        "nova:",
    );
}

#[test]
fn an_environment_value_names_the_layers_it_overrode() {
    let dir = example_tree();
    let env = dir.path().join("environments/prod.yaml");
    let text_before = std::fs::read_to_string(&env).unwrap();
    let edited = text_before.replace(
        "  keystone: {}\n",
        "  keystone:\n    values:\n      pod:\n        replicas:\n          api: 5\n",
    );
    assert_ne!(text_before, edited);
    std::fs::write(&env, edited).unwrap();
    let e = explain(
        dir.path(),
        "prod",
        "HelmRelease/openstack/keystone",
        "spec.values.pod.replicas.api",
    );
    let o = origins(&e);
    assert_eq!(e["fields"][0]["value"], 5);
    at_line(
        dir.path(),
        &o[0],
        "environment",
        "environments/prod.yaml",
        "api: 5",
    );
    assert_eq!(o[1]["layer"], "profile", "{e}");
    assert_eq!(o[1]["value"], 2, "the profile's floor, overridden");
    // Text: the whole trail, newest first.
    let t = text(
        &gcc(
            dir.path(),
            &[
                "explain",
                "prod",
                "HelmRelease/openstack/keystone",
                "spec.values.pod.replicas.api",
            ],
        )
        .stdout,
    );
    assert!(t.contains("spec.values.pod.replicas.api = 5"), "{t}");
    assert!(t.contains("set by   environment"), "{t}");
    assert!(
        t.contains("overrode profile") && t.contains("(was 2)"),
        "{t}"
    );
    assert!(t.contains("at environments/prod.yaml:"), "{t}");
}

#[test]
fn every_value_of_every_release_has_a_trail_ending_in_it() {
    for env in ["prod", "aio", "argocd"] {
        let traced = match gcc::explain::traced(&gcc::source::WorkDir::new(repo()), env) {
            Ok(Ok(t)) => t,
            _ => panic!("{env} does not build"),
        };
        let releases: Vec<String> = traced
            .objects()
            .filter(|k| k.kind == "HelmRelease" || k.kind == "Application")
            .map(|k| format!("{}/{}/{}", k.kind, k.namespace, k.name))
            .collect();
        assert!(releases.len() > 10, "{env}: {releases:?}");
        let mut checked = 0;
        for r in &releases {
            let Ok(e) = traced.explain(r, None) else {
                panic!("{env}: {r} not found");
            };
            for f in &e.fields {
                assert!(!f.origins.is_empty(), "{env}: {r} {}", f.path);
                let values = f.path.starts_with("spec.values.")
                    || f.path.starts_with("spec.source.helm.valuesObject.");
                let placeholder = f.value.as_str().is_some_and(|s| s.starts_with("<path:"));
                if values && !placeholder {
                    assert_eq!(
                        f.origins[0].value, f.value,
                        "{env}: {r} {}: the latest layer's value is not the value written",
                        f.path
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 200, "{env}: only {checked} values checked");
    }
}

#[test]
fn objects_by_file_and_unknown_objects_and_fields() {
    let r = repo();
    let by_file = gcc(
        &r,
        &[
            "explain",
            "prod",
            "5-services/openstack/helmrelease-keystone.yaml",
            "spec.values.pod.replicas.api",
        ],
    );
    assert_eq!(by_file.status.code(), Some(0), "{}", text(&by_file.stderr));
    assert!(text(&by_file.stdout).starts_with("HelmRelease openstack/keystone ("));
    // Without a field: one line per leaf.
    let all = text(&gcc(&r, &["explain", "prod", "helmrelease/openstack/keystone"]).stdout);
    assert!(all.lines().count() > 50, "{all}");
    assert!(
        all.contains("spec.values.pod.replicas.api = 2  ← profile (environments/prod.yaml:4:10)"),
        "{all}"
    );
    // Unknown object: exit 2, with the objects of that name.
    let o = gcc(&r, &["explain", "prod", "Deployment/openstack/keystone"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("no object `Deployment/openstack/keystone`"),
        "{err}"
    );
    assert!(err.contains("HelmRelease/openstack/keystone"), "{err}");
    let o = gcc(
        &r,
        &[
            "explain",
            "prod",
            "HelmRelease/openstack/keystone",
            "spec.nope",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("has no field `spec.nope`"));
    // An environment that does not build: its diagnostics, exit 1.
    let dir = example_tree();
    let inv = dir.path().join("inventory/laundry-lab/laundry-lab.yaml");
    let moved = std::fs::read_to_string(&inv).unwrap().replace(
        "  - name: k8s-ctl-03\n    hypervisor: ovirt-03",
        "  - name: k8s-ctl-03\n    hypervisor: ovirt-01",
    );
    std::fs::write(&inv, moved).unwrap();
    let o = gcc(
        dir.path(),
        &["explain", "prod", "HelmRelease/openstack/keystone"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("gcc::plan::ha_unprovable"));
}

#[test]
fn a_diff_names_the_input_line_behind_each_changed_value() {
    let dir = example_tree();
    let root = dir.path();
    common::git(root, &["init", "-q", "-b", "main"]);
    common::git(root, &["add", "-A"]);
    common::git(root, &["commit", "-q", "-m", "lab"]);
    let env = root.join("environments/prod.yaml");
    let before = std::fs::read_to_string(&env).unwrap();
    let after = before.replace("cpu_allocation_ratio: 4.0", "cpu_allocation_ratio: 2.0");
    assert_ne!(before, after);
    std::fs::write(&env, after).unwrap();
    let line = before
        .lines()
        .position(|l| l.contains("cpu_allocation_ratio"))
        .unwrap()
        + 1;
    let want = format!("environments/prod.yaml:{line}:35 (environment)");
    let diff = |format: &str| {
        let o = gcc(
            root,
            &[
                "diff", "prod", "--from", "src:HEAD", "--to", "work", "--format", format,
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    let t = diff("text");
    assert!(
        t.contains(&format!(
            "spec.values.conf.nova.DEFAULT.cpu_allocation_ratio: 4.0 → 2.0  ← {want}"
        )),
        "{t}"
    );
    let md = diff("markdown");
    assert!(md.contains("| field | from | to | set at |"), "{md}");
    assert!(md.contains(&format!("`{want}`")), "{md}");
    let j: Value = serde_json::from_str(&diff("json")).unwrap();
    let nova = j["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "nova" && o["kind"] == "HelmRelease")
        .unwrap();
    assert_eq!(nova["fields"][0]["origin"], want.as_str(), "{nova}");
    // The line named holds the new value.
    let text_after = std::fs::read_to_string(&env).unwrap();
    assert!(
        text_after
            .lines()
            .nth(line - 1)
            .unwrap()
            .contains("cpu_allocation_ratio: 2.0")
    );
}

#[test]
fn plan_decisions_in_gccs_own_objects_name_their_inputs() {
    let r = repo();
    let r = r.as_path();
    // nova's autoscaler: the environment's `autoscale: { min: 3, max: 9 }`.
    let e = explain(
        r,
        "prod",
        "HorizontalPodAutoscaler/openstack/nova-api-osapi",
        "spec.minReplicas",
    );
    at_line(
        r,
        &origins(&e)[0],
        "environment",
        "environments/prod.yaml",
        "autoscale: { min: 3, max: 9 }",
    );
    // keystone's: the profile's floor.
    let e = explain(
        r,
        "prod",
        "HorizontalPodAutoscaler/openstack/keystone-api",
        "spec.minReplicas",
    );
    at_line(
        r,
        &origins(&e)[0],
        "profile",
        "environments/prod.yaml",
        "profile: base",
    );
    // MariaDB's members: the HA proof, on the nodes it placed them.
    let e = explain(
        r,
        "prod",
        "MariaDB/openstack/mariadb-cluster",
        "spec.replicas",
    );
    let o = &origins(&e)[0];
    assert_eq!(o["layer"], "plan");
    assert_eq!(o["at"].as_array().unwrap().len(), 4, "{o}");
    // A node's failure domain: its hypervisor, and that hypervisor's machine.
    let e = explain(
        r,
        "prod",
        "Node/k8s-ctl-02",
        "metadata.labels.topology.gcc.cloud/machine",
    );
    let o = &origins(&e)[0];
    assert_eq!(e["fields"][0]["value"], "hw-02");
    let file = "inventory/laundry-lab/laundry-lab.yaml";
    let lines: Vec<String> = o["at"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| line_of(r, file, p["line"].as_u64().unwrap()))
        .collect();
    assert!(lines[0].contains("hypervisor: ovirt-02"), "{lines:?}");
    assert!(
        lines[1].contains("name: ovirt-02, hardware: hw-02"),
        "{lines:?}"
    );
    // Every decided field of every such object, on all three trees: its latest origin's
    // value is the value written.
    for env in ["prod", "aio", "argocd"] {
        let Ok(Ok(traced)) = gcc::explain::traced(&gcc::source::WorkDir::new(repo()), env) else {
            panic!("{env} does not build");
        };
        let kinds = [
            "HorizontalPodAutoscaler",
            "MariaDB",
            "RabbitmqCluster",
            "postgresql",
            "Node",
        ];
        let objects: Vec<String> = traced
            .objects()
            .filter(|k| kinds.contains(&k.kind.as_str()))
            .map(|k| match k.namespace.as_str() {
                "" => format!("{}/{}", k.kind, k.name),
                ns => format!("{}/{ns}/{}", k.kind, k.name),
            })
            .collect();
        let mut decided = 0;
        for o in &objects {
            let e = traced.explain(o, None).ok().unwrap();
            for f in &e.fields {
                let node = o.starts_with("Node/");
                let node_field = [
                    "metadata.labels.",
                    "metadata.annotations.ovn.openstack.org/",
                ]
                .iter()
                .any(|p| f.path.starts_with(p));
                let wanted = node && node_field
                    || [
                        "spec.replicas",
                        "spec.minReplicas",
                        "spec.maxReplicas",
                        "spec.numberOfInstances",
                    ]
                    .contains(&f.path.as_str());
                if wanted {
                    assert_eq!(f.origins[0].value, f.value, "{env}: {o} {}", f.path);
                    decided += 1;
                }
            }
        }
        assert!(decided > 5, "{env}: {decided}");
    }
}

/// A generated site that builds: `machines` machines with one hypervisor each, `nodes`
/// nodes (at most one per machine, so `base` proves) with every role, one subnet.
fn generated(machines: usize, nodes: usize, base: bool) -> gcc::source::MemSource {
    let mut inv = String::from("site: gen\nhardware:\n");
    for m in 0..machines {
        inv += &format!("  - {{ name: hw-{m}, rack: r{} }}\n", m % 2);
    }
    inv += "hypervisors:\n";
    for m in 0..machines {
        inv += &format!("  - {{ name: hv-{m}, hardware: hw-{m} }}\n");
    }
    inv += "nas:\n  - name: nas-01\n    address: 10.20.0.5\n    exports:\n      - { name: images, path: /images, capacity: 1Ti, purpose: [images] }\n";
    inv += "subnets:\n  - name: mgmt\n    cidr: 10.20.0.0/16\n    gateway: 10.20.0.1\n    vip_pools:\n      - { name: primary, start: 10.20.1.1, end: 10.20.1.50 }\nnodes:\n";
    for n in 0..nodes {
        inv += &format!(
            "  - name: node-{n}\n    hypervisor: hv-{n}\n    roles: [control-plane, worker, openstack-control, compute, network]\n    interfaces:\n      - {{ subnet: mgmt, address: 10.20.0.{} }}\n",
            10 + n
        );
    }
    let profile = if base { "base" } else { "aio" };
    let env = format!(
        "inventory: gen\nprofile: {profile}\nrelease: \"2024.1\"\nservices:\n  keystone: {{}}\n  nova: {{ autoscale: {{ max: 7 }} }}\n  glance: {{}}\n"
    );
    gcc::source::MemSource::new()
        .with("environments/gen.yaml", env)
        .with("inventory/gen.yaml", inv)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8))]

    /// Every leaf of every emitted object has an origin; every Helm value's latest layer
    /// gave the value written.
    #[test]
    fn every_leaf_of_every_emitted_object_has_an_origin(
        machines in 1usize..6,
        nodes in 1usize..6,
    ) {
        let nodes = nodes.min(machines);
        let base = nodes >= 3;
        let src = generated(machines, nodes, base);
        let traced = match gcc::explain::traced(&src, "gen") {
            Ok(Ok(t)) => t,
            Ok(Err(gcc::explain::Refusal::Invalid(d, _))) => {
                panic!("{machines} machines, {nodes} nodes: {:?}", d.iter().map(|d| d.message.clone()).collect::<Vec<_>>())
            }
            _ => panic!("does not build"),
        };
        let keys: Vec<String> = traced
            .objects()
            .map(|k| match k.namespace.as_str() {
                "" => format!("{}/{}", k.kind, k.name),
                ns => format!("{}/{ns}/{}", k.kind, k.name),
            })
            .collect();
        let mut values = 0;
        for key in &keys {
            let e = traced.explain(key, None).ok().unwrap();
            for f in &e.fields {
                proptest::prop_assert!(!f.origins.is_empty(), "{key} {}", f.path);
                let placeholder = f.value.as_str().is_some_and(|s| s.starts_with("<path:"));
                if f.path.starts_with("spec.values.") && !placeholder {
                    proptest::prop_assert_eq!(&f.origins[0].value, &f.value, "{} {}", key, f.path);
                    values += 1;
                }
            }
        }
        proptest::prop_assert!(values > 100, "{values}");
    }
}
