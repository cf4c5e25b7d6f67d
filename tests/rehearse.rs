//! `gcc rehearse`: each finding code produced by a tree that has the fault, against a
//! tiny chart (tests/fixtures/charts/demo@1.0.0) rendered by real Helm; a clean tree has
//! none; the bundled examples' findings are a reviewed golden.
//!
//! `helm` must be on the PATH; `.ci/run` installs it (../shared/charts/README.md).

mod common;
use common::{assert_golden, at, gcc, repo, text};

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use gcc::compile::compile;
use gcc::diag::Diagnostic;
use gcc::ops::rehearse::{Rehearsed, Stage, find_chart, rehearse};
use gcc::rehearse::Status;
use gcc::source::WorkDir;

fn fixture_charts() -> PathBuf {
    repo().join("tests/fixtures/charts")
}

fn stage(charts: PathBuf) -> Stage {
    Stage {
        charts,
        helm: "helm".into(),
        schemas: None,
    }
}

/// A Flux HelmRelease of the demo chart in namespace `demo`, with `values` (YAML, indented
/// four spaces) and optional valuesFrom.
fn helmrelease(name: &str, chart: &str, values: &str, from: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: demo\nspec:\n  chart:\n    spec:\n      chart: {chart}\n      version: 1.0.0\n  interval: 1h\n  values:\n{values}{from}"
    )
}

const PDB: &str = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: demo-api\n  namespace: demo\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels:\n      component: api\n";

fn run(files: &[(&str, String)]) -> Rehearsed {
    let files: BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.clone().into_bytes()))
        .collect();
    rehearse(&files, &stage(fixture_charts()), None)
}

fn codes(r: &Rehearsed) -> Vec<(&'static str, String)> {
    r.findings
        .diagnostics
        .iter()
        .map(|d: &Diagnostic| (d.code, d.message.clone()))
        .collect()
}

#[test]
fn a_clean_tree_rehearses_with_no_findings() {
    let r = run(&[(
        "demo/helmrelease-demo.yaml",
        helmrelease(
            "demo",
            "demo",
            "    manifests:\n      job_init: true\n    conf:\n      any: {thing: 1}\n",
            "",
        ),
    )]);
    assert_eq!(codes(&r), []);
    assert!(
        matches!(r.findings.status[..], [Status::Rehearsed(6)]),
        "{:?}",
        r.findings.status
    );
}

#[test]
fn a_pod_waiting_for_a_job_nothing_renders_waits_forever() {
    // The init Job turned off while the API still waits for it: the keystone deadlock.
    let r = run(&[(
        "demo/helmrelease-demo.yaml",
        helmrelease(
            "demo",
            "demo",
            "    manifests:\n      job_init: false\n",
            "",
        ),
    )]);
    let c = codes(&r);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].0, "gcc::rehearse::waits_forever");
    assert!(
        c[0].1.contains("Deployment.apps demo/demo-api"),
        "{}",
        c[0].1
    );
    assert!(c[0].1.contains("Job demo/demo-init"), "{}", c[0].1);
    // Dropping the Job from the wait list (what the plan does) clears it.
    let r = run(&[(
        "demo/helmrelease-demo.yaml",
        helmrelease(
            "demo",
            "demo",
            "    manifests:\n      job_init: false\n    dependencies:\n      api:\n        jobs: []\n",
            "",
        ),
    )]);
    assert_eq!(codes(&r), []);
}

#[test]
fn a_pod_waiting_for_its_own_post_install_hook_under_helms_wait_deadlocks() {
    // The init Job is a post-install hook and the API waits for it: with Helm's wait
    // (helm-controller's default) the hooks would run only once the API is ready.
    let hooked = |from: &str| {
        run(&[(
            "demo/helmrelease-demo.yaml",
            helmrelease("demo", "demo", "    hook: true\n", from),
        )])
    };
    let r = hooked("");
    let c = codes(&r);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].0, "gcc::rehearse::hook_deadlock");
    assert!(
        c[0].1.contains("Deployment.apps demo/demo-api") && c[0].1.contains("Job demo-init"),
        "{}",
        c[0].1
    );
    // Installed without the wait, Helm runs the hooks at once: nothing to report.
    assert_eq!(codes(&hooked("  install:\n    disableWait: true\n")), []);
    // The same Job as a plain resource, under the wait: fine too.
    let r = run(&[(
        "demo/helmrelease-demo.yaml",
        helmrelease("demo", "demo", "    hook: false\n", ""),
    )]);
    assert_eq!(codes(&r), []);
}

#[test]
fn a_pod_mounting_a_config_map_nothing_renders_waits_forever() {
    // nova-compute mounting `ceph-etc` with no Ceph: the kubelet never starts the pod.
    let volumes = |v: &str| {
        helmrelease(
            "demo",
            "demo",
            &format!("    pod:\n      volumes:\n{v}"),
            "",
        )
    };
    let r = run(&[(
        "demo/helmrelease-demo.yaml",
        volumes(
            "        - { name: ceph, configMap: { name: ceph-etc } }\n        - { name: ca, configMap: { name: kube-root-ca.crt } }\n        - { name: p, projected: { sources: [ { configMap: { name: projected-cm } } ] } }\n",
        ),
    )]);
    let c = codes(&r);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].0, "gcc::rehearse::waits_forever");
    assert!(
        c[0].1.contains("ConfigMap demo/ceph-etc")
            && c[0].1.contains("ConfigMap demo/projected-cm"),
        "{}",
        c[0].1
    );
    // kube-root-ca.crt is in every namespace; an optional ConfigMap is not waited for; one
    // the tree renders exists.
    assert!(!c[0].1.contains("kube-root-ca.crt"), "{}", c[0].1);
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ceph-etc\n  namespace: demo\ndata: {}\n";
    let r = run(&[
        (
            "demo/helmrelease-demo.yaml",
            volumes(
                "        - { name: ceph, configMap: { name: ceph-etc } }\n        - { name: o, configMap: { name: absent, optional: true } }\n",
            ),
        ),
        ("demo/configmap-ceph-etc.yaml", cm.to_string()),
    ]);
    assert_eq!(codes(&r), []);
}

#[test]
fn an_object_gcc_writes_that_the_chart_also_renders_has_two_owners() {
    let r = run(&[
        (
            "demo/helmrelease-demo.yaml",
            helmrelease("demo", "demo", "    {}\n", ""),
        ),
        ("demo/poddisruptionbudget-demo-api.yaml", PDB.to_string()),
    ]);
    let c = codes(&r);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].0, "gcc::rehearse::two_owners");
    assert!(
        c[0].1
            .starts_with("PodDisruptionBudget.policy demo/demo-api has 2 owners"),
        "{}",
        c[0].1
    );
    assert!(
        c[0].1.contains("poddisruptionbudget-demo-api.yaml"),
        "{}",
        c[0].1
    );
    // The chart's own switch turns its copy off.
    let r = run(&[
        (
            "demo/helmrelease-demo.yaml",
            helmrelease("demo", "demo", "    manifests:\n      pdb_api: false\n", ""),
        ),
        ("demo/poddisruptionbudget-demo-api.yaml", PDB.to_string()),
    ]);
    assert_eq!(codes(&r), []);
}

