//! End-to-end tests of `gcc build`: golden trees, upstream schemas, kustomize,
//! determinism, the HA proof, and every plan-stage refusal.
//!
//! Golden trees: `golden/<env>/` holds the full expected output. To rewrite them after
//! an intended change: `GCC_UPDATE_GOLDEN=1 cargo test --test build golden`, which
//! rewrites them and still fails, printing what changed; review and commit, then rerun.
//! The lock's `gcc_build` (the fingerprint of the binary, which changes with every source
//! edit) is the one byte range the goldens hold as [`GOLDEN_BUILD`] instead.

mod common;
use common::{at, gcc, read_tree, repo, text};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gcc::compile::compile;
use gcc::source::{MemSource, WorkDir};

fn shared_schemas() -> PathBuf {
    repo().join("../shared/schemas")
}

/// Builds an example environment from the repository, in memory.
fn build_example(env: &str) -> BTreeMap<String, Vec<u8>> {
    let c = compile(&WorkDir::new(repo()), env).expect("compiles");
    assert!(c.build.is_some(), "{env}: {:?}", c.diagnostics);
    c.build.unwrap().rendered.files
}

fn write_tree(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    gcc::ops::outdir::write_tree(dir, files).unwrap();
}

/// What golden locks hold as their `gcc_build`.
const GOLDEN_BUILD: &str = "<the fingerprint of the gcc that built it>";

/// `files` with the lock's build fingerprint replaced by [`GOLDEN_BUILD`]: the tree as
/// every build of this source would write it, but for the one field that names the build.
fn as_golden(mut files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    let lock = files.get_mut("gcc.lock.json").expect("a lock");
    let mut parsed = gcc::lock::Lock::parse(lock).unwrap();
    assert_eq!(parsed.gcc_build, gcc::lock::GCC_BUILD);
    parsed.gcc_build = GOLDEN_BUILD.into();
    *lock = parsed.to_text().unwrap().into_bytes();
    files
}

#[test]
fn golden_trees_match_byte_for_byte() {
    let update = std::env::var_os("GCC_UPDATE_GOLDEN").is_some();
    let mut report = String::new();
    for env in ["prod", "aio", "argocd"] {
        let built = as_golden(build_example(env));
        let golden_dir = repo().join("golden").join(env);
        let golden = read_tree(&golden_dir);
        for (path, bytes) in &built {
            match golden.get(path) {
                None => report += &format!("{env}: new file {path}\n"),
                Some(g) if g != bytes => {
                    let diff = similar::TextDiff::from_lines(text(g), text(bytes))
                        .unified_diff()
                        .context_radius(3)
                        .header(&format!("golden/{env}/{path}"), "built")
                        .to_string();
                    report += &diff;
                }
                Some(_) => {}
            }
        }
        for path in golden.keys().filter(|p| !built.contains_key(*p)) {
            report += &format!("{env}: file {path} is no longer built\n");
        }
        if update && built != golden {
            write_tree(&golden_dir, &built);
        }
    }
    // Rewriting never passes: the test fails with the change it wrote, so an update is
    // always seen, reviewed (`git diff golden/`) and committed before the run is green.
    assert!(
        report.is_empty(),
        "{}:\n{report}",
        if update {
            "golden/ rewritten as below; review `git diff golden/`, commit, and rerun"
        } else {
            "build differs from golden/ (if intended, rerun with GCC_UPDATE_GOLDEN=1 and review)"
        }
    );
}

#[test]
fn every_object_validates_against_upstream_schemas() {
    for env in ["prod", "aio", "argocd"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join(env);
        write_tree(&out, &build_example(env));
        let report =
            gcc::validate::validate_tree(&out, &gcc::validate::Store::Dir(shared_schemas()))
                .unwrap();
        assert!(
            report.violations.is_empty(),
            "{env}: {:#?}",
            report.violations
        );
        // Only Node and PersistentVolumeClaim (gnocchi's store, in the environments that
        // run gnocchi) have no schema in ../shared/schemas; everything else is checked.
        let missing: Vec<&String> = report.unvalidated.keys().collect();
        let want = if env == "aio" {
            vec!["v1/Node"]
        } else {
            vec!["v1/Node", "v1/PersistentVolumeClaim"]
        };
        assert_eq!(missing, want, "{env}");
        assert!(
            report.validated > 50,
            "{env}: only {} objects",
            report.validated
        );
        let target_kinds = if env == "argocd" {
            [
                "argoproj.io/v1alpha1/Application",
                "argoproj.io/v1alpha1/AppProject",
            ]
        } else {
            [
                "helm.toolkit.fluxcd.io/v2/HelmRelease",
                "source.toolkit.fluxcd.io/v1/HelmRepository",
            ]
        };
        for kind in [
            "k8s.mariadb.com/v1alpha1/MariaDB",
            "rabbitmq.com/v1beta1/Vhost",
        ]
        .into_iter()
        .chain(target_kinds)
        {
            assert!(
                report.schemas.contains_key(kind),
                "{env}: {kind} not validated"
            );
        }
    }
}

