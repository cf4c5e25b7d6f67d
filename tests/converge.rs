//! A staged tree converges on an empty cluster: the apply order simulated, with no cluster.
//!
//! Flux applies each stage's directory as one Kustomization, after the stages it depends
//! on are ready. kustomize-controller dry-runs a whole stage first, so an object of a
//! custom resource kind can only be applied once an earlier stage has installed its CRD
//! (the catalog says which release installs which API groups, and tests/rehearse.rs proves
//! it against the charts); a Helm release can only wait for releases applied no later than
//! itself; an object's namespace must exist by then.

use std::collections::{BTreeMap, BTreeSet};

use gcc::catalog::Catalog;
use gcc::compile::compile;
use gcc::source::WorkDir;
use serde_json::Value;

mod common;
use common::{repo, text};

/// API groups every cluster serves, and those Flux's own installation brings.
const BUILT_IN: [&str; 12] = [
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "storage.k8s.io",
    "rbac.authorization.k8s.io",
    "networking.k8s.io",
    "apiextensions.k8s.io",
    "source.toolkit.fluxcd.io",
    "helm.toolkit.fluxcd.io",
    "kustomize.toolkit.fluxcd.io",
];

/// One Flux Kustomization: its name, what it waits for, and what it applies.
struct Stage {
    name: String,
    depends_on: Vec<String>,
    objects: Vec<Value>,
    remote: Vec<String>,
}

fn yaml(b: &[u8]) -> Value {
    serde_saphyr::from_str(&text(b)).unwrap()
}