#[test]
fn a_values_path_the_chart_lacks_is_a_dead_key_pointed_at_in_the_tree() {
    let from = "  valuesFrom:\n  - kind: Secret\n    name: s\n    targetPath: endpoints.oslo_messaging.auth.password\n    valuesKey: password\n";
    let r = run(&[(
        "demo/helmrelease-demo.yaml",
        helmrelease(
            "demo",
            "demo",
            "    manifests:\n      ingress_server: false\n      job_init: true\n",
            from,
        ),
    )]);
    let dead: Vec<&Diagnostic> = r
        .findings
        .diagnostics
        .iter()
        .filter(|d| d.code == "gcc::rehearse::dead_key")
        .collect();
    assert_eq!(dead.len(), 2, "{:?}", codes(&r));
    assert!(
        dead.iter()
            .any(|d| d.message.contains("no value endpoints;")),
        "{:?}",
        codes(&r)
    );
    let m = dead
        .iter()
        .find(|d| d.message.contains("manifests.ingress_server"))
        .unwrap();
    // The label underlines the key in the HelmRelease file.
    let label = m.primary.as_ref().unwrap();
    let file = r.tree.files.get(label.file);
    assert_eq!(file.path, "demo/helmrelease-demo.yaml");
    assert_eq!(&file.text[label.span.clone()], "ingress_server");
}

const APP: &str = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: demo\n  namespace: argocd\nspec:\n  destination:\n    namespace: demo\n    server: https://kubernetes.default.svc\n  project: default\n  source:\n    chart: demo\n    repoURL: https://example.net/charts\n    targetRevision: 1.0.0\n    helm:\n      valuesObject:\n        secret:\n          password: <path:secret/data/demo#password>\n";

#[test]
fn argocd_placeholders_are_resolved_before_helm_so_none_is_mangled() {
    // The root Application's argocd-vault-plugin resolves the placeholders in the child
    // Applications before they reach the cluster: Helm sees values, and b64enc/urlquery
    // in the chart (demo-db, demo-etc) cannot hide a placeholder.
    let r = run(&[("argocd/application-demo.yaml", APP.to_string())]);
    assert_eq!(codes(&r), []);
    assert!(matches!(r.findings.status[..], [Status::Rehearsed(6)]));
}

#[test]
fn an_argocd_pod_waiting_for_a_helm_post_install_hook_is_warned_of() {
    // Argo CD runs the hook as PostSync, after every other resource is Healthy: the API
    // waiting for it never is. A warning (gcc has no answer for Argo CD yet), never an
    // error, and none when the Job is a plain resource.
    let app = |hook: bool| {
        APP.replace(
            "      valuesObject:\n",
            &format!("      valuesObject:\n        hook: {hook}\n"),
        )
    };
    let r = run(&[("argocd/application-demo.yaml", app(true))]);
    let warned: Vec<_> = r
        .findings
        .diagnostics
        .iter()
        .map(|d| (d.code, d.is_error()))
        .collect();
    assert_eq!(warned, [("gcc::rehearse::post_sync_wait", false)]);
    assert!(
        r.findings.diagnostics[0].message.contains("Job demo-init"),
        "{}",
        r.findings.diagnostics[0].message
    );
    assert_eq!(
        codes(&run(&[("argocd/application-demo.yaml", app(false))])),
        []
    );
}

#[test]
fn the_cli_counts_warnings_apart_and_exits_zero_on_them() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("argocd")).unwrap();
    let app = APP.replace(
        "      valuesObject:\n",
        "      valuesObject:\n        hook: true\n",
    );
    std::fs::write(tree.join("argocd/application-demo.yaml"), app).unwrap();
    let charts = fixture_charts();
    let o = gcc(
        dir.path(),
        &[
            "rehearse",
            "--tree",
            tree.to_str().unwrap(),
            "--charts",
            charts.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("1 of 1 releases rehearsed")
            && text(&o.stdout).contains(", 0 findings, 1 warning\n"),
        "{}",
        text(&o.stdout)
    );
    assert!(text(&o.stderr).contains("gcc::rehearse::post_sync_wait"));
}

#[test]
fn a_placeholder_that_reaches_helm_and_comes_out_encoded_is_mangled() {
    // A placeholder Helm receives (one the plugin never saw) and encodes: argocd-vault-
    // plugin, run after Helm, would find neither the URL-encoded nor the base64 form.
    let files: BTreeMap<String, Vec<u8>> = BTreeMap::from([(
        "argocd/application-demo.yaml".to_string(),
        APP.as_bytes().to_vec(),
    )]);
    let tree = gcc::rehearse::Tree::new(&files);
    let (releases, _) = tree.releases();
    let o = std::process::Command::new("helm")
        .args(["template", "demo"])
        .arg(fixture_charts().join("demo@1.0.0/demo"))
        .args([
            "--namespace",
            "demo",
            "--set",
            "secret.password=<path:secret/data/demo#password>",
            "--set",
            "conf.db.user=root,conf.db.host=kubernetes.default,conf.db.database=demo",
        ])
        .output()
        .expect("helm is installed");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let render = gcc::rehearse::Rendering::Rendered {
        manifests: text(&o.stdout),
        defaults: serde_json::json!({}),
    };
    let f = gcc::rehearse::check(
        &tree,
        &releases,
        &[render],
        gcc::catalog::Rehearsal::get(),
        None,
    );
    let c: Vec<_> = f
        .diagnostics
        .iter()
        .map(|d| (d.code, d.message.clone()))
        .collect();
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].0, "gcc::rehearse::placeholder_mangled");
    assert!(
        c[0].1.contains("ConfigMap demo/demo-etc (URL-encoded)"),
        "{}",
        c[0].1
    );
    assert!(
        c[0].1.contains("Secret demo/demo-db (inside base64 data)"),
        "{}",
        c[0].1
    );
}

#[test]
fn a_chart_helm_cannot_render_fails_and_a_missing_chart_is_listed_not_passed() {
    let r = run(&[
        (
            "demo/helmrelease-a.yaml",
            helmrelease("a", "demo", "    fail: true\n", ""),
        ),
        (
            "demo/helmrelease-b.yaml",
            helmrelease("b", "absent", "    {}\n", ""),
        ),
    ]);
    let c = codes(&r);
    assert_eq!(c.len(), 2, "{c:?}");
    assert_eq!(c[0].0, "gcc::rehearse::helm_failed");
    assert!(c[0].1.contains("asked to fail"), "{}", c[0].1);
    assert_eq!(c[1].0, "gcc::rehearse::not_rehearsed");
    assert!(
        c[1].1.contains("release b (chart absent 1.0.0)"),
        "{}",
        c[1].1
    );
    assert!(
        !r.findings.diagnostics[1].is_error(),
        "not rehearsed is a warning"
    );
    assert_eq!(r.findings.status[0], Status::Failed);
    assert!(matches!(r.findings.status[1], Status::NotRehearsed(_)));
}

#[test]
fn a_release_missing_its_chart_is_a_bad_tree() {
    let bad = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: x\n  namespace: demo\nspec:\n  interval: 1h\n";
    let r = run(&[("demo/helmrelease-x.yaml", bad.to_string())]);
    assert_eq!(codes(&r)[0].0, "gcc::rehearse::bad_tree");
}

#[test]
fn a_chart_ref_resolves_through_its_oci_repository_or_is_a_bad_tree() {
    let hr = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: demo\n  namespace: demo\nspec:\n  chartRef:\n    kind: OCIRepository\n    name: demo\n    namespace: flux-system\n  interval: 1h\n";
    let oci = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: demo\n  namespace: flux-system\nspec:\n  interval: 1h\n  ref:\n    tag: 1.0.0\n  url: oci://registry.example/charts/demo\n";
    // The OCIRepository names the chart (its URL's last segment) and version.
    let r = run(&[
        ("demo/helmrelease-demo.yaml", hr.to_string()),
        ("flux-system/ocirepository-demo.yaml", oci.to_string()),
    ]);
    assert_eq!(r.releases.len(), 1);
    assert_eq!(
        (r.releases[0].chart.as_str(), r.releases[0].version.as_str()),
        ("demo", "1.0.0")
    );
    // Without it, the release cannot be rehearsed: the tree is broken.
    let r = run(&[("demo/helmrelease-demo.yaml", hr.to_string())]);
    let c = codes(&r);
    assert_eq!(c[0].0, "gcc::rehearse::bad_tree");
    assert!(
        c[0].1.contains("no OCIRepository flux-system/demo"),
        "{c:?}"
    );
}