#[test]
fn validate_catches_a_broken_object() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("prod");
    let mut files = build_example("prod");
    let nova = at(&files, "openstack/helmrelease-nova.yaml");
    let cluster = at(&files, "openstack/mariadb-mariadb-cluster.yaml");
    let hr = files.get_mut(&nova).unwrap();
    let broken = text(hr).replace("  interval: 1h\n", "  interval: 1h\n  intervl: 2h\n");
    *hr = broken.into_bytes();
    let mdb = files.get_mut(&cluster).unwrap();
    *mdb = text(mdb)
        .replace("replicas: 3", "replicas: three")
        .into_bytes();
    write_tree(&out, &files);
    let report =
        gcc::validate::validate_tree(&out, &gcc::validate::Store::Dir(shared_schemas())).unwrap();
    let files: Vec<&str> = report.violations.iter().map(|v| v.file.as_str()).collect();
    assert!(files.contains(&nova.as_str()), "{:#?}", report.violations);
    assert!(
        files.contains(&cluster.as_str()),
        "{:#?}",
        report.violations
    );
    let o = gcc(
        &repo(),
        &[
            "validate",
            out.to_str().unwrap(),
            "--schemas",
            shared_schemas().to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
}

fn kustomize(dir: &Path) -> Output {
    Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl is installed (.ci/run installs it)")
}

#[test]
fn kubectl_kustomize_builds_the_trees() {
    // Every directory with a kustomization builds offline (there is no network here) into
    // exactly the object files it reaches, directly or through directories it lists. The
    // one exception is the RabbitMQ operators' kustomization, which holds only the URLs of
    // their release manifests (nothing of gcc's can be reached through it).
    for env in ["prod", "aio", "argocd"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join(env);
        let files = build_example(env);
        write_tree(&out, &files);
        let mut built = 0;
        for k in files.keys().filter(|p| p.ends_with("kustomization.yaml")) {
            let dir = k
                .strip_suffix("kustomization.yaml")
                .unwrap()
                .trim_end_matches('/');
            if text(&files[k]).contains("://") {
                assert!(dir.ends_with("operators"), "{env}/{dir}: a remote resource");
                continue;
            }
            let o = kustomize(&out.join(dir));
            assert!(o.status.success(), "{env}/{dir}: {}", text(&o.stderr));
            let docs = text(&o.stdout).matches("\nkind: ").count();
            assert_eq!(docs, common::reach(&files, dir).0.len(), "{env}/{dir}");
            built += 1;
        }
        assert!(built >= 2, "{env}: only {built} kustomizations");
    }
}

#[test]
fn no_secret_value_appears_in_the_output() {
    // Every secret values path of every service is absent from the inline values and
    // present as a valuesFrom entry instead.
    let files = build_example("prod");
    let nova = text(&files[&at(&files, "openstack/helmrelease-nova.yaml")]);
    assert!(nova.contains("targetPath: endpoints.oslo_db.auth.nova.password"));
    assert!(
        !nova.contains("\n      auth:"),
        "auth block leaked into values:\n{nova}"
    );
    for (path, bytes) in &files {
        let t = text(bytes);
        assert!(
            !t.to_lowercase().contains("password:"),
            "{path} has a password field"
        );
    }
}

#[test]
fn builds_are_deterministic_across_order_and_locale() {
    for env in ["prod", "argocd"] {
        deterministic(env);
    }
}

fn deterministic(env_name: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    for (root, reorder) in [(&a, false), (&b, true)] {
        std::fs::create_dir_all(root.join("environments")).unwrap();
        std::fs::create_dir_all(root.join("inventory/laundry-lab")).unwrap();
        let env_file = format!("environments/{env_name}.yaml");
        let env = std::fs::read_to_string(repo().join(&env_file)).unwrap();
        let inv_file = "inventory/laundry-lab/laundry-lab.yaml";
        let inv = std::fs::read_to_string(repo().join(inv_file)).unwrap();
        let (env, inv) = if reorder {
            (reverse_services(&env), reverse_nodes(&inv))
        } else {
            (env, inv)
        };
        std::fs::write(root.join(&env_file), env).unwrap();
        std::fs::write(root.join(inv_file), inv).unwrap();
        let machines = "inventory/laundry-lab/machines.yaml";
        std::fs::copy(repo().join(machines), root.join(machines)).unwrap();
    }
    let run = |root: &Path, tz: &str, lang: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_gcc"))
            .arg("-C")
            .arg(root)
            .args(["build", env_name])
            .env("TZ", tz)
            .env("LANG", lang)
            .env("LC_ALL", lang)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        read_tree(&root.join("out").join(env_name))
    };
    let x = run(&a, "UTC", "C");
    let y = run(&b, "Pacific/Chatham", "de_DE.UTF-8");
    assert_eq!(x.len(), y.len());
    for (path, bytes) in &x {
        if path == "gcc.lock.json" {
            continue; // its input digests differ: the inputs' bytes do
        }
        assert!(y[path] == *bytes, "{path} differs");
    }
    let lock = |t: &BTreeMap<String, Vec<u8>>| {
        let mut v: serde_json::Value = serde_json::from_slice(&t["gcc.lock.json"]).unwrap();
        v.as_object_mut().unwrap().remove("inputs");
        v
    };
    assert_eq!(lock(&x), lock(&y));
}

