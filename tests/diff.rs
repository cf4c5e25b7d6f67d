//! `gcc diff`: scripted edits of the bundled example, asserted on objects, paths and
//! risk flags; markdown goldens; source revisions against published builds.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{git, repo, text};
use gcc::compile::compile;
use gcc::diff::{
    Change, Diff, MARKDOWN_MAX_BYTES, MarkdownOptions, Side, diff, markdown, markdown_with,
};
use gcc::source::MemSource;

const ENV: &str = "environments/prod.yaml";
const INV: &str = "inventory/laundry-lab.yaml";
/// The example inventory's file that [`INV`] stands for (the bundled inventory is a
/// directory: this file and the lab's other machines).
const INV_FILE: &str = "inventory/laundry-lab/laundry-lab.yaml";

fn example(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap()
}

fn replace(s: &str, from: &str, to: &str) -> String {
    assert!(s.contains(from), "{from:?} not found");
    s.replacen(from, to, 1)
}

/// Builds prod from the example with `env` and `inv` as its two input files.
fn build(label: &str, env: &str, inv: &str) -> Side {
    let src = MemSource::new().with(ENV, env).with(INV, inv);
    let c = compile(&src, "prod").unwrap();
    let b = c
        .build
        .unwrap_or_else(|| panic!("{label}: {:?}", c.diagnostics));
    Side {
        label: label.into(),
        files: b.rendered.files,
    }
}

fn example_side() -> Side {
    build("example", &example(ENV), &example(INV_FILE))
}

fn diff_env(label: &str, env: String) -> Diff {
    diff(
        "prod",
        &example_side(),
        &build(label, &env, &example(INV_FILE)),
    )
}