#[test]
fn a_chart_packaged_by_helm_is_found_and_rendered() {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new("helm")
        .args(["package", "--destination"])
        .arg(dir.path())
        .arg(fixture_charts().join("demo@1.0.0/demo"))
        .env("HELM_CACHE_HOME", dir.path().join("h"))
        .env("HELM_CONFIG_HOME", dir.path().join("h"))
        .env("HELM_DATA_HOME", dir.path().join("h"))
        .output()
        .expect("helm is installed");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let found = find_chart(dir.path(), "demo", "1.0.0").unwrap();
    assert_eq!(found, dir.path().join("demo-1.0.0.tgz"));
    let files = BTreeMap::from([(
        "demo/helmrelease-demo.yaml".to_string(),
        helmrelease("demo", "demo", "    manifests:\n      nope: 1\n", "").into_bytes(),
    )]);
    let r = rehearse(&files, &stage(dir.path().to_path_buf()), None);
    // Rendered from the .tgz, and its values.yaml read through `helm show values`.
    assert!(matches!(r.findings.status[..], [Status::Rehearsed(6)]));
    assert_eq!(r.findings.diagnostics.len(), 1);
    assert_eq!(r.findings.diagnostics[0].code, "gcc::rehearse::dead_key");
}

#[test]
fn the_cli_rehearses_a_written_tree_and_exits_one_on_findings() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("demo")).unwrap();
    std::fs::write(
        tree.join("demo/helmrelease-demo.yaml"),
        helmrelease(
            "demo",
            "demo",
            "    manifests:\n      job_init: false\n",
            "",
        ),
    )
    .unwrap();
    let charts = fixture_charts();
    let args = [
        "rehearse",
        "--tree",
        tree.to_str().unwrap(),
        "--charts",
        charts.to_str().unwrap(),
    ];
    let o = gcc(dir.path(), &args);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("gcc::rehearse::waits_forever"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains("1 of 1 releases rehearsed")
            && text(&o.stdout).contains(", 1 finding\n"),
        "{}",
        text(&o.stdout)
    );
    let mut json = args.to_vec();
    json.extend(["--format", "json"]);
    let o = gcc(dir.path(), &json);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["releases"][0]["status"], "rehearsed");
    assert_eq!(v["diagnostics"][0]["code"], "gcc::rehearse::waits_forever");
    // No chart directory, no Helm: usage errors, nothing rehearsed.
    let o = gcc(
        dir.path(),
        &[
            "rehearse",
            "--tree",
            tree.to_str().unwrap(),
            "--charts",
            "nowhere",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let o = gcc(
        dir.path(),
        &[
            "rehearse",
            "--tree",
            tree.to_str().unwrap(),
            "--charts",
            charts.to_str().unwrap(),
            "--helm",
            "/nonexistent/helm",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("cannot run Helm"),
        "{}",
        text(&o.stderr)
    );
}

/// The bundled examples' findings, one line each: what is left to fix, reviewed as a
/// golden so that a fix shows as lines going away and a regression as lines coming back.
#[test]
fn the_examples_findings_are_the_reviewed_golden() {
    for env in ["prod", "aio", "argocd"] {
        let c = compile(&WorkDir::new(repo()), env).expect("compiles");
        let build = c.build.expect("builds");
        let claimed = gcc::report::claimed_images(&build.plan);
        let mut s = stage(repo().join("../shared/charts"));
        s.schemas = Some(repo().join("../shared/schemas"));
        let r = rehearse(&build.rendered.files, &s, Some(&claimed));
        assert!(
            r.schemas.as_ref().is_some_and(|(n, _)| *n > 100),
            "{env}: few validated"
        );
        let mut lines: Vec<String> = r
            .findings
            .diagnostics
            .iter()
            .map(|d| format!("{} {}\n", d.code, d.message))
            .collect();
        lines.sort();
        let rehearsed = r
            .findings
            .status
            .iter()
            .filter(|s| matches!(s, Status::Rehearsed(_)))
            .count();
        assert!(rehearsed > 15, "{env}: only {rehearsed} releases rehearsed");
        // Fixed for good, whatever the golden says: every release renders, and no pod
        // waits for a Job (the init Jobs gcc turns off are gone from every wait list).
        for l in &lines {
            assert!(!l.starts_with("gcc::rehearse::helm_failed"), "{env}: {l}");
            let waited = l.split("nothing renders ").nth(1).unwrap_or("");
            assert!(!waited.contains("Job "), "{env}: {l}");
        }
        assert_golden(&format!("rehearse/{env}.txt"), &lines.concat());
    }
}

/// Values that give the demo API what an autoscaled Deployment needs in `base`.
const SOUND_API: &str = "    pod:\n      replicas:\n        api: 2\n      resources:\n        enabled: true\n      affinity:\n        anti:\n          topologyKey:\n            default: topology.gcc.cloud/machine\n";

/// The chart's MariaDB endpoint, as values (conf.db: user, host, database).
const DB: &str = "    conf:\n      db: {user: demo, host: mariadb-cluster, database: demo}\n";

/// What gcc writes for a service `demo` with a database and a vhost: the MariaDB cluster
/// (unreplicated), its User, Database and Grant, the RabbitMQ cluster, User, Vhost and
/// Permission.
fn accounts() -> Vec<(&'static str, String)> {
    let mdb = "apiVersion: k8s.mariadb.com/v1alpha1\nkind";
    let mq = "apiVersion: rabbitmq.com/v1beta1\nkind";
    vec![
        ("demo/mariadb-mariadb-cluster.yaml", mariadb(false)),
        (
            "demo/user-demo.yaml",
            format!(
                "{mdb}: User\nmetadata:\n  name: demo\n  namespace: demo\nspec:\n  mariaDbRef:\n    name: mariadb-cluster\n"
            ),
        ),
        (
            "demo/database-demo.yaml",
            format!(
                "{mdb}: Database\nmetadata:\n  name: demo\n  namespace: demo\nspec:\n  name: demo\n  mariaDbRef:\n    name: mariadb-cluster\n"
            ),
        ),
        (
            "demo/grant-demo.yaml",
            format!(
                "{mdb}: Grant\nmetadata:\n  name: demo-grant\n  namespace: demo\nspec:\n  username: demo\n  database: demo\n  mariaDbRef:\n    name: mariadb-cluster\n"
            ),
        ),
        (
            "demo/rabbitmqcluster-rabbitmq.yaml",
            format!(
                "{mq}: RabbitmqCluster\nmetadata:\n  name: rabbitmq\n  namespace: demo\nspec:\n  replicas: 1\n"
            ),
        ),
        (
            "demo/rabbitmq-user-demo.yaml",
            format!("{mq}: User\nmetadata:\n  name: demo\n  namespace: demo\nspec: {{}}\n"),
        ),
        (
            "demo/permission-demo.yaml",
            format!(
                "{mq}: Permission\nmetadata:\n  name: demo-permission\n  namespace: demo\nspec:\n  vhost: demo\n  userReference:\n    name: demo\n"
            ),
        ),
    ]
}

#[test]
fn a_connection_to_a_missing_service_user_database_or_vhost_connects_nowhere() {
    let tree = |db: &str, mq: &str, replication: bool| {
        let mut files = accounts();
        files[0].1 = mariadb(replication);
        files.push((
            "demo/helmrelease-demo.yaml",
            helmrelease(
                "demo",
                "demo",
                &format!("    conf:\n      db: {{{db}}}\n      mq: {{{mq}}}\n"),
                "",
            ),
        ));
        codes(&run(&files))
    };
    let good_mq = "user: demo, host: rabbitmq.demo.svc.cluster.local, vhost: demo";
    // What gcc creates: no finding.
    assert_eq!(
        tree(
            "user: demo, host: mariadb-cluster, database: demo",
            good_mq,
            false
        ),
        []
    );
    for (db, mq, replication, want) in [
        // The aio bug: the primary's Service of an unreplicated MariaDB.
        (
            "user: demo, host: mariadb-cluster-primary, database: demo",
            good_mq,
            false,
            "Service demo/mariadb-cluster-primary, which nothing renders",
        ),
        (
            "user: nova, host: mariadb-cluster, database: demo",
            good_mq,
            true,
            "MariaDB user `nova`, whom gcc does not create",
        ),
        (
            "user: demo, host: mariadb-cluster, database: other",
            good_mq,
            true,
            "database `other`, which gcc does not create",
        ),
        (
            "user: demo, host: mariadb-cluster, database: demo",
            "user: demo, host: rabbitmq, vhost: nova",
            true,
            "vhost `nova`, on which RabbitMQ user `demo` has no Permission",
        ),
    ] {
        let c = tree(db, mq, replication);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].0, "gcc::rehearse::connects_nowhere");
        assert!(c[0].1.contains(want), "{want}: {}", c[0].1);
        assert!(c[0].1.contains("ConfigMap demo/demo-etc"), "{}", c[0].1);
    }
    // The root account reaches any database (its Grant is the operator's); a user gcc
    // does not create on RabbitMQ is an operator's admin, not checked.
    assert_eq!(
        tree(
            "user: root, host: mariadb-cluster, database: any",
            "user: admin, host: rabbitmq, vhost: x",
            false
        ),
        []
    );
}