/// The environment with its services in reverse order (one service per line).
fn reverse_services(env: &str) -> String {
    let (head, rest) = env.split_once("services:\n").unwrap();
    let (block, tail) = rest.split_once("\nstorage:").unwrap();
    let mut entries: Vec<String> = Vec::new();
    for line in block.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") || entries.is_empty() {
            entries.push(String::new());
        }
        let e = entries.last_mut().unwrap();
        e.push_str(line);
        e.push('\n');
    }
    entries.reverse();
    format!("{head}services:\n{}\nstorage:{tail}", entries.concat())
}

/// The inventory with its nodes in reverse order (nodes is the last section).
fn reverse_nodes(inv: &str) -> String {
    let (head, rest) = inv.split_once("nodes:\n").unwrap();
    let mut entries: Vec<String> = Vec::new();
    for line in rest.lines() {
        if line.starts_with("  - ") {
            entries.push(String::new());
        }
        if let Some(e) = entries.last_mut() {
            e.push_str(line);
            e.push('\n');
        }
    }
    entries.reverse();
    format!("{head}nodes:\n{}", entries.concat())
}

/// A tree with the given environment and inventory texts.
fn source(env_name: &str, env: &str, inv_name: &str, inv: &str) -> MemSource {
    MemSource::new()
        .with(
            format!("environments/{env_name}.yaml"),
            env.as_bytes().to_vec(),
        )
        .with(
            format!("inventory/{inv_name}.yaml"),
            inv.as_bytes().to_vec(),
        )
}

fn example(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap()
}

fn codes(src: &MemSource, env: &str) -> Vec<String> {
    let c = compile(src, env).unwrap();
    assert!(c.build.is_none() || c.diagnostics.iter().all(|d| !d.is_error()));
    c.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.to_string())
        .collect()
}

#[test]
fn three_controllers_on_two_hypervisors_fail_base_and_build_in_aio() {
    let inv = example("inventory/laundry-lab/laundry-lab.yaml").replace(
        "  - name: k8s-ctl-03\n    hypervisor: ovirt-03",
        "  - name: k8s-ctl-03\n    hypervisor: ovirt-02",
    );
    let prod = example("environments/prod.yaml");
    let src = source("prod", &prod, "laundry-lab", &inv);
    let c = compile(&src, "prod").unwrap();
    assert!(c.build.is_none());
    let msgs: Vec<String> = c.diagnostics.iter().map(|d| d.message.clone()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("hw-02") && m.contains("k8s-ctl-02") && m.contains("k8s-ctl-03")),
        "{msgs:#?}"
    );
    let aio = prod.replace("profile: base", "profile: aio");
    let src = source("prod", &aio, "laundry-lab", &inv);
    let c = compile(&src, "prod").unwrap();
    assert!(c.build.is_some(), "{:?}", c.diagnostics);
}

#[test]
fn ha_proof_refuses_workers_sharing_a_machine() {
    // Controllers stay on three machines; two of the three workers share hw-01, so
    // RabbitMQ and PostgreSQL (workers only) cannot place three members on three machines.
    let inv = example("inventory/laundry-lab/laundry-lab.yaml").replace(
        "  - name: k8s-wrk-02\n    hypervisor: ovirt-02",
        "  - name: k8s-wrk-02\n    hypervisor: ovirt-01",
    );
    let src = source(
        "prod",
        &example("environments/prod.yaml"),
        "laundry-lab",
        &inv,
    );
    let c = compile(&src, "prod").unwrap();
    let refused: Vec<&str> = c
        .diagnostics
        .iter()
        .filter(|d| d.code == "gcc::plan::ha_unprovable")
        .map(|d| d.message.split(' ').next().unwrap())
        .collect();
    assert_eq!(refused, ["postgres", "rabbitmq"], "{:#?}", c.diagnostics);
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.message.starts_with("rabbitmq"))
        .unwrap();
    assert!(
        d.message
            .starts_with("rabbitmq cannot survive the loss of hw-01"),
        "{}",
        d.message
    );
    assert!(
        d.message.contains("hw-01 (k8s-wrk-01, k8s-wrk-02)"),
        "{}",
        d.message
    );
    let rendered = gcc::diag::render_text(&c.loaded.files, &c.diagnostics, false);
    assert!(rendered.contains("also on hw-01"), "{rendered}");
}