/// `(code, object, path)` of every risk.
fn risks(d: &Diff) -> Vec<(String, String, String)> {
    d.risks
        .iter()
        .map(|r| {
            (
                r.code.to_string(),
                r.object.as_ref().map(|o| d.name(o)).unwrap_or_default(),
                r.path.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// `(mark, object)` of every differing object.
fn objects(d: &Diff) -> Vec<(char, String)> {
    d.objects
        .iter()
        .map(|o| {
            let mark = match o.change {
                Change::Added { .. } => '+',
                Change::Removed { .. } => '-',
                Change::Changed { .. } => '~',
            };
            (mark, d.name(&o.key))
        })
        .collect()
}

fn fields(d: &Diff, object: &str) -> Vec<(String, String, String)> {
    let o = d
        .objects
        .iter()
        .find(|o| d.name(&o.key) == object)
        .unwrap_or_else(|| panic!("{object} not in the diff"));
    let Change::Changed { fields, .. } = &o.change else {
        panic!("{object} is not changed");
    };
    let s = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    fields
        .iter()
        .map(|f| (f.path.clone(), s(&f.old), s(&f.new)))
        .collect()
}

fn golden_markdown(name: &str, d: &Diff) {
    common::assert_golden(&format!("diff/{name}"), &markdown(d));
}

#[test]
fn bumping_novas_chart_changes_one_field_and_a_downgrade_is_flagged() {
    let bumped = replace(
        &example(ENV),
        "  nova:\n    autoscale:",
        "  nova:\n    version: 2024.2.600+13651f45-628a320c\n    autoscale:",
    );
    let d = diff_env("nova-bumped", bumped.clone());
    assert_eq!(
        objects(&d),
        [('~', "HelmRelease openstack/nova".to_string())]
    );
    assert_eq!(
        fields(&d, "HelmRelease openstack/nova"),
        [(
            "spec.chart.spec.version".to_string(),
            "\"2024.2.555+13651f45-628a320c\"".to_string(),
            "\"2024.2.600+13651f45-628a320c\"".to_string()
        )]
    );
    assert!(
        d.risks.is_empty(),
        "an upgrade is not a risk: {:?}",
        d.risks
    );
    assert_eq!(d.inputs_changed, [ENV]);
    // The other way round is a downgrade.
    let back = diff(
        "prod",
        &build("nova-bumped", &bumped, &example(INV_FILE)),
        &example_side(),
    );
    assert_eq!(
        risks(&back),
        [(
            "chart_downgraded".to_string(),
            "HelmRelease openstack/nova".to_string(),
            "spec.chart.spec.version".to_string()
        )]
    );
}

#[test]
fn lowering_keystones_autoscale_minimum_flags_the_hpa() {
    let before = replace(
        &example(ENV),
        "  keystone: {}",
        "  keystone: { autoscale: { min: 3, max: 6 } }",
    );
    let after = replace(
        &example(ENV),
        "  keystone: {}",
        "  keystone: { autoscale: { min: 2, max: 6 } }",
    );
    let d = diff(
        "prod",
        &build("keystone-min-3", &before, &example(INV_FILE)),
        &build("keystone-min-2", &after, &example(INV_FILE)),
    );
    // The autoscaler's floor, and the replicas the chart starts the Deployment with.
    assert_eq!(
        objects(&d),
        [
            (
                '~',
                "HorizontalPodAutoscaler openstack/keystone-api".to_string()
            ),
            ('~', "HelmRelease openstack/keystone".to_string())
        ]
    );
    assert_eq!(
        fields(&d, "HelmRelease openstack/keystone"),
        [(
            "spec.values.pod.replicas.api".to_string(),
            "3".to_string(),
            "2".to_string()
        )]
    );
    assert_eq!(
        fields(&d, "HorizontalPodAutoscaler openstack/keystone-api"),
        [(
            "spec.minReplicas".to_string(),
            "3".to_string(),
            "2".to_string()
        )]
    );
    assert_eq!(
        risks(&d),
        [
            (
                "replicas_lowered".to_string(),
                "HelmRelease openstack/keystone".to_string(),
                "spec.values.pod.replicas.api".to_string()
            ),
            (
                "hpa_min_lowered".to_string(),
                "HorizontalPodAutoscaler openstack/keystone-api".to_string(),
                "spec.minReplicas".to_string()
            )
        ]
    );
    golden_markdown("keystone-autoscale.md", &d);
}

#[test]
fn removing_a_service_flags_its_data() {
    let d = diff_env(
        "no-masakari",
        replace(&example(ENV), "  masakari: {}\n", ""),
    );
    let removed: Vec<String> = objects(&d)
        .into_iter()
        .filter(|(m, _)| *m == '-')
        .map(|(_, o)| o)
        .collect();
    for o in [
        "HelmRelease openstack/masakari",
        "Database openstack/masakari",
        "User.k8s.mariadb.com openstack/masakari",
        "User.rabbitmq.com openstack/masakari",
        "Grant openstack/masakari-grant",
    ] {
        assert!(
            removed.contains(&o.to_string()),
            "{o} not removed: {removed:?}"
        );
    }
    assert!(
        objects(&d).iter().all(|(m, _)| *m != '+'),
        "{:?}",
        objects(&d)
    );
    let data: Vec<String> = risks(&d)
        .into_iter()
        .filter(|(c, _, _)| c == "data_loss")
        .map(|(_, o, _)| o)
        .collect();
    assert!(
        data.contains(&"Database openstack/masakari".to_string()),
        "{data:?}"
    );
    assert!(
        data.contains(&"User.k8s.mariadb.com openstack/masakari".to_string()),
        "{data:?}"
    );
    assert!(
        data.contains(&"User.rabbitmq.com openstack/masakari".to_string()),
        "{data:?}"
    );
    // Risks are listed first and data loss leads.
    assert_eq!(d.risks[0].code, "data_loss");
    golden_markdown("remove-masakari.md", &d);
}

#[test]
fn moving_a_dhcp_pool_changes_only_keas_file_and_a_vip_pool_changes_metallb() {
    let inv = replace(
        &example(INV_FILE),
        "{ name: mgmt-dynamic, start: 10.20.0.100, end: 10.20.0.199 }",
        "{ name: mgmt-dynamic, start: 10.20.0.150, end: 10.20.0.249 }",
    );
    let d = diff(
        "prod",
        &example_side(),
        &build("dhcp-moved", &example(ENV), &inv),
    );
    // No Kubernetes object: the lab's DHCP server, field by field.
    assert!(objects(&d).is_empty(), "{:?}", objects(&d));
    assert!(!d.identical);
    assert_eq!(d.inputs_changed, [INV]);
    assert_eq!(d.files.len(), 1, "{:?}", d.files);
    assert_eq!(d.files[0].path, "site/dhcp/kea-dhcp4.json");
    let gcc::diff::FileChange::Changed {
        fields: changed,
        unified,
    } = &d.files[0].change
    else {
        panic!("{:?}", d.files[0]);
    };
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].path, "Dhcp4.subnet4[0].pools[0].pool");
    assert_eq!(
        changed[0].new,
        Some(serde_json::json!("10.20.0.150 - 10.20.0.249"))
    );
    assert!(
        unified.contains("+++ b/site/dhcp/kea-dhcp4.json"),
        "{unified}"
    );
    let text = gcc::diff::text(&d, false);
    assert!(
        text.contains("inputs changed: inventory/laundry-lab.yaml"),
        "{text}"
    );
    assert!(text.contains("; 1 other file differs"), "{text}");
    assert!(
        text.contains("~ file site/dhcp/kea-dhcp4.json\n    Dhcp4.subnet4[0].pools[0].pool: \"10.20.0.100 - 10.20.0.199\" → \"10.20.0.150 - 10.20.0.249\""),
        "{text}"
    );
    assert!(
        gcc::diff::markdown(&d).contains("file <code>site/dhcp/kea-dhcp4.json</code> (1 field)")
    );

    let inv = replace(
        &example(INV_FILE),
        "{ name: primary, start: 10.20.2.10, end: 10.20.2.50 }",
        "{ name: primary, start: 10.20.2.100, end: 10.20.2.150 }",
    );
    let d = diff(
        "prod",
        &example_side(),
        &build("vip-moved", &example(ENV), &inv),
    );
    assert_eq!(
        objects(&d),
        [('~', "IPAddressPool metallb-system/primary".to_string())]
    );
    let f = fields(&d, "IPAddressPool metallb-system/primary");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].1, "\"10.20.2.10-10.20.2.50\"");
    assert_eq!(f[0].2, "\"10.20.2.100-10.20.2.150\"");
}