fn mariadb(replication: bool) -> String {
    format!(
        "apiVersion: k8s.mariadb.com/v1alpha1\nkind: MariaDB\nmetadata:\n  name: mariadb-cluster\n  namespace: demo\nspec:\n  replicas: 3\n  replication:\n    enabled: {replication}\n"
    )
}

#[test]
fn a_wait_for_the_mariadb_primary_holds_only_when_the_operator_creates_it() {
    // mariadb-operator creates `<name>-primary` in HA mode only (catalog/rehearse.yaml):
    // the aio bug, every service waiting for a primary Service of an unreplicated MariaDB.
    let values =
        "    dependencies:\n      api:\n        services: ['demo:mariadb-cluster-primary']\n";
    let release = helmrelease("demo", "demo", values, "");
    let r = run(&[
        ("demo/helmrelease-demo.yaml", release.clone()),
        ("demo/mariadb-mariadb-cluster.yaml", mariadb(false)),
    ]);
    let c = codes(&r);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].0, "gcc::rehearse::waits_forever");
    assert!(
        c[0].1.contains("Service demo/mariadb-cluster-primary"),
        "{}",
        c[0].1
    );
    let r = run(&[
        ("demo/helmrelease-demo.yaml", release),
        ("demo/mariadb-mariadb-cluster.yaml", mariadb(true)),
    ]);
    assert_eq!(codes(&r), []);
}

#[test]
fn a_budget_or_autoscaler_of_gccs_that_reaches_no_workload_selects_nothing() {
    let pdb = |component: &str| {
        format!(
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: demo-api\n  namespace: demo\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels:\n      application: demo\n      component: {component}\n"
        )
    };
    let hpa = |target: &str| {
        format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: demo-api\n  namespace: demo\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: {target}\n  minReplicas: 2\n  maxReplicas: 4\n"
        )
    };
    let values = format!("    manifests:\n      pdb_api: false\n{SOUND_API}");
    let release = helmrelease("demo", "demo", &values, "");
    // cloudkitty's PDB selected `component: cloudkitty_api`; its pods say `api`.
    let r = run(&[
        ("demo/helmrelease-demo.yaml", release.clone()),
        ("demo/poddisruptionbudget-demo-api.yaml", pdb("demo_api")),
        (
            "demo/horizontalpodautoscaler-demo-api.yaml",
            hpa("demo-apl"),
        ),
    ]);
    let c = codes(&r);
    assert_eq!(c.len(), 2, "{c:?}");
    assert!(
        c.iter()
            .all(|(code, _)| *code == "gcc::rehearse::selects_nothing"),
        "{c:?}"
    );
    assert!(c[0].1.contains("HorizontalPodAutoscaler.autoscaling demo/demo-api reaches nothing: no Deployment demo/demo-apl"), "{}", c[0].1);
    assert!(
        c[1].1
            .contains("no pod labelled application=demo,component=demo_api in demo"),
        "{}",
        c[1].1
    );
    let r = run(&[
        ("demo/helmrelease-demo.yaml", release),
        ("demo/poddisruptionbudget-demo-api.yaml", pdb("api")),
        (
            "demo/horizontalpodautoscaler-demo-api.yaml",
            hpa("demo-api"),
        ),
    ]);
    assert_eq!(codes(&r), []);
    // Pods an operator runs count (RabbitMQ's, by catalog/rehearse.yaml).
    let rabbit = "apiVersion: rabbitmq.com/v1beta1\nkind: RabbitmqCluster\nmetadata:\n  name: rabbitmq\n  namespace: demo\nspec:\n  replicas: 3\n";
    let budget = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: rabbitmq\n  namespace: demo\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: rabbitmq\n";
    let r = run(&[
        ("demo/rabbitmqcluster.yaml", rabbit.to_string()),
        ("demo/pdb.yaml", budget.to_string()),
    ]);
    assert_eq!(codes(&r), []);
    let r = run(&[("demo/pdb.yaml", budget.to_string())]);
    assert_eq!(codes(&r)[0].0, "gcc::rehearse::selects_nothing");
}

#[test]
fn an_autoscaled_deployment_without_replicas_requests_or_spread_is_weak() {
    let hpa = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: demo-api\n  namespace: demo\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: demo-api\n  minReplicas: 2\n  maxReplicas: 4\n";
    let r = run(&[
        (
            "demo/helmrelease-demo.yaml",
            helmrelease("demo", "demo", "    {}\n", ""),
        ),
        (
            "demo/horizontalpodautoscaler-demo-api.yaml",
            hpa.to_string(),
        ),
    ]);
    let c = codes(&r);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].0, "gcc::rehearse::weak_api");
    for lack in [
        "renders replicas 1, under the autoscaler's minimum 2",
        "containers api have no CPU and memory requests",
        "no anti-affinity on topology.gcc.cloud/machine",
    ] {
        assert!(c[0].1.contains(lack), "{lack}: {}", c[0].1);
    }
    let r = run(&[
        (
            "demo/helmrelease-demo.yaml",
            helmrelease("demo", "demo", SOUND_API, ""),
        ),
        (
            "demo/horizontalpodautoscaler-demo-api.yaml",
            hpa.to_string(),
        ),
    ]);
    assert_eq!(codes(&r), []);
}