#[test]
fn build_summary_prints_the_proof_and_secrets() {
    // A service pulled in by another says which one.
    let tmp = tempfile::tempdir().unwrap();
    let o = gcc(
        &repo(),
        &[
            "build",
            "aio",
            "--out",
            tmp.path().join("a").to_str().unwrap(),
        ],
    );
    assert!(
        text(&o.stdout).contains("\n    barbican enabled: required by cinder\n"),
        "{}",
        text(&o.stdout)
    );
    let out = tmp.path().join("o");
    let o = gcc(&repo(), &["build", "prod", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let s = text(&o.stdout);
    assert!(
        s.contains(
            "rabbitmq     3 replicas on hw-01 (k8s-wrk-01), hw-02 (k8s-wrk-02), hw-03 (k8s-wrk-03)"
        ),
        "{s}"
    );
    assert!(s.contains("openstack/nova-db-password"), "{s}");
    // Who creates a Secret, when it is not you.
    assert!(
        s.contains("(created by postgres-operator)")
            && s.contains("(created by rabbitmq-operator)"),
        "{s}"
    );
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("gcc.lock.json")).unwrap()).unwrap();
    assert!(s.contains(lock["build_id"].as_str().unwrap()));
    assert!(
        lock["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "nova-db-password")
    );
    assert!(lock["inputs"]["environments/prod.yaml"].is_string());

    let o = gcc(
        &repo(),
        &[
            "build",
            "aio",
            "--out",
            out.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["profile"], "aio");
    assert_eq!(
        v["build_id"],
        serde_json::from_slice::<serde_json::Value>(
            &std::fs::read(out.join("gcc.lock.json")).unwrap()
        )
        .unwrap()["build_id"]
    );
    let text_aio = text(&gcc(&repo(), &["build", "aio", "--out", out.to_str().unwrap()]).stdout);
    assert!(
        text_aio.contains("profile aio: one replica everywhere; no HPA, no PDB, no anti-affinity"),
        "{text_aio}"
    );
}

#[test]
fn versions_table_in_three_formats() {
    let o = gcc(&repo(), &["versions", "prod"]);
    let s = text(&o.stdout);
    assert!(
        s.lines().any(|l| l.starts_with("keystone")
            && l.contains("2024.1 Caracal")
            && l.contains("2024.2.386+13651f45-628a320c (release-2025.4.1)")
            && l.contains("keystone:2024.1-latest")),
        "{s}"
    );
    assert!(s.contains("skyline:2024.2-latest (by convention)"), "{s}");
    let md = text(&gcc(&repo(), &["versions", "prod", "--format", "markdown"]).stdout);
    assert!(md.starts_with("| component | release |"), "{md}");
    let j: serde_json::Value =
        serde_json::from_slice(&gcc(&repo(), &["versions", "aio", "--format", "json"]).stdout)
            .unwrap();
    let nova = j
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["component"] == "nova")
        .unwrap();
    assert_eq!(nova["release_name"], "Caracal");
}

#[test]
fn every_image_runs_from_the_version_table_and_an_override_is_listed_as_such() {
    // Each key the catalog maps is set in the release's values, to the image the table lists.
    let files = build_example("prod");
    let hr: serde_json::Value = serde_saphyr::from_str(&text(
        &files[&at(&files, "openstack/helmrelease-nova.yaml")],
    ))
    .unwrap();
    let tags = &hr["spec"]["values"]["images"]["tags"];
    assert_eq!(
        tags["nova_api"],
        "ghcr.io/rackerlabs/genestack-images/nova:2024.1-latest"
    );
    assert_eq!(
        tags["dep_check"],
        "ghcr.io/rackerlabs/genestack-images/kubernetes-entrypoint:latest"
    );
    assert_eq!(
        tags["ks_user"],
        "ghcr.io/rackerlabs/genestack-images/openstack-client:latest"
    );
    let table = text(&gcc(&repo(), &["versions", "prod"]).stdout);
    let nova: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with("nova "))
        .take_while(|l| l.starts_with("nova ") || l.starts_with(' '))
        .collect();
    for image in tags.as_object().unwrap().values() {
        let image = image.as_str().unwrap();
        assert!(
            nova.iter().any(|l| l.trim_end().ends_with(image)),
            "{image} not in {nova:#?}"
        );
    }
    // An environment that sets a key runs its image, and the table says where it came from.
    let env = example("environments/aio.yaml").replace(
        "  keystone: {}",
        "  keystone:\n    values:\n      images:\n        tags:\n          keystone_api: registry.example/keystone:patched",
    );
    let src = source("aio", &env, "aio-lab", &example("inventory/aio-lab.yaml"));
    let plan = compile(&src, "aio").unwrap().build.unwrap().plan;
    let rows = gcc::report::versions(&plan);
    let keystone = rows.iter().find(|r| r.component == "keystone").unwrap();
    assert!(
        keystone
            .images
            .contains(&"registry.example/keystone:patched (environment)".to_string()),
        "{:?}",
        keystone.images
    );
    // keystone:2024.1-latest still runs the other keystone Jobs, so it stays listed.
    assert!(
        keystone
            .images
            .iter()
            .any(|i| i == "ghcr.io/rackerlabs/genestack-images/keystone:2024.1-latest"),
        "{:?}",
        keystone.images
    );
}