fn group(o: &Value) -> &str {
    let v = o["apiVersion"].as_str().unwrap_or("");
    v.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The stages of a built tree, as its `flux/` Kustomizations say.
fn stages(files: &BTreeMap<String, Vec<u8>>) -> Vec<Stage> {
    let flux: Vec<Value> = common::reach(files, "flux")
        .0
        .iter()
        .map(|p| yaml(&files[p]))
        .collect();
    flux.iter()
        .filter(|o| o["kind"] == "Kustomization")
        .map(|k| {
            let path = k["spec"]["path"].as_str().unwrap().trim_start_matches("./");
            let (paths, remote) = common::reach(files, path);
            let objects = paths.iter().map(|p| yaml(&files[p])).collect();
            assert_eq!(k["spec"]["sourceRef"]["kind"], "GitRepository");
            Stage {
                name: k["metadata"]["name"].as_str().unwrap().to_string(),
                depends_on: k["spec"]["dependsOn"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| d["name"].as_str().unwrap().to_string())
                    .collect(),
                objects,
                remote,
            }
        })
        .collect()
}

/// Applies the stages in an order Flux could (each after what it depends on), and
/// returns every reason the cluster would not converge.
fn converge(stages: &[Stage]) -> Vec<String> {
    let c = Catalog::get();
    let mut problems = Vec::new();
    let names: BTreeSet<&str> = stages.iter().map(|s| s.name.as_str()).collect();
    for s in stages {
        for d in &s.depends_on {
            if !names.contains(d.as_str()) {
                problems.push(format!(
                    "{} depends on {d}, which no Kustomization is",
                    s.name
                ));
            }
        }
    }
    // Order: a stage once everything it depends on is applied; what is left is a cycle.
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut order: Vec<&Stage> = Vec::new();
    while order.len() < stages.len() {
        let Some(next) = stages.iter().find(|s| {
            !done.contains(s.name.as_str())
                && s.depends_on
                    .iter()
                    .all(|d| done.contains(d.as_str()) || !names.contains(d.as_str()))
        }) else {
            let left: Vec<&str> = stages
                .iter()
                .map(|s| s.name.as_str())
                .filter(|n| !done.contains(n))
                .collect();
            problems.push(format!("a dependency cycle among {left:?}"));
            break;
        };
        done.insert(&next.name);
        order.push(next);
    }
    let mut groups: BTreeSet<String> = BUILT_IN.iter().map(|g| g.to_string()).collect();
    let mut namespaces: BTreeSet<String> = ["default", "kube-system", "flux-system"]
        .map(String::from)
        .into();
    let mut releases: BTreeSet<String> = BTreeSet::new();
    for s in order {
        // What this stage installs is there only once it is ready, for the stages after.
        let mut installs = BTreeSet::new();
        let mut releases_here = BTreeSet::new();
        for o in &s.objects {
            match o["kind"].as_str().unwrap_or("") {
                "Namespace" => {
                    namespaces.insert(o["metadata"]["name"].as_str().unwrap().to_string());
                }
                "HelmRelease" => {
                    let name = o["metadata"]["name"].as_str().unwrap();
                    releases_here.insert(name.to_string());
                    if let Some(comp) = c.components.get(name) {
                        installs.extend(comp.crds.iter().cloned());
                    }
                }
                _ => {}
            }
        }
        for url in &s.remote {
            let r = c.remote.values().find(|r| &r.url == url);
            let Some(r) = r else {
                problems.push(format!("{}: {url} is in no catalog entry", s.name));
                continue;
            };
            for g in &r.uses {
                if !groups.contains(g) {
                    problems.push(format!(
                        "{}: {url} holds {g} objects before their CRDs",
                        s.name
                    ));
                }
            }
            installs.extend(r.crds.iter().cloned());
        }
        for o in &s.objects {
            let what = format!(
                "{}: {} {}",
                s.name,
                o["kind"].as_str().unwrap_or("?"),
                o["metadata"]["name"].as_str().unwrap_or("?")
            );
            if !groups.contains(group(o)) {
                problems.push(format!("{what}: no earlier stage installs {}", group(o)));
            }
            if let Some(ns) = o["metadata"]["namespace"].as_str()
                && !namespaces.contains(ns)
            {
                problems.push(format!("{what}: namespace {ns} does not exist yet"));
            }
            for d in o["spec"]["dependsOn"].as_array().into_iter().flatten() {
                let d = d["name"].as_str().unwrap_or("");
                if !releases.contains(d) && !releases_here.contains(d) {
                    problems.push(format!("{what} depends on {d}, applied in no stage so far"));
                }
            }
        }
        groups.extend(installs);
        releases.extend(releases_here);
    }
    problems
}

fn build(env: &str) -> BTreeMap<String, Vec<u8>> {
    let c = compile(&WorkDir::new(repo()), env).expect("compiles");
    c.build.expect("builds").rendered.files
}

#[test]
fn the_flux_examples_converge_stage_by_stage() {
    for env in ["prod", "aio"] {
        let files = build(env);
        let stages = stages(&files);
        assert_eq!(stages.len(), 6, "{env}: five stages and nodes");
        assert_eq!(converge(&stages), Vec::<String>::new(), "{env}");
        // Every object file of the tree is applied by exactly one Kustomization.
        let applied: usize = stages.iter().map(|s| s.objects.len()).sum();
        let objects = files
            .keys()
            .filter(|p| p.ends_with(".yaml") && !p.ends_with("kustomization.yaml"))
            .filter(|p| !p.starts_with("flux/") && !p.starts_with("site/"))
            .count();
        assert_eq!(applied, objects, "{env}");
    }
}

#[test]
fn the_tree_applied_as_one_does_not_converge() {
    // Yesterday's layout: every object in one Kustomization. kustomize-controller would
    // dry-run the MariaDB before the chart that installs its CRD, and a stage cannot wait
    // for itself.
    let files = build("prod");
    let all = Stage {
        name: "cloud".into(),
        depends_on: Vec::new(),
        objects: stages(&files).into_iter().flat_map(|s| s.objects).collect(),
        remote: Vec::new(),
    };
    let problems = converge(&[all]);
    assert!(
        problems
            .iter()
            .any(|p| p
                .contains("MariaDB mariadb-cluster: no earlier stage installs k8s.mariadb.com")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("IPAddressPool primary: no earlier stage installs metallb.io")),
        "{problems:#?}"
    );
}

#[test]
fn a_dependency_cycle_or_a_missing_stage_is_reported() {
    let files = build("aio");
    let mut s = stages(&files);
    let named = |s: &[Stage], n: &str| s.iter().position(|s| s.name == n).unwrap();
    // The first stage now waits for the last: nothing can start.
    let first = named(&s, "aio-infrastructure");
    s[first].depends_on.push("aio-services".into());
    let problems = converge(&s);
    assert!(
        problems.iter().any(|p| p.starts_with("a dependency cycle")),
        "{problems:#?}"
    );
    let mut s = stages(&files);
    let clusters = named(&s, "aio-clusters");
    s[clusters].depends_on = vec!["aio-nowhere".into()];
    let problems = converge(&s);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("depends on aio-nowhere")),
        "{problems:#?}"
    );
}