#[test]
fn a_chart_default_password_left_in_rendered_config_is_reported() {
    // ceilometer's seven `rabbit://rabbitmq:password@` URLs: the chart's default stayed.
    let mut files = accounts();
    files.push((
        "demo/helmrelease-demo.yaml",
        helmrelease(
            "demo",
            "demo",
            &format!("    secret:\n      password: password\n{DB}"),
            "",
        ),
    ));
    let r = run(&files);
    let c = codes(&r);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].0, "gcc::rehearse::default_credential");
    // Found in the ConfigMap and, decoded, in the Secret's data.
    assert!(
        c[0].1
            .contains("ConfigMap demo/demo-etc (demo:password@mariadb-cluster)"),
        "{}",
        c[0].1
    );
    // Wired from a Secret, the password is the placeholder naming it: no finding.
    let from = "  valuesFrom:\n  - kind: Secret\n    name: demo-db\n    targetPath: secret.password\n    valuesKey: password\n";
    let r = run(&[(
        "demo/helmrelease-demo.yaml",
        helmrelease("demo", "demo", "    {}\n", from),
    )]);
    assert_eq!(codes(&r), []);
}

#[test]
fn a_rendered_object_its_schema_refuses_is_a_schema_violation() {
    let schemas = tempfile::tempdir().unwrap();
    let dir = schemas.path().join("kubernetes/v1.30.0-standalone-strict");
    std::fs::create_dir_all(&dir).unwrap();
    // A ConfigMap whose `connection` must be SQLite: the demo's MySQL URL is refused.
    std::fs::write(
        dir.join("configmap-v1.json"),
        r#"{"type": "object", "properties": {"data": {"type": "object", "properties": {"connection": {"type": "string", "pattern": "^sqlite"}}}}}"#,
    )
    .unwrap();
    let files = BTreeMap::from([(
        "demo/helmrelease-demo.yaml".to_string(),
        helmrelease(
            "demo",
            "demo",
            "    conf:\n      db: {user: root, host: kubernetes.default, database: demo}\n",
            "",
        )
        .into_bytes(),
    )]);
    let mut s = stage(fixture_charts());
    s.schemas = Some(schemas.path().to_path_buf());
    let r = rehearse(&files, &s, None);
    let c = codes(&r);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].0, "gcc::rehearse::schema_violation");
    assert!(c[0].1.starts_with("ConfigMap demo/demo-etc (release demo) does not validate against kubernetes/v1.30.0-standalone-strict/configmap-v1.json"), "{}", c[0].1);
    assert!(c[0].1.contains("at `/data/connection`"), "{}", c[0].1);
    // One object validated; the other kinds are listed as having no schema.
    let (validated, missing) = r.schemas.unwrap();
    assert_eq!(validated, 1);
    assert_eq!(missing.get("apps/v1/Deployment"), Some(&1));
}

#[test]
fn images_the_version_table_does_not_list_or_nothing_runs_are_a_mismatch() {
    let files: BTreeMap<String, Vec<u8>> = BTreeMap::from([(
        "demo/helmrelease-demo.yaml".to_string(),
        helmrelease("demo", "demo", "    {}\n", "").into_bytes(),
    )]);
    let claim = |images: &[&str]| {
        gcc::rehearse::Claimed::from([(
            "demo".to_string(),
            images.iter().map(|i| i.to_string()).collect(),
        )])
    };
    // What the demo chart runs: its API, its init Job, the dependency check.
    let exact = claim(&["demo", "busybox", "kubernetes-entrypoint"]);
    let r = rehearse(&files, &stage(fixture_charts()), Some(&exact));
    assert_eq!(codes(&r), []);
    // keystone's table said genestack-images while the chart's default image ran.
    let wrong = claim(&["ghcr.io/example/demo:1", "busybox", "kubernetes-entrypoint"]);
    let r = rehearse(&files, &stage(fixture_charts()), Some(&wrong));
    let c = codes(&r);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].0, "gcc::rehearse::image_mismatch");
    assert_eq!(
        c[0].1,
        "release demo: it renders 1 image the version table does not list: demo; the table lists ghcr.io/example/demo:1, which nothing renders"
    );
}

#[test]
fn a_chart_name_that_would_leave_the_chart_directory_is_not_followed() {
    for (chart, version) in [
        ("../demo@1.0.0/demo", "1.0.0"),
        ("demo", "../../x"),
        (".", "1"),
        ("", "1"),
    ] {
        let e = find_chart(&fixture_charts(), chart, version).unwrap_err();
        assert!(
            e.contains("is not a name the chart directory can hold"),
            "{chart} {version}: {e}"
        );
    }
    assert!(find_chart(&fixture_charts(), "demo", "1.0.0").is_ok());
}

/// prod's neutron, rendered by Helm: the objects of `kind` and their body, by name.
fn rendered_neutron(
    kind: &str,
) -> (
    BTreeMap<String, Vec<u8>>,
    BTreeMap<String, serde_json::Value>,
) {
    rendered("neutron", kind)
}

/// A release of prod, rendered by Helm: the objects of `kind` and their body, by name.
fn rendered(
    release: &str,
    kind: &str,
) -> (
    BTreeMap<String, Vec<u8>>,
    BTreeMap<String, serde_json::Value>,
) {
    rendered_in("prod", release, kind)
}

/// A release (a HelmRelease or an Application) of `env`, rendered by Helm.
fn rendered_in(
    env: &str,
    release: &str,
    kind: &str,
) -> (
    BTreeMap<String, Vec<u8>>,
    BTreeMap<String, serde_json::Value>,
) {
    let c = compile(&WorkDir::new(repo()), env).expect("compiles");
    let files = c.build.expect("builds").rendered.files;
    let tree = gcc::rehearse::Tree::new(&files);
    let (releases, _) = tree.releases();
    let r = releases.iter().find(|r| r.name == release).unwrap();
    let gcc::rehearse::Rendering::Rendered { manifests, .. } =
        gcc::ops::rehearse::render(&stage(repo().join("../shared/charts")), r)
    else {
        panic!("{release} did not render");
    };
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&manifests).unwrap();
    let objects = docs
        .into_iter()
        .filter(|d| d["kind"] == kind)
        .map(|d| (d["metadata"]["name"].as_str().unwrap().to_string(), d))
        .collect();
    (files, objects)
}