#[test]
fn glances_image_store_is_on_the_nas_export_for_images() {
    // prod has no storage class on `nas-01/images`: gcc adds one, whose volumes outlive
    // their claim, and glance's ReadWriteMany PVC uses it at the export's capacity.
    let files = build_example("prod");
    let sc: serde_json::Value = serde_saphyr::from_str(&text(
        &files[&at(&files, "cluster/storageclass-glance-images.yaml")],
    ))
    .unwrap();
    assert_eq!(sc["parameters"]["share"], "/volume1/glance");
    assert_eq!(sc["reclaimPolicy"], "Retain");
    let hr: serde_json::Value = serde_saphyr::from_str(&text(
        &files[&at(&files, "openstack/helmrelease-glance.yaml")],
    ))
    .unwrap();
    let v = &hr["spec"]["values"];
    assert_eq!(v["storage"], "pvc");
    assert_eq!(v["volume"]["class_name"], "glance-images");
    assert_eq!(v["volume"]["size"], "2Ti");
    assert_eq!(
        v["volume"]["accessModes"],
        serde_json::json!(["ReadWriteMany"])
    );
    // aio's one export serves every purpose: glance takes the default class on it, and gcc
    // adds none.
    let files = build_example("aio");
    assert!(
        !files
            .keys()
            .any(|p| p.ends_with("/storageclass-glance-images.yaml"))
    );
    let hr = text(&files[&at(&files, "openstack/helmrelease-glance.yaml")]);
    assert!(hr.contains("      class_name: general\n"), "{hr}");
    // No export for images and no NFS class at all: refused, naming what to add.
    let inv = example("inventory/aio-lab.yaml").replace(
        "purpose: [volumes, images, backups]",
        "purpose: [volumes, backups]",
    );
    let env = example("environments/aio.yaml").replace(
        "{ provider: nfs, export: nas-01/volumes }",
        "{ provider: topolvm }",
    );
    let src = source("aio", &env, "aio-lab", &inv);
    assert_eq!(codes(&src, "aio"), vec!["gcc::plan::no_store"]);
}

#[test]
fn a_literal_secret_in_values_is_refused() {
    let env = example("environments/aio.yaml").replace(
        "  keystone: {}",
        "  keystone:\n    values:\n      endpoints:\n        oslo_db:\n          auth:\n            keystone:\n              password: hunter2",
    );
    let src = source("aio", &env, "aio-lab", &example("inventory/aio-lab.yaml"));
    assert_eq!(codes(&src, "aio"), vec!["gcc::plan::secret_literal"]);
}

#[test]
fn a_plaintext_secret_anywhere_in_values_is_refused_with_help() {
    let env = example("environments/aio.yaml").replace(
        "  keystone: {}",
        "  keystone:\n    values:\n      conf:\n        keystone:\n          cache:\n            memcache_secret_key: hunter2",
    );
    let src = source("aio", &env, "aio-lab", &example("inventory/aio-lab.yaml"));
    let c = compile(&src, "aio").unwrap();
    assert!(c.build.is_none());
    let [d] = &c.diagnostics[..] else {
        panic!("{:?}", c.diagnostics)
    };
    assert_eq!(d.code, "gcc::env::plaintext_secret");
    let help = d.help.as_deref().unwrap();
    assert!(
        help.contains("`services.keystone.secrets`")
            && help.contains("path: conf.keystone.cache.memcache_secret_key"),
        "the help shows the Secret reference to write: {help}"
    );
}

#[test]
fn a_secret_declared_by_the_environment_is_filled_from_its_secret() {
    let declared = "  keystone:\n    secrets:\n      - { path: conf.keystone.cache.memcache_secret_key, secret: keystone-memcache, key: secret-key }";
    let env = example("environments/aio.yaml").replace("  keystone: {}", declared);
    let src = source("aio", &env, "aio-lab", &example("inventory/aio-lab.yaml"));
    let files = compile(&src, "aio").unwrap().build.unwrap().rendered.files;
    let hr = text(&files[&at(&files, "openstack/helmrelease-keystone.yaml")]);
    assert!(
        hr.contains("  - kind: Secret\n    name: keystone-memcache\n    targetPath: conf.keystone.cache.memcache_secret_key\n    valuesKey: secret-key\n"),
        "{hr}"
    );
    // Given a literal too, the declared path is refused by name, as a catalogued one is.
    let env = example("environments/aio.yaml").replace(
        "  keystone: {}",
        &format!("{declared}\n    values:\n      conf:\n        keystone:\n          cache:\n            memcache_secret_key: hunter2"),
    );
    let src = source("aio", &env, "aio-lab", &example("inventory/aio-lab.yaml"));
    assert_eq!(codes(&src, "aio"), vec!["gcc::plan::secret_literal"]);
}