#[test]
fn switching_a_storage_class_flags_storage() {
    let env = replace(
        &example(ENV),
        "  general: { provider: longhorn, replicas: 2 }",
        "  general: { provider: nfs, export: nas-01/volumes }",
    );
    let d = diff_env("general-on-nfs", env);
    assert!(
        objects(&d).contains(&('~', "StorageClass general".to_string())),
        "{:?}",
        objects(&d)
    );
    let f = fields(&d, "StorageClass general");
    assert!(
        f.iter().any(|(p, old, new)| p == "provisioner"
            && old == "\"driver.longhorn.io\""
            && new == "\"nfs.csi.k8s.io\""),
        "{f:?}"
    );
    let r = risks(&d);
    assert!(
        r.contains(&(
            "storage_changed".into(),
            "StorageClass general".into(),
            f[0].0.clone()
        )),
        "{r:?}"
    );
    // Longhorn is no longer needed: its namespace goes, which is data loss.
    assert!(
        r.contains(&(
            "data_loss".into(),
            "Namespace longhorn-system".into(),
            String::new()
        )),
        "{r:?}"
    );
}

#[test]
fn a_quorum_below_three_and_weaker_anti_affinity_are_flagged_in_base() {
    let example = example_side();
    let mut edited = example.clone();
    let path = &common::at(&edited.files, "openstack/mariadb-mariadb-cluster.yaml");
    let s = text(&edited.files[path]);
    let s = replace(&s, "  replicas: 3\n", "  replicas: 2\n");
    let s = replace(
        &s,
        "topologyKey: topology.gcc.cloud/machine",
        "topologyKey: kubernetes.io/hostname",
    );
    edited.files.insert(path.into(), s.into_bytes());
    edited.label = "hand-edited".into();
    let d = diff("prod", &example, &edited);
    let codes: Vec<String> = risks(&d).into_iter().map(|r| r.0).collect();
    for c in [
        "quorum_below_3",
        "anti_affinity_weakened",
        "replicas_lowered",
        "nondeterministic_build",
    ] {
        assert!(codes.contains(&c.to_string()), "{c} missing: {codes:?}");
    }
    // Same build id, different bytes: a determinism bug (or a hand edit) leads the list.
    assert_eq!(d.risks[0].code, "nondeterministic_build");
}

/// A tree of `n` Deployments running `replicas` each.
fn deployments(label: &str, n: usize, replicas: usize) -> Side {
    let files = (0..n)
        .map(|i| {
            let yaml = format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api-{i:03}\n  namespace: openstack\nspec:\n  replicas: {replicas}\n"
            );
            (format!("openstack/deployment-api-{i:03}.yaml"), yaml.into_bytes())
        })
        .collect();
    Side {
        label: label.into(),
        files,
    }
}

#[test]
fn markdown_is_cut_to_fit_a_comment() {
    // Every object removed: far more than one comment holds.
    let empty = Side {
        label: "nothing".into(),
        files: BTreeMap::new(),
    };
    let d = diff("prod", &example_side(), &empty);
    let md = markdown(&d);
    assert!(md.len() <= MARKDOWN_MAX_BYTES, "{}", md.len());
    assert!(
        md.contains("changed objects or files. Run `gcc diff prod` locally"),
        "{}",
        &md[md.len() - 300..]
    );
    assert!(md.contains("| added | removed |"));

    // 500 changed objects, each a risk: the limit holds for the whole comment, risks
    // included, and the closing line says what was cut.
    let d = diff(
        "prod",
        &deployments("old", 500, 3),
        &deployments("new", 500, 2),
    );
    assert_eq!((d.summary.changed, d.risks.len()), (500, 500));
    for max in [MARKDOWN_MAX_BYTES, 20_000, 4_000] {
        let opts = MarkdownOptions {
            title: Some("Deploy plan for <prod>".into()),
            comment_id: Some("prod".into()),
            max_bytes: max,
        };
        let md = markdown_with(&d, &opts);
        assert!(md.len() <= max, "{max}: {}", md.len());
        assert!(
            md.starts_with("<!-- gcc-diff:prod -->\n### Deploy plan for &lt;prod&gt;\n"),
            "{}",
            &md[..200]
        );
        let shown_risks = md.matches("- ⚠️ **replicas_lowered**").count();
        let shown_objects = md.matches("<details>").count();
        assert!(shown_risks > 0, "{max}");
        let note = md.lines().last().unwrap();
        assert!(note.contains(&format!("within {max} bytes")), "{note}");
        if shown_risks < 500 {
            assert!(
                note.contains(&format!("{} of 500 risks", 500 - shown_risks)),
                "{note}"
            );
        }
        assert!(
            note.contains(&format!("{} of 500 changed objects", 500 - shown_objects)),
            "{note}"
        );
    }
    // A comment that fits is whole, with no closing line.
    let small = diff("prod", &deployments("old", 3, 3), &deployments("new", 3, 2));
    let md = markdown(&small);
    assert_eq!(md.matches("<details>").count(), 3);
    assert!(!md.contains("Not shown"));
}

#[test]
fn markdown_keeps_backticks_and_angle_brackets_as_written() {
    // An Argo CD placeholder in a risk's reason is text, not a link or a tag; in a field
    // table it is code, as written.
    let rewired = |s: String| {
        replace(
            &s,
            "  nova:\n",
            "  nova:\n    secrets:\n      - { path: conf.nova.keystone_authtoken.memcache_secret_key, secret: nova-memcache, key: key }\n",
        )
    };
    let d = diff(
        "argocd",
        &build_example_env("argocd", "example", |s| s),
        &build_example_env("argocd", "rewired", rewired),
    );
    let md = markdown(&d);
    let placeholder = "path:secret/data/gcc/argocd/openstack/nova-memcache#key";
    let risk = md
        .lines()
        .find(|l| l.starts_with("- ⚠️ **secret_ref_changed**"))
        .unwrap();
    assert!(risk.contains(&format!("&lt;{placeholder}&gt;")), "{risk}");
    assert!(!risk.contains(&format!("<{placeholder}>")), "{risk}");
    assert!(
        md.contains(&format!("`\"<{placeholder}>\"`")),
        "no code span with the placeholder"
    );
    // Backticks inside a value stay, in a longer code span.
    let mut a = deployments("a", 1, 3);
    let mut b = deployments("b", 1, 3);
    for (side, v) in [(&mut a, "plain"), (&mut b, "with `ticks` | pipe")] {
        let f = side.files.values_mut().next().unwrap();
        f.extend_from_slice(format!("  note: \"{v}\"\n").as_bytes());
    }
    let md = markdown(&diff("prod", &a, &b));
    assert!(md.contains("| ``\"with `ticks` \\| pipe\"`` |"), "{md}");
}