#[test]
fn neutron_renders_ml2_ovn_on_kube_ovns_databases_over_tls() {
    use base64::Engine;
    let (files, daemonsets) = rendered_neutron("DaemonSet");
    // ML2/OVS agents are gone; the OVN metadata agent runs where instances run.
    assert!(
        !daemonsets.contains_key("neutron-ovs-agent-default"),
        "{:?}",
        daemonsets.keys()
    );
    let agent = &daemonsets["neutron-ovn-metadata-agent-default"];
    let spec = &agent["spec"]["template"]["spec"];
    assert_eq!(spec["nodeSelector"]["openstack-compute-node"], "enabled");
    // It reads /tmp/pod-shared/ovn.ini last: gcc's ConfigMap is mounted over the chart's.
    let container = spec["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "neutron-ovn-metadata-agent")
        .unwrap();
    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == "/tmp/pod-shared/ovn.ini")
        .expect("ovn.ini mounted");
    let volume = spec["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    let cm_name = volume["configMap"]["name"].as_str().unwrap();
    let cm: serde_json::Value = serde_saphyr::from_str(&text(
        &files[&at(&files, &format!("openstack/configmap-{cm_name}.yaml"))],
    ))
    .unwrap();
    let ini = cm["data"]["ovn.ini"].as_str().unwrap();
    // Every OVN central member (prod's three control-plane nodes), TLS as kube-ovn serves it.
    let nb = "ovn_nb_connection = ssl:10.20.0.31:6641,ssl:10.20.0.32:6641,ssl:10.20.0.33:6641";
    assert!(ini.contains(nb), "{ini}");
    assert!(
        ini.contains("ovn_sb_private_key = /etc/neutron/ovn/key"),
        "{ini}"
    );
    // neutron-server reads ml2_conf.ini last: the same connections, and the OVN driver.
    let (_, secrets) = rendered_neutron("Secret");
    let ml2 = secrets["neutron-etc"]["data"]["ml2_conf.ini"]
        .as_str()
        .unwrap();
    let ml2 = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(ml2)
            .unwrap(),
    )
    .unwrap();
    assert!(ml2.contains("mechanism_drivers = ovn"), "{ml2}");
    assert!(ml2.contains(nb), "{ml2}");
    assert!(
        ml2.contains("ovn_nb_ca_cert = /etc/neutron/ovn/cacert"),
        "{ml2}"
    );
    // Provider networks: one physnet per provider subnet of the inventory (prod has one).
    assert!(ml2.contains("network_vlan_ranges = physnet1"), "{ml2}");
    assert!(ml2.contains("flat_networks = physnet1"), "{ml2}");
    // The client certificate is a Secret the cluster must provide, and the summary says so.
    let c = compile(&WorkDir::new(repo()), "prod").expect("compiles");
    let plan = c.build.expect("builds").plan;
    let tls = plan
        .secrets
        .iter()
        .find(|s| s.name == "ovn-client-tls")
        .expect("listed");
    assert_eq!(
        tls.keys.iter().map(String::as_str).collect::<Vec<_>>(),
        ["cacert", "cert", "key"]
    );
    assert_eq!(
        tls.provided_by,
        gcc::plan::ProvidedBy::YouCopying("kube-system/kube-ovn-tls".into())
    );
    assert_eq!(
        tls.provided_by.to_string(),
        "you, as a copy of kube-system/kube-ovn-tls"
    );
}

#[test]
fn gnocchi_indexes_in_postgres_and_keeps_its_series_on_a_nas_claim() {
    use base64::Engine;
    let (files, secrets) = rendered("gnocchi", "Secret");
    let conf = secrets["gnocchi-etc"]["data"]["gnocchi.conf"]
        .as_str()
        .unwrap();
    let conf = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(conf)
            .unwrap(),
    )
    .unwrap();
    // The index on the PostgreSQL cluster gcc writes; measures and locks on Redis.
    assert!(
        conf.contains("@postgres-cluster.openstack.svc.cluster.local:5432/gnocchi"),
        "{conf}"
    );
    let pg: serde_json::Value = serde_saphyr::from_str(&text(
        &files[&at(&files, "openstack/postgresql-postgres-cluster.yaml")],
    ))
    .unwrap();
    assert_eq!(pg["spec"]["numberOfInstances"], 3);
    assert!(conf.contains("[incoming]\ndriver = redis\n"), "{conf}");
    assert!(
        conf.contains("redis-sentinel-sentinel-headless.redis-systems.svc"),
        "{conf}"
    );
    // No Ceph: the file driver, on a claim every pod that reads the series mounts.
    assert!(conf.contains("driver = file\n"), "{conf}");
    let claim: serde_json::Value = serde_saphyr::from_str(&text(
        &files[&at(
            &files,
            "openstack/persistentvolumeclaim-gnocchi-metrics.yaml",
        )],
    ))
    .unwrap();
    assert_eq!(
        claim["spec"]["accessModes"],
        serde_json::json!(["ReadWriteMany"])
    );
    // prod's NFS class on the export for volumes.
    assert_eq!(claim["spec"]["storageClassName"], "general-multi-attach");
    let mut pods: Vec<(String, serde_json::Value)> = Vec::new();
    for kind in ["Deployment", "DaemonSet"] {
        let (_, objs) = rendered("gnocchi", kind);
        pods.extend(
            objs.into_iter()
                .map(|(n, o)| (n, o["spec"]["template"]["spec"].clone())),
        );
    }
    let names: Vec<&str> = pods.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["gnocchi-api", "gnocchi-metricd", "gnocchi-statsd"]);
    for (name, spec) in &pods {
        let volumes = spec["volumes"].as_array().unwrap();
        assert!(
            volumes
                .iter()
                .any(|v| v["persistentVolumeClaim"]["claimName"] == "gnocchi-metrics"),
            "{name}"
        );
        let main = &spec["containers"][0];
        assert!(
            main["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["mountPath"] == "/var/lib/gnocchi"),
            "{name}"
        );
        // The Ceph client files the chart mounts anyway are gcc's empty stand-ins.
        for v in volumes {
            for (from, file) in [("configMap", "configmap"), ("secret", "secret")] {
                let n = v[from]["name"].as_str().or(v[from]["secretName"].as_str());
                if let Some(n) = n.filter(|n| n.contains("ceph")) {
                    assert!(
                        files
                            .keys()
                            .any(|p| p.ends_with(&format!("openstack/{file}-{n}.yaml"))),
                        "{name} mounts {from} {n}, which the tree lacks"
                    );
                }
            }
        }
    }
    // The superuser's password comes from the Secret the operator writes.
    let c = compile(&WorkDir::new(repo()), "prod").expect("compiles");
    let plan = c.build.expect("builds").plan;
    let su = plan
        .secrets
        .iter()
        .find(|s| s.name == "postgres.postgres-cluster.credentials.postgresql.acid.zalan.do")
        .expect("listed");
    assert_eq!(
        su.provided_by,
        gcc::plan::ProvidedBy::Operator("postgres-operator".into())
    );
}

#[test]
fn a_post_render_patch_is_applied_before_the_checks_and_one_rehearse_cannot_apply_is_refused() {
    // The weak Deployment above, fixed by a strategic-merge patch helm-controller applies
    // after Helm: replicas, the container's requests (merged by name), the anti-affinity.
    let hpa = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: demo-api\n  namespace: demo\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: demo-api\n  minReplicas: 2\n  maxReplicas: 4\n";
    let patch = "apiVersion: apps/v1\\nkind: Deployment\\nmetadata:\\n  name: demo-api\\nspec:\\n  replicas: 2\\n  template:\\n    spec:\\n      affinity:\\n        podAntiAffinity:\\n          preferredDuringSchedulingIgnoredDuringExecution:\\n          - weight: 10\\n            podAffinityTerm:\\n              topologyKey: topology.gcc.cloud/machine\\n              labelSelector:\\n                matchLabels:\\n                  component: api\\n      containers:\\n      - name: api\\n        resources:\\n          requests:\\n            cpu: 100m\\n            memory: 128Mi\\n";
    let renderers = |patch: &str, kind: &str| {
        format!(
            "  postRenderers:\n  - kustomize:\n      patches:\n      - target:\n          kind: {kind}\n          name: demo-api\n        patch: \"{patch}\"\n"
        )
    };
    let tree = |renderers: String| {
        run(&[
            (
                "demo/helmrelease-demo.yaml",
                helmrelease("demo", "demo", "    {}\n", &renderers),
            ),
            (
                "demo/horizontalpodautoscaler-demo-api.yaml",
                hpa.to_string(),
            ),
        ])
    };
    assert_eq!(codes(&tree(renderers(patch, "Deployment"))), []);
    // Aimed at another kind, it changes nothing: the Deployment is weak again.
    let c = codes(&tree(renderers(patch, "StatefulSet")));
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].0, "gcc::rehearse::weak_api");
    // A JSON 6902 patch (a list of operations) is not applied, so the release is refused
    // rather than rehearsed as if it were.
    let c = codes(&tree(renderers(
        "- op: add\\n  path: /spec/replicas\\n  value: 2\\n",
        "Deployment",
    )));
    assert_eq!(c[0].0, "gcc::rehearse::bad_tree", "{c:?}");
    assert!(c[0].1.contains("not a strategic-merge patch"), "{c:?}");
}