#[test]
fn an_unknown_release_has_no_chart() {
    let env =
        example("environments/aio.yaml").replace("release: \"2024.1\"", "release: \"2099.1\"");
    let src = source("aio", &env, "aio-lab", &example("inventory/aio-lab.yaml"));
    let c = compile(&src, "aio").unwrap();
    let errs: Vec<_> = c.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(
        errs.iter().all(|d| d.code == "gcc::plan::no_chart"),
        "{errs:#?}"
    );
    // cinder is enabled; barbican only because cinder requires it: the chain says so.
    assert!(
        errs.iter()
            .any(|d| d.message.contains("`barbican`") && d.message.contains("cinder → barbican")),
        "{errs:#?}"
    );
    // A version pin in the environment is enough.
    let pinned = env.replace("  keystone: {}", "  keystone: { version: \"1.2.3\" }");
    let src = source(
        "aio",
        &pinned,
        "aio-lab",
        &example("inventory/aio-lab.yaml"),
    );
    let c = compile(&src, "aio").unwrap();
    assert!(
        !c.diagnostics
            .iter()
            .any(|d| d.message.contains("`keystone`"))
    );
}

#[test]
fn aio_without_a_worker_cannot_place_rabbitmq_nor_announce_its_pools() {
    // RabbitMQ runs on worker nodes, and MetalLB announces the VIP pools from them.
    let inv = example("inventory/aio-lab.yaml").replace(", compute, worker]", ", compute]");
    let src = source("aio", &example("environments/aio.yaml"), "aio-lab", &inv);
    // One refusal per VIP pool: aio-lab has two (primary, gateway-api-external).
    assert_eq!(
        codes(&src, "aio"),
        vec![
            "gcc::plan::unplaceable",
            "gcc::plan::unannounced",
            "gcc::plan::unannounced"
        ]
    );
}