#[test]
fn identical_inputs_give_an_empty_diff() {
    let d = diff("prod", &example_side(), &example_side());
    assert!(d.identical && d.objects.is_empty() && d.risks.is_empty());
    assert!(markdown(&d).contains("No change"));
}

// ---- the CLI against git repositories ----

fn site() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    for f in [
        ENV,
        INV_FILE,
        "inventory/laundry-lab/machines.yaml",
        "environments/aio.yaml",
        "inventory/aio-lab.yaml",
    ] {
        std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
        std::fs::copy(repo().join(f), root.join(f)).unwrap();
    }
    std::fs::write(root.join(".gitignore"), "out/\n").unwrap();
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "inputs"]);
    (dir, root)
}

fn run(root: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = common::gcc(root, args);
    (o.status.code(), text(&o.stdout), text(&o.stderr))
}

/// The diff JSON without the side labels (which name how each side was reached).
fn unlabelled(json: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["from"]["label"] = serde_json::Value::Null;
    v["to"]["label"] = serde_json::Value::Null;
    v
}

#[test]
fn source_revisions_diff_like_their_published_builds() {
    let (_keep, root) = site();
    let rev1 = git(&root, &["rev-parse", "HEAD"]);
    let env = replace(&example(ENV), "  masakari: {}\n", "");
    let env = replace(
        &env,
        "  keystone: {}",
        "  keystone: { autoscale: { min: 4, max: 8 } }",
    );
    std::fs::write(root.join(ENV), env).unwrap();
    git(
        &root,
        &["commit", "-q", "-am", "drop masakari, keystone min 4"],
    );
    let rev2 = git(&root, &["rev-parse", "HEAD"]);

    let (c, _, e) = run(&root, &["build", "prod", "--commit", "--source-ref", &rev1]);
    assert_eq!(c, Some(0), "{e}");
    let pub1 = git(&root, &["rev-parse", "gcc/prod"]);
    let (c, _, e) = run(&root, &["build", "prod", "--commit", "--source-ref", &rev2]);
    assert_eq!(c, Some(0), "{e}");

    let src = run(
        &root,
        &[
            "diff",
            "prod",
            "--from",
            &format!("src:{rev1}"),
            "--to",
            "src:HEAD",
            "--format",
            "json",
        ],
    );
    let published = run(
        &root,
        &[
            "diff", "prod", "--from", &pub1, "--to", "gcc/prod", "--format", "json",
        ],
    );
    assert_eq!(src.0, Some(0), "{}", src.2);
    assert_eq!(published.0, Some(0), "{}", published.2);
    let (mut a, b) = (unlabelled(&src.1), unlabelled(&published.1));
    // Only the source side knows its inputs: it names the line behind each changed value
    // (keystone's floor: the environment's autoscale.min); otherwise the two agree.
    let mut origins = Vec::new();
    for o in a["objects"].as_array_mut().unwrap() {
        let fields = o
            .get_mut("fields")
            .and_then(serde_json::Value::as_array_mut);
        for f in fields.into_iter().flatten() {
            if let Some(origin) = f.as_object_mut().unwrap().remove("origin") {
                origins.push(origin.as_str().unwrap().to_string());
            }
        }
    }
    assert!(
        origins
            .iter()
            .any(|o| o.starts_with("environments/prod.yaml:") && o.ends_with("(profile)")),
        "{origins:?}"
    );
    assert_eq!(a, b, "source diff and published diff disagree");
    assert!(a["summary"]["removed"].as_u64().unwrap() > 0);
    assert!(
        serde_json::from_str::<serde_json::Value>(&src.1).unwrap()["from"]["label"]
            .as_str()
            .unwrap()
            .starts_with(&format!("src:{rev1}@"))
    );

    // Defaults: from the deploy branch tip to the working directory, which match.
    let (c, out, e) = run(&root, &["diff", "prod", "--exit-code"]);
    assert_eq!(c, Some(0), "{out}{e}");
    assert!(out.contains("identical"), "{out}");
    // An uncommitted edit differs: exit 1 with --exit-code, 0 without.
    let edited = replace(
        &std::fs::read_to_string(root.join(ENV)).unwrap(),
        "heat: {}",
        "heat: { replicas: 3 }",
    );
    std::fs::write(root.join(ENV), edited).unwrap();
    let (c, out, _) = run(&root, &["diff", "prod", "--exit-code"]);
    assert_eq!(c, Some(1), "{out}");
    assert!(
        out.contains("~ HorizontalPodAutoscaler openstack/heat-api"),
        "{out}"
    );
    assert!(
        !out.contains('\u{1b}'),
        "no colour when NO_COLOR is set or stdout is a pipe"
    );
    assert_eq!(run(&root, &["diff", "prod"]).0, Some(0));
    let (c, out, _) = run(&root, &["--color", "always", "diff", "prod"]);
    assert_eq!(c, Some(0));
    assert!(out.contains("\u{1b}["), "--color always colours");
    let (c, md, _) = run(&root, &["diff", "prod", "--format", "markdown"]);
    assert_eq!(c, Some(0));
    assert!(
        md.starts_with("### gcc diff `prod`") && md.contains("<details>"),
        "{md}"
    );

    // Errors exit 2.
    let (c, _, e) = run(
        &root,
        &["diff", "prod", "--from", "src:nope", "--exit-code"],
    );
    assert_eq!(c, Some(2), "{e}");
    let (c, _, e) = run(&root, &["diff", "aio"]);
    assert_eq!(c, Some(2));
    assert!(
        e.contains("gcc/aio does not exist yet") && e.contains("--from src:HEAD"),
        "{e}"
    );
    // Invalid inputs on one side are an error (2), not a difference (1).
    std::fs::write(root.join(ENV), "profile: [").unwrap();
    let (c, _, _) = run(&root, &["diff", "prod", "--exit-code"]);
    assert_eq!(c, Some(2));
}