#[test]
fn cert_manager_installs_its_crds_and_keeps_them() {
    // The chart renders no CRDs unless crds.enabled: without them, no Certificate or
    // Issuer (the RabbitMQ topology operator's, later gcc's own) can be created.
    let (_, crds) = rendered("cert-manager", "CustomResourceDefinition");
    for crd in [
        "certificates.cert-manager.io",
        "issuers.cert-manager.io",
        "clusterissuers.cert-manager.io",
    ] {
        let c = crds
            .get(crd)
            .unwrap_or_else(|| panic!("no CRD {crd}: {:?}", crds.keys()));
        assert_eq!(
            c["metadata"]["annotations"]["helm.sh/resource-policy"], "keep",
            "{crd}"
        );
    }
}

#[test]
fn skylines_deployment_comes_from_gccs_template_with_requests_and_spread_on_both_targets() {
    // skyline's chart template renders neither requests nor anti-affinity; gcc renders its
    // copy through the chart's extraObjects instead, so Flux and Argo CD get the same.
    for env in ["prod", "argocd"] {
        let (_, deployments) = rendered_in(env, "skyline", "Deployment");
        let (_, accounts) = rendered_in(env, "skyline", "ServiceAccount");
        assert_eq!(deployments.keys().collect::<Vec<_>>(), ["skyline"], "{env}");
        // The chart's ServiceAccount comes with it, once.
        assert!(accounts.contains_key("skyline"), "{env}");
        let d = &deployments["skyline"];
        assert_eq!(d["spec"]["replicas"], 2, "{env}");
        let spec = &d["spec"]["template"]["spec"];
        let names: Vec<&str> = spec["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["nginx", "skyline"], "{env}");
        for c in spec["containers"].as_array().unwrap() {
            // The requests skyline's values.yaml lists, and the chart's image.
            assert_eq!(c["resources"]["requests"]["cpu"], "100m", "{env}");
            assert_eq!(c["resources"]["requests"]["memory"], "128Mi", "{env}");
            assert!(
                c["image"]
                    .as_str()
                    .unwrap()
                    .contains("genestack-images/skyline")
            );
        }
        let term = &spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
            [0];
        assert_eq!(
            term["podAffinityTerm"]["topologyKey"], "topology.gcc.cloud/machine",
            "{env}"
        );
        // The config hash the chart's template computes, so a changed config still rolls.
        let hash = &d["spec"]["template"]["metadata"]["annotations"]["configmap-etc-hash"];
        assert_eq!(hash.as_str().map(str::len), Some(64), "{env}: {hash}");
        // Nothing is left for the target to patch, so the build warns of nothing.
        let c = compile(&WorkDir::new(repo()), env).expect("compiles");
        assert!(c.diagnostics.is_empty(), "{env}: {:?}", c.diagnostics);
    }
}

#[test]
fn octavias_ovn_provider_reaches_kube_ovns_databases_over_tls() {
    use base64::Engine;
    let (_, secrets) = rendered("octavia", "Secret");
    let conf = secrets["octavia-etc"]["data"]["octavia.conf"]
        .as_str()
        .unwrap();
    let conf = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(conf)
            .unwrap(),
    )
    .unwrap();
    // Every OVN central member, TLS as kube-ovn serves it; the provider next to amphora.
    assert!(
        conf.contains(
            "ovn_sb_connection = ssl:10.20.0.31:6642,ssl:10.20.0.32:6642,ssl:10.20.0.33:6642"
        ),
        "{conf}"
    );
    assert!(
        conf.contains("ovn_nb_private_key = /etc/octavia/ovn/key"),
        "{conf}"
    );
    assert!(conf.contains("ovn: \"The Octavia OVN driver\""), "{conf}");
    assert!(conf.contains("default_provider_driver = amphora"), "{conf}");
    // The API and the worker mount the client certificate where the options say.
    for (kind, name, container) in [
        ("Deployment", "octavia-api", "octavia-api"),
        ("DaemonSet", "octavia-worker-default", "octavia-worker"),
    ] {
        let (_, objs) = rendered("octavia", kind);
        let spec = &objs[name]["spec"]["template"]["spec"];
        let c = spec["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == container)
            .unwrap_or_else(|| panic!("{name}/{container}"));
        let mount = c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["mountPath"] == "/etc/octavia/ovn")
            .unwrap_or_else(|| panic!("{name}: no /etc/octavia/ovn"));
        let volume = spec["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == mount["name"])
            .unwrap();
        assert_eq!(volume["secret"]["secretName"], "ovn-client-tls", "{name}");
    }
}

#[test]
fn a_workload_no_node_of_the_tree_can_run_is_unschedulable() {
    // The demo API gets its node selector from a post-render patch; the tree has one node.
    let node = "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels:\n    openstack-control-plane: enabled\n";
    let tree = |spec: &str| {
        let patch = format!(
            "apiVersion: apps/v1\\nkind: Deployment\\nmetadata:\\n  name: demo-api\\nspec:\\n  template:\\n    spec:\\n{spec}"
        );
        let renderers = format!(
            "  postRenderers:\n  - kustomize:\n      patches:\n      - target:\n          kind: Deployment\n          name: demo-api\n        patch: \"{patch}\"\n"
        );
        codes(&run(&[
            (
                "demo/helmrelease-demo.yaml",
                helmrelease("demo", "demo", "    {}\n", &renderers),
            ),
            ("nodes/node-n1.yaml", node.to_string()),
        ]))
    };
    // A label the node has, the hostname every node has, a key the cluster sets itself.
    for fine in [
        "      nodeSelector:\\n        openstack-control-plane: enabled\\n",
        "      nodeSelector:\\n        kubernetes.io/hostname: n1\\n",
        "      nodeSelector:\\n        node-role.kubernetes.io/control-plane: ''\\n",
    ] {
        assert_eq!(tree(fine), [], "{fine}");
    }
    for (bad, needs) in [
        (
            "      nodeSelector:\\n        openstack-compute-node: enabled\\n        openstack-control-plane: disabled\\n",
            "needs openstack-compute-node=enabled,openstack-control-plane=disabled",
        ),
        (
            "      affinity:\\n        nodeAffinity:\\n          requiredDuringSchedulingIgnoredDuringExecution:\\n            nodeSelectorTerms:\\n            - matchExpressions:\\n              - key: openstack-control-plane\\n                operator: DoesNotExist\\n",
            "needs its required node affinity",
        ),
    ] {
        let c = tree(bad);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].0, "gcc::rehearse::unschedulable");
        assert!(
            c[0].1
                .contains(&format!("Deployment.apps demo/demo-api ({needs})")),
            "{}",
            c[0].1
        );
    }
}

/// The API groups of the CRDs in a manifest stream.
fn crd_groups(manifests: &str) -> BTreeSet<String> {
    manifests
        .split("\n---")
        .filter_map(|doc| serde_saphyr::from_str::<serde_json::Value>(doc).ok())
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .filter_map(|o| o["spec"]["group"].as_str().map(String::from))
        .collect()
}