#[test]
fn argocd_applications_mirror_the_flux_releases() {
    let flux = build_example("prod");
    let argo = build_example("argocd");
    let yaml = |b: &Vec<u8>| serde_saphyr::from_str::<serde_json::Value>(&text(b)).unwrap();
    let wave = |v: &serde_json::Value| -> i64 {
        v["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
            .as_str()
            .unwrap_or_else(|| panic!("no sync wave on {}", v["metadata"]["name"]))
            .parse()
            .unwrap()
    };
    let mut apps = BTreeMap::new();
    for (path, bytes) in &argo {
        if path.starts_with("argocd/application-") {
            let v = yaml(bytes);
            apps.insert(v["metadata"]["name"].as_str().unwrap().to_string(), v);
        }
    }
    let mut releases = 0;
    for (path, bytes) in flux
        .iter()
        .filter(|(p, _)| p.ends_with(".yaml") && !p.starts_with("site/"))
    {
        let v = yaml(bytes);
        match v["kind"].as_str() {
            Some("HelmRelease") => {
                releases += 1;
                let name = v["metadata"]["name"].as_str().unwrap();
                let app = &apps[name];
                let (hr, src) = (&v["spec"], &app["spec"]["source"]);
                if hr["chartRef"].is_object() {
                    // An OCI chart: the OCIRepository holds its URL and version.
                    assert_eq!(hr["chartRef"]["kind"], "OCIRepository", "{name}");
                    let r = hr["chartRef"]["name"].as_str().unwrap();
                    let oci = yaml(
                        &flux[&format!("1-infrastructure/flux-system/ocirepository-{r}.yaml")],
                    );
                    assert_eq!(
                        format!(
                            "oci://{}/{}",
                            src["repoURL"].as_str().unwrap(),
                            src["chart"].as_str().unwrap()
                        ),
                        oci["spec"]["url"].as_str().unwrap(),
                        "{name}"
                    );
                    assert_eq!(src["targetRevision"], oci["spec"]["ref"]["tag"], "{name}");
                } else {
                    assert_eq!(src["chart"], hr["chart"]["spec"]["chart"], "{name}");
                    assert_eq!(
                        src["targetRevision"], hr["chart"]["spec"]["version"],
                        "{name}"
                    );
                }
                assert_eq!(
                    app["spec"]["destination"]["namespace"],
                    v["metadata"]["namespace"]
                );
                assert_eq!(src["helm"]["releaseName"], name);
                assert_eq!(
                    app["spec"]["syncPolicy"]["syncOptions"][0],
                    "CreateNamespace=false"
                );
                // Same values, except that each valuesFrom entry is a placeholder.
                let mut values = src["helm"]["valuesObject"].clone();
                let empty = vec![];
                for vf in hr["valuesFrom"].as_array().unwrap_or(&empty) {
                    let target = vf["targetPath"].as_str().unwrap();
                    let ptr = format!("/{}", target.replace('.', "/"));
                    let want = format!(
                        "<path:secret/data/gcc/argocd/{}/{}#{}>",
                        v["metadata"]["namespace"].as_str().unwrap(),
                        vf["name"].as_str().unwrap(),
                        vf["valuesKey"].as_str().unwrap()
                    );
                    assert_eq!(
                        values.pointer(&ptr).and_then(|x| x.as_str()),
                        Some(want.as_str()),
                        "{name} {target}"
                    );
                    gcc::plan::values::remove(values.as_object_mut().unwrap(), target);
                }
                assert_eq!(values, hr["values"], "{name}: values differ");
                // Every dependency syncs in an earlier wave.
                for dep in hr["dependsOn"].as_array().unwrap_or(&empty) {
                    let d = &apps[dep["name"].as_str().unwrap()];
                    assert!(
                        wave(d) < wave(app),
                        "{name} must come after {}",
                        dep["name"]
                    );
                }
            }
            Some("HelmRepository" | "OCIRepository") => assert!(
                argo.keys().all(|p| !p.contains("repository-")),
                "Argo CD needs no chart source objects"
            ),
            _ if path.ends_with("kustomization.yaml") || path == "gcc.lock.json" => {}
            // The Flux plumbing that applies the stages.
            Some("GitRepository" | "Kustomization") => assert!(path.starts_with("flux/")),
            // Plain objects: identical apart from the sync-wave annotation, at the same
            // path below their stage's directory.
            _ => {
                let flat = gcc::plan::Stage::ALL
                    .iter()
                    .find_map(|s| path.strip_prefix(&format!("{}/", s.dir())))
                    .unwrap_or(path);
                let mut a = yaml(&argo[flat]);
                let w = wave(&a);
                let ann = a["metadata"].as_object_mut().unwrap();
                let anns = ann["annotations"].as_object_mut().unwrap();
                anns.remove("argocd.argoproj.io/sync-wave");
                if anns.is_empty() {
                    ann.remove("annotations");
                }
                assert_eq!(a, v, "{path} differs beyond its sync wave");
                // Clusters after their operators, accounts after clusters.
                let kind = v["kind"].as_str().unwrap();
                let mariadb_op = wave(&apps["mariadb-operator"]);
                match kind {
                    "MariaDB" | "RabbitmqCluster" | "IPAddressPool" => {
                        assert!(w > mariadb_op, "{path}")
                    }
                    "Database" | "Grant" | "Vhost" => {
                        assert!(
                            w > wave(&yaml(
                                &argo[&at(&argo, "openstack/mariadb-mariadb-cluster.yaml")]
                            )),
                            "{path}"
                        );
                        assert!(w < wave(&apps["keystone"]), "{path}");
                    }
                    "Namespace" => assert!(w < wave(&apps["cert-manager"]), "{path}"),
                    _ => {}
                }
            }
        }
    }
    assert_eq!(releases, apps.len(), "one Application per HelmRelease");
    // The AppProject allows exactly the chart repositories and namespaces used.
    let project = yaml(&argo["argocd/appproject-argocd.yaml"]);
    let repos: std::collections::BTreeSet<&str> = apps
        .values()
        .map(|a| a["spec"]["source"]["repoURL"].as_str().unwrap())
        .collect();
    let allowed: std::collections::BTreeSet<&str> = project["spec"]["sourceRepos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(repos, allowed);
    assert!(repos.iter().all(|r| !r.starts_with("oci://")), "{repos:?}");
    let namespaces: std::collections::BTreeSet<&str> = apps
        .values()
        .map(|a| a["spec"]["destination"]["namespace"].as_str().unwrap())
        .collect();
    let dests: std::collections::BTreeSet<&str> = project["spec"]["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(namespaces, dests);
    assert!(apps.values().all(|a| a["spec"]["project"] == "argocd"));
    // The lock lists the same required Secrets as the Flux build.
    let secrets = |t: &BTreeMap<String, Vec<u8>>| {
        serde_json::from_slice::<serde_json::Value>(&t["gcc.lock.json"]).unwrap()["secrets"].clone()
    };
    assert_eq!(secrets(&flux), secrets(&argo));
}

#[test]
fn argocd_leaves_the_replicas_of_autoscaled_deployments_to_their_hpas() {
    // Every HPA's Deployment is ignored at /spec/replicas by the Application that renders
    // it, and the sync respects that: self-heal does not fight the autoscaler.
    let argo = build_example("argocd");
    let yaml = |b: &Vec<u8>| serde_saphyr::from_str::<serde_json::Value>(&text(b)).unwrap();
    let mut ignored = std::collections::BTreeSet::new();
    for (path, bytes) in &argo {
        if !path.starts_with("argocd/application-") {
            continue;
        }
        let app = yaml(bytes);
        let spec = &app["spec"];
        let Some(list) = spec["ignoreDifferences"].as_array() else {
            continue;
        };
        let opts: Vec<&str> = spec["syncPolicy"]["syncOptions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o.as_str())
            .collect();
        assert!(opts.contains(&"RespectIgnoreDifferences=true"), "{path}");
        for d in list {
            assert_eq!(d["kind"], "Deployment", "{path}");
            assert_eq!(
                d["jsonPointers"],
                serde_json::json!(["/spec/replicas"]),
                "{path}"
            );
            ignored.insert(d["name"].as_str().unwrap().to_string());
        }
    }
    let mut hpas = 0;
    for (path, bytes) in argo.iter().filter(|(p, _)| p.ends_with(".yaml")) {
        let v = yaml(bytes);
        if v["kind"] == "HorizontalPodAutoscaler" {
            hpas += 1;
            let target = v["spec"]["scaleTargetRef"]["name"].as_str().unwrap();
            assert!(ignored.contains(target), "{path}: {target} is not ignored");
        }
    }
    assert!(hpas >= 20, "{hpas} HPAs");
}

#[test]
fn argocd_values_hold_placeholders_never_secret_values() {
    let files = build_example("argocd");
    let mut placeholders = 0;
    for (path, bytes) in &files {
        let body = text(bytes);
        let lines: Vec<&str> = body.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let l = line.trim();
            if l.starts_with("password:") || l.contains("_password:") || l.contains("secret_key:") {
                let mut value = l.split_once(':').unwrap().1.trim();
                if value == ">-" {
                    value = lines[i + 1].trim(); // a long placeholder, folded
                }
                assert!(
                    value.starts_with("<path:secret/data/gcc/argocd/") && value.ends_with('>'),
                    "{path}: {l}"
                );
                placeholders += 1;
            }
        }
    }
    assert!(placeholders > 50, "only {placeholders} placeholders");
}

#[test]
fn a_flux_and_an_argocd_build_diff_only_on_shared_objects() {
    let flux = gcc::diff::Side {
        label: "flux".into(),
        files: build_example("prod"),
    };
    let argo = gcc::diff::Side {
        label: "argo".into(),
        files: build_example("argocd"),
    };
    let d = gcc::diff::diff("prod", &flux, &argo);
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("only the objects both targets share")),
        "{:?}",
        d.notes
    );
    assert_eq!(
        d.summary.added + d.summary.removed + d.summary.changed,
        0,
        "{:?}",
        d.objects
            .iter()
            .map(|o| o.key.to_string())
            .collect::<Vec<_>>()
    );
    assert!(d.summary.unchanged > 150);
}

#[test]
fn a_failed_write_leaves_the_old_tree_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("prod");
    assert_eq!(
        gcc(&repo(), &["build", "aio", "--out", out.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    let before = read_tree(&out);
    // The parent of the staging directory is a file: nothing can be written.
    let blocked = tmp.path().join("file");
    std::fs::write(&blocked, "x").unwrap();
    let o = gcc(
        &repo(),
        &[
            "build",
            "prod",
            "--out",
            blocked.join("prod").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("gcc::build::write_failed"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(read_tree(&out), before);
    // An invalid build never touches the output either.
    let o = gcc(&repo(), &["build", "nope", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(read_tree(&out), before);
}

#[test]
fn render_refuses_a_name_that_would_escape() {
    // Names reach file paths only after check has proven them DNS labels; render checks
    // again, so even a plan built by hand cannot write outside the output directory.
    assert!(gcc::render::validate_output_path("openstack/../../etc/passwd.yaml").is_err());
    let src = MemSource::new()
        .with("environments/aio.yaml", example("environments/aio.yaml"))
        .with("inventory/aio-lab.yaml", example("inventory/aio-lab.yaml"));
    let c = compile(&src, "aio").unwrap();
    let plan = c.build.expect("aio builds").plan;
    let mut emitted = gcc::emit::emit(&plan);
    let (_, first) = emitted
        .objects
        .iter_mut()
        .find(|(_, o)| o["metadata"]["namespace"].is_string())
        .expect("a namespaced object");
    first["metadata"]["namespace"] = "../../etc".into();
    let err = gcc::render::render(&plan, &emitted, &Default::default()).unwrap_err();
    assert!(err.contains("../../etc/"), "{err}");
    // compile reports that failure as RENDER, which the CLI refuses with exit 2.
    let d = gcc::diag::Diagnostic::error(gcc::compile::RENDER, err);
    let json = gcc::diag::report_json(&Default::default(), std::slice::from_ref(&d));
    assert!(
        json.to_string().contains("\"gcc::render::failed\""),
        "{json}"
    );
    assert!(gcc::codes::refused(&[d]));
}

#[test]
fn an_invalid_build_reports_json_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    for dir in ["environments", "inventory"] {
        std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
    }
    let env =
        example("environments/aio.yaml").replace("release: \"2024.1\"", "release: \"2099.1\"");
    std::fs::write(tmp.path().join("environments/aio.yaml"), env).unwrap();
    std::fs::write(
        tmp.path().join("inventory/aio-lab.yaml"),
        example("inventory/aio-lab.yaml"),
    )
    .unwrap();
    let o = gcc(tmp.path(), &["build", "aio", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["diagnostics"][0]["code"], "gcc::plan::no_chart");
    assert_eq!(v["diagnostics"][0]["line"], 10); // keystone, the first service without a chart
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn every_golden_lock_reads_back_into_the_type_and_writes_the_same_bytes() {
    // One Lock type for writer and readers: a lock gcc wrote parses whole (secrets and
    // who provides them included) and prints back byte for byte.
    for env in ["prod", "aio", "argocd"] {
        let path = repo().join("golden").join(env).join("gcc.lock.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let lock = gcc::lock::Lock::parse(text.as_bytes()).unwrap();
        assert!(lock.consistent(), "{env}");
        assert_eq!(lock.gcc_build, GOLDEN_BUILD, "{env}");
        assert!(!lock.secrets.is_empty(), "{env}");
        assert_eq!(lock.to_text().unwrap(), text, "{env}");
    }
}