#[test]
fn an_oci_chart_moved_back_is_a_chart_downgrade_not_an_image_one() {
    // cert-manager's chart comes from an OCIRepository: its version is `spec.ref.tag`.
    let example = example_side();
    let mut edited = example.clone();
    let path = &common::at(&edited.files, "flux-system/ocirepository-cert-manager.yaml");
    let s = replace(&text(&edited.files[path]), "tag: v1.19.5", "tag: v1.18.2");
    edited.files.insert(path.into(), s.into_bytes());
    let d = diff("prod", &example, &edited);
    let codes: Vec<String> = risks(&d).into_iter().map(|r| r.0).collect();
    assert!(codes.contains(&"chart_downgraded".to_string()), "{codes:?}");
    assert!(
        !codes.contains(&"image_downgraded".to_string()),
        "{codes:?}"
    );
}

#[test]
fn moving_a_public_name_or_the_gateways_address_is_flagged() {
    let d = diff_env(
        "identity-renamed",
        replace(
            &example(ENV),
            "  keystone: {}\n",
            "  keystone:\n    public:\n      identity: identity.example.org\n",
        ),
    );
    let public: Vec<(String, String)> = risks(&d)
        .into_iter()
        .filter(|(c, _, _)| c == "public_endpoint_changed")
        .map(|(_, o, p)| (o, p))
        .collect();
    for (object, path) in [
        ("HTTPRoute openstack/keystone-identity", "spec.hostnames[0]"),
        (
            "HelmRelease openstack/keystone",
            "spec.values.endpoints.identity.host_fqdn_override.public.host",
        ),
    ] {
        assert!(
            public.contains(&(object.to_string(), path.to_string())),
            "{object} {path} not flagged: {public:?}"
        );
    }
    // The Gateway's address, from another address of its pool.
    let d = diff_env(
        "moved-gateway",
        format!("{}gateway:\n  address: 172.16.50.11\n", example(ENV)),
    );
    assert!(
        risks(&d)
            .iter()
            .any(|(c, o, _)| c == "public_endpoint_changed"
                && o == "Gateway envoyproxy-gateway-system/gcc"),
        "{:?}",
        risks(&d)
    );
    // A service gone takes its URL with it.
    let d = diff_env(
        "no-masakari",
        replace(&example(ENV), "  masakari: {}\n", ""),
    );
    assert!(
        risks(&d)
            .iter()
            .any(|(c, o, _)| c == "public_endpoint_changed"
                && o == "HTTPRoute openstack/masakari-instance-ha"),
        "{:?}",
        risks(&d)
    );
}

/// Builds `env_name` of the example (its environment file edited by `edit`) in memory.
fn build_example_env(env_name: &str, label: &str, edit: impl Fn(String) -> String) -> Side {
    let env = edit(example(&format!("environments/{env_name}.yaml")));
    let src = common::with_inventories(
        MemSource::new().with(format!("environments/{env_name}.yaml"), env),
    );
    let c = compile(&src, env_name).unwrap();
    let b = c
        .build
        .unwrap_or_else(|| panic!("{label}: {:?}", c.diagnostics));
    Side {
        label: label.into(),
        files: b.rendered.files,
    }
}

#[test]
fn ovn_central_below_three_members_is_a_quorum_risk_on_both_targets() {
    // OVN central's members are the addresses the plan writes into kube-ovn's
    // MASTER_NODES (the chart runs one central per address): a string, not a "replicas".
    for (env, file, object, path) in [
        (
            "prod",
            "1-infrastructure/kube-system/helmrelease-kube-ovn.yaml",
            "HelmRelease kube-system/kube-ovn",
            "spec.values.MASTER_NODES",
        ),
        (
            "argocd",
            "argocd/application-kube-ovn.yaml",
            "Application argocd/kube-ovn",
            "spec.source.helm.valuesObject.MASTER_NODES",
        ),
    ] {
        let example = build_example_env(env, "example", |s| s);
        let mut edited = example.clone();
        let s = text(&edited.files[file]);
        let s = replace(
            &s,
            "10.20.0.31,10.20.0.32,10.20.0.33",
            "10.20.0.31,10.20.0.32",
        );
        edited.files.insert(file.into(), s.into_bytes());
        let d = diff(env, &example, &edited);
        let found = risks(&d);
        for code in ["quorum_below_3", "replicas_lowered"] {
            assert!(
                found.contains(&(code.into(), object.into(), path.into())),
                "{env}: {code} missing: {found:?}"
            );
        }
    }
}