#[test]
fn operators_that_need_cert_manager_come_after_it() {
    // The topology operator's manifests hold cert-manager objects: in the same stage as the
    // cert-manager release they would not apply.
    let files = build("prod");
    let mut s = stages(&files);
    let ops = s
        .iter()
        .position(|s| !s.remote.is_empty())
        .expect("an operators stage");
    let remote = std::mem::take(&mut s[ops].remote);
    let infra = s
        .iter()
        .position(|s| s.name == "prod-infrastructure")
        .unwrap();
    s[infra].remote = remote;
    let problems = converge(&s);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("holds cert-manager.io objects before their CRDs")),
        "{problems:#?}"
    );
}

/// Runs `bootstrap/install.sh` of a built tree with stand-ins for kubectl and helm that
/// record their arguments (and helm's stdin); returns the log and the values helm got.
fn run_bootstrap(env: &str) -> (BTreeMap<String, Vec<u8>>, Vec<String>, String) {
    let files = build(env);
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    for (path, bytes) in &files {
        let p = tree.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = tmp.path().join("log");
    let values = tmp.path().join("values");
    for (tool, extra) in [("kubectl", ""), ("helm", "cat > \"$VALUES\"\n")] {
        let p = bin.join(tool);
        std::fs::write(
            &p,
            format!("#!/bin/sh\necho \"{tool} $*\" >> \"$LOG\"\n{extra}"),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let o = std::process::Command::new("sh")
        .arg(tree.join("bootstrap/install.sh"))
        .current_dir(tmp.path())
        .env("PATH", path)
        .env("LOG", &log)
        .env("VALUES", &values)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let log = std::fs::read_to_string(&log).unwrap();
    let values = std::fs::read_to_string(&values).unwrap_or_default();
    (files, log.lines().map(String::from).collect(), values)
}

#[test]
fn the_bootstrap_script_labels_untaints_and_installs_the_cni_as_its_release_will() {
    let (files, log, values) = run_bootstrap("prod");
    // Labels first (OVN central schedules on kube-ovn/role=master), then the control-plane
    // nodes with OpenStack roles, then the CNI.
    assert_eq!(log[0], "kubectl apply -k nodes");
    for n in ["k8s-ctl-01", "k8s-ctl-02", "k8s-ctl-03"] {
        assert!(
            log.contains(&format!(
                "kubectl taint nodes {n} node-role.kubernetes.io/control-plane:NoSchedule-"
            )),
            "{log:#?}"
        );
    }
    let helm = log.last().unwrap();
    assert!(
        helm.starts_with("helm upgrade --install kube-ovn kube-ovn --repo https://kubeovn.github.io/kube-ovn --version v1.15.4 --namespace kube-system"),
        "{helm}"
    );
    // The values are exactly the HelmRelease's: Flux adopts the release unchanged.
    let got: Value = serde_json::from_str(&values).unwrap();
    let hr = yaml(&files["1-infrastructure/kube-system/helmrelease-kube-ovn.yaml"]);
    assert_eq!(got, hr["spec"]["values"]);
    assert_eq!(got["ipv4"]["POD_CIDR"], "10.16.0.0/16");
    // And the pinned chart renders with them (real Helm).
    let chart = repo().join("../shared/charts/kube-ovn@v1.15.4/kube-ovn");
    let mut helm = std::process::Command::new("helm")
        .args(["template", "kube-ovn"])
        .arg(&chart)
        .args(["--namespace", "kube-system", "--values", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("helm is installed (.ci/run installs it)");
    use std::io::Write;
    helm.stdin
        .take()
        .unwrap()
        .write_all(values.as_bytes())
        .unwrap();
    let o = helm.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("10.16.0.0/16"));
}

#[test]
fn the_cluster_networks_of_the_inventory_reach_kube_ovn() {
    // An inventory that moves the pod network: kube-ovn's release and the script follow.
    let read = |p: &str| std::fs::read(repo().join(p)).unwrap();
    let inv = text(&read("inventory/aio-lab.yaml"));
    let inv = inv.replacen("site:", "cluster:\n  pod_cidr: 10.244.0.0/16\nsite:", 1);
    let src = gcc::source::MemSource::new()
        .with("environments/aio.yaml", read("environments/aio.yaml"))
        .with("inventory/aio-lab.yaml", inv.into_bytes());
    let c = compile(&src, "aio").unwrap();
    let files = c
        .build
        .unwrap_or_else(|| panic!("{:?}", c.diagnostics))
        .rendered
        .files;
    let hr = yaml(&files["1-infrastructure/kube-system/helmrelease-kube-ovn.yaml"]);
    assert_eq!(hr["spec"]["values"]["ipv4"]["POD_CIDR"], "10.244.0.0/16");
    assert!(text(&files["bootstrap/install.sh"]).contains("--pod-network-cidr 10.244.0.0/16"));
}