#[test]
fn the_catalog_names_the_crds_each_infrastructure_chart_installs() {
    // The install stages rest on this (tests/converge.rs): a release installs exactly the
    // API groups the catalog says, as Flux renders it (templates and crds/, with gcc's
    // values).
    let c = gcc::catalog::Catalog::get();
    let mut checked = 0;
    for env in ["prod", "aio"] {
        let build = compile(&WorkDir::new(repo()), env).unwrap().build.unwrap();
        let s = stage(repo().join("../shared/charts"));
        let r = rehearse(&build.rendered.files, &s, None);
        for release in &r.releases {
            let Some(comp) = c.components.get(&release.name) else {
                continue;
            };
            let gcc::rehearse::Rendering::Rendered { manifests, .. } =
                gcc::ops::rehearse::render(&s, release)
            else {
                panic!("{env}: {} does not render", release.name);
            };
            let want: BTreeSet<String> = comp.crds.iter().cloned().collect();
            assert_eq!(crd_groups(&manifests), want, "{env}: {}", release.name);
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} releases checked");
}

/// A Gateway of gcc's with one HTTPS listener `demo` for `host`, and an HTTPRoute in the
/// demo namespace through it to `backend`:`port`.
fn edge(host: &str, section: &str, backend: &str, port: u16) -> Vec<(&'static str, String)> {
    vec![
        (
            "edge/gateway-gcc.yaml",
            format!(
                "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: gcc\n  namespace: edge\nspec:\n  gatewayClassName: gcc\n  listeners:\n    - name: demo\n      hostname: {host}\n      port: 443\n      protocol: HTTPS\n"
            ),
        ),
        (
            "demo/httproute-demo.yaml",
            format!(
                "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: demo\n  namespace: demo\nspec:\n  parentRefs:\n    - name: gcc\n      namespace: edge\n      sectionName: {section}\n  hostnames: [{host}]\n  rules:\n    - backendRefs:\n        - name: {backend}\n          port: {port}\n"
            ),
        ),
    ]
}

/// The demo release, registering `url` as its public endpoint.
fn publishing(url: &str) -> (&'static str, String) {
    (
        "demo/helmrelease-demo.yaml",
        helmrelease("demo", "demo", &format!("    public_url: {url}\n"), ""),
    )
}

#[test]
fn a_route_to_a_listener_service_or_port_nothing_serves_leads_nowhere() {
    let https = "https://demo.example.net/v1";
    let with_edge = |section: &str, backend: &str, port: u16| {
        let mut files = edge("demo.example.net", section, backend, port);
        files.push(publishing(https));
        codes(&run(&files))
    };
    // The chart renders Service demo-api on port 8080, and the Gateway has listener `demo`.
    assert_eq!(with_edge("demo", "demo-api", 8080), []);
    for (section, backend, port, says) in [
        (
            "demo",
            "demo-api",
            8081,
            "Service demo/demo-api (release demo) has no port 8081",
        ),
        (
            "demo",
            "demo-web",
            8080,
            "no release renders Service demo/demo-web",
        ),
        (
            "web",
            "demo-api",
            8080,
            "no listener `web` of Gateway edge/gcc serves demo.example.net",
        ),
    ] {
        let c = with_edge(section, backend, port);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].0, "gcc::rehearse::route_nowhere");
        assert!(c[0].1.contains(says), "{}", c[0].1);
    }
}

#[test]
fn a_public_endpoint_the_gateway_does_not_serve_is_private() {
    let published = |url: &str| {
        let mut files = edge("demo.example.net", "demo", "demo-api", 8080);
        files.push(publishing(url));
        codes(&run(&files))
    };
    assert_eq!(published("https://demo.example.net/v1"), []);
    assert_eq!(published("https://demo.example.net:443/v1"), []);
    for url in [
        // The chart's default: the cluster-local Service, over http.
        "http://demo-api.demo.svc.cluster.local:8080/v1",
        "http://demo.example.net/v1",
        "https://other.example.net/v1",
        "https://demo.example.net:8443/v1",
    ] {
        let c = published(url);
        assert_eq!(c.len(), 1, "{url}: {c:?}");
        assert_eq!(c[0].0, "gcc::rehearse::private_endpoint");
        assert!(
            c[0].1.contains(url) && c[0].1.contains("Job.batch demo/demo-init"),
            "{}",
            c[0].1
        );
    }
    // Without a Gateway nothing is published, and nothing is reported.
    let c = codes(&run(&[publishing(
        "http://demo-api.demo.svc.cluster.local:8080/v1",
    )]));
    assert_eq!(c, []);
}

#[test]
fn horizon_behind_the_gateways_tls_trusts_its_public_origin() {
    // Django refuses a login posted over https through a proxy unless it trusts the
    // proxy's X-Forwarded-Proto and the public origin.
    let (_, secrets) = rendered("horizon", "Secret");
    let etc = secrets
        .values()
        .find_map(|s| s["data"].get("local_settings"))
        .and_then(serde_json::Value::as_str)
        .expect("horizon's local_settings");
    use base64::Engine;
    let text = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(etc)
            .unwrap(),
    )
    .unwrap();
    for line in [
        "CSRF_TRUSTED_ORIGINS = ['https://horizon.cloud.lab.example.net']",
        "SECURE_PROXY_SSL_HEADER = ('HTTP_X_FORWARDED_PROTO', 'https')",
        "CSRF_COOKIE_SECURE = True",
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
}

#[test]
fn the_provider_subnet_becomes_neutrons_external_network_on_a_bridged_physnet() {
    // The chart's bootstrap hook Job runs gcc's script: the external network and its
    // floating range, created only when missing.
    let (_, maps) = rendered("neutron", "ConfigMap");
    let script = maps["neutron-bin"]["data"]["bootstrap.sh"]
        .as_str()
        .unwrap();
    for line in [
        "openstack network show public >/dev/null 2>&1 || openstack network create public --external --provider-network-type flat --provider-physical-network physnet1",
        "--subnet-range 172.16.50.0/24 --gateway 172.16.50.1 --no-dhcp --allocation-pool start=172.16.50.100,end=172.16.50.250 --service-type network:floatingip --service-type network:router_gateway",
    ] {
        assert!(script.contains(line), "{line} not in:\n{script}");
    }
    let (_, jobs) = rendered("neutron", "Job");
    assert!(jobs.contains_key("neutron-bootstrap"), "{:?}", jobs.keys());

    // Rehearsed: only with a node bridging physnet1 does the network reach a wire.
    let findings = |inventory: &str| {
        let src = gcc::source::MemSource::new()
            .with(
                "environments/prod.yaml",
                std::fs::read(repo().join("environments/prod.yaml")).unwrap(),
            )
            .with("inventory/laundry-lab.yaml", inventory);
        let files: BTreeMap<String, Vec<u8>> = compile(&src, "prod")
            .unwrap()
            .build
            .expect("builds")
            .rendered
            .files
            .into_iter()
            .filter(|(p, _)| {
                !p.contains("/helmrelease-") || p.ends_with("/helmrelease-neutron.yaml")
            })
            .collect();
        let r = rehearse(&files, &stage(repo().join("../shared/charts")), None);
        codes(&r)
            .into_iter()
            .filter(|(c, _)| *c == "gcc::rehearse::provider_unbridged")
            .map(|(_, m)| m)
            .collect::<Vec<_>>()
    };
    let lab =
        std::fs::read_to_string(repo().join("inventory/laundry-lab/laundry-lab.yaml")).unwrap();
    assert_eq!(findings(&lab), Vec::<String>::new());
    let unbridged = lab.replace("bridge: br-ex, ", "");
    let found = findings(&unbridged);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .contains("creates external network public on physnet1, but no node bridges physnet1"),
        "{}",
        found[0]
    );
}