#[test]
fn lowering_an_autoscalers_ceiling_is_flagged() {
    let d = diff_env(
        "nova-max-6",
        replace(
            &example(ENV),
            "autoscale: { min: 3, max: 9 }",
            "autoscale: { min: 3, max: 6 }",
        ),
    );
    let found = risks(&d);
    assert!(
        found.contains(&(
            "hpa_max_lowered".into(),
            "HorizontalPodAutoscaler openstack/nova-api-osapi".into(),
            "spec.maxReplicas".into()
        )),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(c, _, _)| c == "replicas_lowered"),
        "{found:?}"
    );
}

#[test]
fn a_chart_moved_to_another_release_while_its_images_stay_is_skew() {
    // Pinning nova's chart of the 2025.1 set while its images stay 2024.1's.
    let pinned = |s: String| {
        replace(
            &s,
            "  nova:\n",
            "  nova:\n    version: \"2025.1.19+ed289c1cd\"\n",
        )
    };
    for (env, object, path) in [
        (
            "prod",
            "HelmRelease openstack/nova",
            "spec.chart.spec.version",
        ),
        (
            "argocd",
            "Application argocd/nova",
            "spec.source.targetRevision",
        ),
    ] {
        let d = diff(
            env,
            &build_example_env(env, "example", |s| s),
            &build_example_env(env, "nova-chart-pinned", pinned),
        );
        let skew: Vec<_> = d
            .risks
            .iter()
            .filter(|r| r.code == "release_skew")
            .collect();
        assert_eq!(skew.len(), 1, "{env}: {:?}", risks(&d));
        assert_eq!(d.name(skew[0].object.as_ref().unwrap()), object);
        assert_eq!(skew[0].path.as_deref(), Some(path));
        assert_eq!(
            skew[0].reason,
            "nova's chart 2025.1.19+ed289c1cd comes with 2025.1 images, but its images are \
             2024.1's; the catalog pairs 2024.1 images with chart 2024.2.555+13651f45-628a320c"
        );
    }
    // Images moved to 2025.1 under the 2024.1 chart: out of step the other way round.
    let images_only = |s: String| replace(&s, "  nova:\n", "  nova:\n    release: \"2025.1\"\n");
    let d = diff(
        "prod",
        &example_side(),
        &build_example_env("prod", "nova-images-2025.1", images_only),
    );
    assert!(
        d.risks.iter().any(|r| r.code == "release_skew"),
        "{:?}",
        d.risks
    );
    // Both moved together, as the catalog's 2025.1 set pairs them: no skew.
    let both = |s: String| pinned(images_only(s));
    let d = diff(
        "prod",
        &example_side(),
        &build_example_env("prod", "nova-2025.1", both),
    );
    assert!(
        !d.risks.iter().any(|r| r.code == "release_skew"),
        "{:?}",
        d.risks
    );
    // Nothing the bundled examples build is out of step (every release compared as added).
    for env in ["prod", "argocd", "aio"] {
        let empty = Side {
            label: "nothing".into(),
            files: BTreeMap::new(),
        };
        let d = diff(env, &empty, &build_example_env(env, "example", |s| s));
        assert!(d.summary.added > 20, "{env}");
        assert!(
            !d.risks.iter().any(|r| r.code == "release_skew"),
            "{env}: {:?}",
            d.risks
        );
    }
}

#[test]
fn the_same_secret_rewiring_is_flagged_on_both_targets() {
    let rewired = |s: String| {
        replace(
            &s,
            "  nova:\n",
            "  nova:\n    secrets:\n      - { path: conf.nova.keystone_authtoken.memcache_secret_key, secret: nova-memcache, key: key }\n",
        )
    };
    for (env, object) in [
        ("prod", "HelmRelease openstack/nova"),
        ("argocd", "Application argocd/nova"),
    ] {
        let d = diff(
            env,
            &build_example_env(env, "example", |s| s),
            &build_example_env(env, "rewired", rewired),
        );
        let flagged: Vec<_> = risks(&d)
            .into_iter()
            .filter(|(c, o, _)| c == "secret_ref_changed" && o == object)
            .collect();
        assert!(!flagged.is_empty(), "{env}: {:?}", risks(&d));
    }
}

#[test]
fn a_pr_comment_has_its_marker_title_and_size_from_the_command_line() {
    let (_keep, root) = site();
    let env = std::fs::read_to_string(root.join(ENV)).unwrap();
    std::fs::write(root.join(ENV), replace(&env, "  masakari: {}\n", "")).unwrap();
    git(&root, &["commit", "-qam", "no masakari"]);
    let args = |extra: &[&'static str]| {
        let mut a = vec!["diff", "prod", "--from", "src:HEAD~1", "--to", "src:HEAD"];
        a.extend_from_slice(extra);
        a
    };
    let (code, md, err) = run(
        &root,
        &args(&[
            "--format",
            "markdown",
            "--comment-id",
            "prod.plan",
            "--title",
            "Plan for prod",
            "--max-bytes",
            "3000",
        ]),
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        md.starts_with("<!-- gcc-diff:prod.plan -->\n### Plan for prod\n"),
        "{md}"
    );
    // The output is the comment plus the newline `out` ends it with, at most.
    assert!(md.len() <= 3000, "{}", md.len());
    assert!(
        md.contains("Not shown, to keep this comment within 3000 bytes"),
        "{md}"
    );
    // Markdown-only options without markdown, a marker that would break its comment,
    // a limit too small to hold a heading: usage errors.
    for extra in [
        &["--title", "x"][..],
        &["--format", "markdown", "--comment-id", "a--b"],
        &["--format", "markdown", "--comment-id", "a>b"],
        &["--format", "markdown", "--max-bytes", "100"],
    ] {
        let (code, _, err) = run(&root, &args(extra));
        assert_eq!(code, Some(2), "{extra:?}: {err}");
    }
}

