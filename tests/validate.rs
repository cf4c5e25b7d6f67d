//! The output schemas compiled into gcc (`schema/output/`): faithful copies of
//! ../shared/schemas, one for every kind gcc writes (Node and PersistentVolumeClaim have
//! none upstream), the same choices as the directory they came from; `gcc validate`
//! without `--schemas` and `gcc build --validate` use them.

mod common;
use common::{gcc, read_tree, repo, text};

use gcc::validate::{Store, validate_tree};

fn shared() -> std::path::PathBuf {
    repo().join("../shared/schemas")
}

#[test]
fn every_embedded_schema_is_the_shared_copy_byte_for_byte() {
    assert!(Store::embedded().len() > 20, "{}", Store::embedded().len());
    for (rel, embedded) in Store::embedded() {
        let upstream = std::fs::read_to_string(shared().join(rel))
            .unwrap_or_else(|e| panic!("{rel}: not in ../shared/schemas: {e}"));
        assert!(
            *embedded == upstream,
            "{rel} differs from ../shared/schemas/{rel}"
        );
    }
    // SOURCES.md names each one.
    let sources = std::fs::read_to_string(repo().join("schema/output/SOURCES.md")).unwrap();
    for (rel, _) in Store::embedded() {
        assert!(
            sources.contains(&format!("| {rel} |")),
            "{rel} not in SOURCES.md"
        );
    }
}

#[test]
fn every_kind_of_the_golden_trees_has_its_schema_compiled_in() {
    for env in ["prod", "aio", "argocd"] {
        let tree = repo().join("golden").join(env);
        let embedded = validate_tree(&tree, &Store::Embedded).unwrap();
        let upstream = validate_tree(&tree, &Store::Dir(shared())).unwrap();
        assert!(
            embedded.violations.is_empty(),
            "{env}: {:#?}",
            embedded.violations
        );
        // The same schema for every kind as the full directory picks, and nothing more
        // left without one.
        assert_eq!(embedded.schemas, upstream.schemas, "{env}");
        assert_eq!(
            embedded.unvalidated.keys().collect::<Vec<_>>(),
            upstream.unvalidated.keys().collect::<Vec<_>>(),
            "{env}"
        );
        assert_eq!(embedded.validated, upstream.validated, "{env}");
    }
}

#[test]
fn validate_needs_no_schema_directory_and_build_validates_before_it_writes() {
    let dir = common::example_tree();
    let o = gcc(
        dir.path(),
        &["build", "prod", "--validate", "--color", "never"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let said = text(&o.stdout);
    assert!(
        said.contains("against gcc's schemas: no violation"),
        "{said}"
    );
    let o = gcc(
        dir.path(),
        &["build", "prod", "--validate", "--format", "json"],
    );
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(j["validated"].as_u64().unwrap() > 250, "{j}");

    // A tree with a broken object: `gcc validate` alone finds it (exit 1).
    let out = dir.path().join("out/prod");
    let files = read_tree(&out);
    let (rel, bytes) = files
        .iter()
        .find(|(p, _)| p.ends_with("openstack/mariadb-mariadb-cluster.yaml"))
        .unwrap();
    let broken = text(bytes).replace("replicas: 3", "replicas: three");
    std::fs::write(out.join(rel), broken).unwrap();
    let o = gcc(dir.path(), &["validate", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(
        text(&o.stderr).contains("mariadb-mariadb-cluster.yaml"),
        "{}",
        text(&o.stderr)
    );
}

/// A copy of the embedded schemas in which a Namespace must carry an `owner` label,
/// which gcc never writes: every tree violates it.
fn strict_schemas() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in Store::embedded() {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut text = text.to_string();
        if rel.ends_with("/namespace-v1.json") {
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v["properties"]["metadata"] = serde_json::json!({
                "type": "object",
                "required": ["labels"],
                "properties": {"labels": {"type": "object", "required": ["owner"]}}
            });
            text = v.to_string();
        }
        std::fs::write(p, text).unwrap();
    }
    dir
}

#[test]
fn a_violation_writes_nothing_for_one_environment_or_a_fleet() {
    let dir = common::example_tree();
    let strict = strict_schemas();
    let schemas = strict.path().to_str().unwrap();
    let out = dir.path().join("out");

    // One environment: exit 1, one diagnostic per violating object, nothing written.
    let o = gcc(
        dir.path(),
        &[
            "build",
            "prod",
            "--validate",
            "--schemas",
            schemas,
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let diags = j["diagnostics"].as_array().unwrap();
    assert!(!diags.is_empty());
    for d in diags {
        assert_eq!(d["code"], "gcc::build::schema_violation", "{d}");
        assert!(
            d["message"].as_str().unwrap().contains("v1/Namespace"),
            "{d}"
        );
    }
    assert!(!out.exists());

    // The fleet: every environment validated, built or up to date.
    let fleet = |extra: &[&str]| {
        let mut args = vec!["build", "--all", "--validate", "--format", "json"];
        args.extend_from_slice(extra);
        let o = gcc(dir.path(), &args);
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (o.status.code(), j)
    };
    let (code, j) = fleet(&[]);
    assert_eq!(code, Some(0), "{j}");
    for e in j["environments"].as_array().unwrap() {
        assert_eq!(e["status"], "built", "{e}");
        assert!(e["validated"].as_u64().unwrap() > 50, "{e}");
    }
    let before = read_tree(&out.join("prod"));
    let (code, j) = fleet(&[]);
    assert_eq!(code, Some(0), "{j}");
    for e in j["environments"].as_array().unwrap() {
        assert_eq!(e["status"], "skipped", "{e}");
        assert!(e["validated"].as_u64().unwrap() > 50, "{e}");
    }

    // Against the strict schemas: up-to-date trees are found invalid and left as they
    // are; forced rebuilds are refused before they are written.
    for extra in [
        &["--schemas", schemas][..],
        &["--schemas", schemas, "--force"],
    ] {
        let (code, j) = fleet(extra);
        assert_eq!(code, Some(1), "{j}");
        for e in j["environments"].as_array().unwrap() {
            assert_eq!(e["status"], "invalid", "{e}");
            assert_eq!(e["build_id"], serde_json::Value::Null, "{e}");
            assert_eq!(e["diagnostics"][0]["code"], "gcc::build::schema_violation");
        }
        assert_eq!(read_tree(&out.join("prod")), before);
    }
    // A fresh fleet output: nothing written at all.
    let fresh = dir.path().join("fresh");
    let (code, _) = fleet(&["--schemas", schemas, "--out", fresh.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(!fresh.join("prod").exists());
    // --schemas alone means nothing.
    let o = gcc(dir.path(), &["build", "prod", "--schemas", schemas]);
    assert_eq!(o.status.code(), Some(2));
}