#[test]
fn all_diffs_every_environment_either_side_holds_with_one_summary() {
    let (_keep, root) = site();
    let env = std::fs::read_to_string(root.join(ENV)).unwrap();
    std::fs::write(root.join(ENV), replace(&env, "  masakari: {}\n", "")).unwrap();
    std::fs::copy(
        root.join("environments/aio.yaml"),
        root.join("environments/lab2.yaml"),
    )
    .unwrap();
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "no masakari; a second lab"]);
    let pr = ["diff", "--all", "--from", "src:HEAD~1", "--to", "src:HEAD"];
    let with = |extra: &[&'static str]| [&pr[..], extra].concat();
    let pr_with =
        |extra: &[&str]| -> Vec<String> { pr.iter().chain(extra).map(|s| s.to_string()).collect() };

    let (code, json, err) = run(&root, &with(&["--format", "json"]));
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let status: Vec<(&str, &str)> = v["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["environment"].as_str().unwrap(),
                e["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("aio", "identical"),
            ("lab2", "differs"),
            ("prod", "differs")
        ]
    );
    // The new environment is compared with nothing: all of it is added.
    let lab2 = &v["environments"][1]["diff"];
    assert_eq!(lab2["summary"]["removed"], 0);
    assert!(lab2["summary"]["added"].as_u64().unwrap() > 50, "{lab2}");
    assert!(
        lab2["from"]["label"]
            .as_str()
            .unwrap()
            .contains("no environment lab2")
    );
    assert_eq!(v["summary"]["differ"], 2);
    assert_eq!(v["summary"]["failed"], 0);
    let prod_risks = v["environments"][2]["diff"]["risks"]
        .as_array()
        .unwrap()
        .len();
    assert!(prod_risks > 0);

    let (code, text_out, _) = run(&root, &with(&["--exit-code"]));
    assert_eq!(code, Some(1));
    let last = text_out.lines().last().unwrap();
    assert!(
        last.starts_with("3 environments: 2 differ, 1 identical, 0 failed; "),
        "{last}"
    );
    for section in ["== aio", "== lab2", "== prod"] {
        assert!(text_out.lines().any(|l| l == section), "{section}");
    }

    let (code, md, err) = run(
        &root,
        &with(&[
            "--format",
            "markdown",
            "--comment-id",
            "fleet",
            "--max-bytes",
            "20000",
        ]),
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(md.len() <= 20_000, "{}", md.len());
    assert!(md.starts_with("<!-- gcc-diff:fleet -->\n### gcc diff: every environment\n"));
    for row in ["| `aio` | 0 | 0 | 0 | 0 |", "| `lab2` |", "| `prod` |"] {
        assert!(md.contains(row), "{row} missing");
    }
    // Every environment gets its part of the budget, the last one included.
    assert!(md.contains("### prod\n"), "prod's section was crowded out");

    // Nothing published yet: every environment is compared with nothing.
    let (code, json, err) = run(&root, &["diff", "--all", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for e in v["environments"].as_array().unwrap() {
        assert_eq!(e["status"], "differs", "{e}");
        assert!(
            e["diff"]["from"]["label"]
                .as_str()
                .unwrap()
                .ends_with("(not published)")
        );
    }
    // --rendered applies to every environment: without the charts, each differing release
    // is marked not rendered (and still diffed as a tree object).
    let no_charts = tempfile::tempdir().unwrap();
    let args = pr_with(&[
        "--rendered",
        "--charts",
        no_charts.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    let (code, json, err) = run(&root, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, Some(0), "{err}{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let lab2 = &v["environments"][1]["diff"];
    let rendered = lab2["rendered"].as_array().unwrap();
    assert!(rendered.len() > 5, "{}", rendered.len());
    assert!(rendered.iter().all(|r| r["not_rendered"].is_string()));
    // --all takes no environment, and no single branch.
    assert_eq!(run(&root, &["diff", "--all", "prod"]).0, Some(2));
    assert_eq!(run(&root, &["diff", "--all", "--branch", "x"]).0, Some(2));
}

/// A chart directory holding keystone's pinned chart and a "next version" of it whose
/// API pods get more memory and whose db-sync script changed.
fn charts_with_a_keystone_bump() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shared = repo().join("../shared/charts");
    let pinned = "keystone@2024.2.386+13651f45-628a320c";
    for (name, bump) in [(pinned, false), ("keystone@2024.2.387+test", true)] {
        for (rel, bytes) in common::read_tree(&shared.join(pinned)) {
            let mut text = String::from_utf8(bytes).unwrap();
            if bump && rel == "keystone/values.yaml" {
                text = replace(&text, "memory: \"1024Mi\"", "memory: \"2048Mi\"");
            }
            if bump && rel == "keystone/templates/bin/_db-sync.sh.tpl" {
                text.push_str("# db-sync of 2024.2.387\n");
            }
            let path = dir.path().join(name).join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }
    dir
}

#[test]
fn a_chart_bump_diffs_what_the_chart_renders() {
    let charts = charts_with_a_keystone_bump();
    let stage = gcc::ops::rehearse::Stage {
        charts: charts.path().to_path_buf(),
        helm: "helm".into(),
        schemas: None,
    };
    let bump = |s: String| {
        replace(
            &s,
            "  keystone: {}\n",
            "  keystone: { version: \"2024.2.387+test\" }\n",
        )
    };
    let (from, to) = (
        build_example_env("prod", "example", |s| s),
        build_example_env("prod", "keystone-bumped", bump),
    );
    let mut d = diff("prod", &from, &to);
    // The tree shows one line: the chart's version.
    assert_eq!(
        fields(&d, "HelmRelease openstack/keystone"),
        [(
            "spec.chart.spec.version".to_string(),
            "\"2024.2.386+13651f45-628a320c\"".to_string(),
            "\"2024.2.387+test\"".to_string()
        )]
    );
    gcc::ops::rehearse::render_diff(&mut d, &from, &to, &stage);
    assert_eq!(d.rendered.len(), 1);
    let inner = d.rendered[0].diff.as_ref().expect("rendered");
    // What really changes: the API pods' memory limit, and the script in the ConfigMap
    // (whose hash the pods carry, so they are replaced too).
    let api = fields(inner, "Deployment openstack/keystone-api");
    assert!(
        api.iter()
            .any(|(p, a, b)| p.ends_with("resources.limits.memory")
                && a == "\"1024Mi\""
                && b == "\"2048Mi\""),
        "{api:?}"
    );
    let bin = fields(inner, "ConfigMap openstack/keystone-bin");
    assert!(
        bin.iter()
            .any(|(p, _, b)| p == "data[\"db-sync.sh\"]" && b.contains("db-sync of 2024.2.387")),
        "{bin:?}"
    );
    // The risk list says which pods are replaced, naming the release.
    assert!(
        d.risks.iter().any(|r| r.code == "pods_replaced"
            && r.object
                .as_ref()
                .is_some_and(|o| d.name(o) == "Deployment openstack/keystone-api")
            && r.reason
                .starts_with("rendered by HelmRelease openstack/keystone: its pods are replaced")),
        "{:?}",
        risks(&d)
    );
    golden_markdown("keystone-chart-bump-rendered.md", &d);

    // Keystone's images moved to 2025.1: in the Deployment, the container's image.
    let images = |s: String| {
        replace(
            &s,
            "  keystone: {}\n",
            "  keystone: { release: \"2025.1\" }\n",
        )
    };
    let to = build_example_env("prod", "keystone-2025.1", images);
    let mut d = diff("prod", &from, &to);
    gcc::ops::rehearse::render_diff(&mut d, &from, &to, &stage);
    let inner = d.rendered[0].diff.as_ref().expect("rendered");
    let api = fields(inner, "Deployment openstack/keystone-api");
    assert!(
        api.iter()
            .any(|(p, a, b)| p == "spec.template.spec.containers[0].image"
                && a.contains("keystone:2024.1")
                && b.contains("keystone:2025.1")),
        "{api:?}"
    );
    assert!(
        d.risks.iter().any(|r| r.code == "pods_replaced"
            && r.reason.contains("its pods are replaced: image")),
        "{:?}",
        risks(&d)
    );

    // Without the chart, the release is diffed as a tree object and marked not rendered.
    let empty = tempfile::tempdir().unwrap();
    let mut d = diff("prod", &from, &to);
    let stage = gcc::ops::rehearse::Stage {
        charts: empty.path().to_path_buf(),
        ..stage
    };
    gcc::ops::rehearse::render_diff(&mut d, &from, &to, &stage);
    assert!(d.rendered[0].diff.is_none());
    assert!(
        d.rendered[0]
            .not_rendered
            .as_deref()
            .unwrap()
            .contains("keystone 2024.2.386"),
        "{:?}",
        d.rendered[0].not_rendered
    );
    assert!(markdown(&d).contains("not rendered"));
}

#[test]
fn rendered_from_the_command_line() {
    let (_keep, root) = site();
    let env = std::fs::read_to_string(root.join(ENV)).unwrap();
    std::fs::write(
        root.join(ENV),
        replace(
            &env,
            "  keystone: {}\n",
            "  keystone: { version: \"2024.2.387+test\" }\n",
        ),
    )
    .unwrap();
    git(&root, &["commit", "-qam", "keystone's next chart"]);
    let charts = charts_with_a_keystone_bump();
    let rendered = |charts: &str, extra: &[&str]| {
        let mut args = vec![
            "diff",
            "prod",
            "--from",
            "src:HEAD~1",
            "--to",
            "src:HEAD",
            "--rendered",
            "--charts",
        ];
        args.push(charts);
        args.extend_from_slice(extra);
        run(&root, &args)
    };
    let (code, json, err) = rendered(charts.path().to_str().unwrap(), &["--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["rendered"][0]["release"]["name"], "keystone");
    assert!(
        v["rendered"][0]["diff"]["summary"]["changed"]
            .as_u64()
            .unwrap()
            >= 2
    );
    // No chart directory: refused before anything is rendered.
    let (code, _, err) = rendered("/nonexistent", &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no chart directory"), "{err}");
}
