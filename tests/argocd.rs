//! The Argo CD tree as argocd-source-lint (PyPI; `.ci/run` installs it) sees it: the tree
//! published on its deploy branch, with the root Applications of `bootstrap/` that sync
//! it, has no finding.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use gcc::compile::compile;
use gcc::source::WorkDir;

mod common;
use common::{git, repo, text};

/// The bundled `argocd` tree committed on its deploy branch in a fresh repository whose
/// origin is the URL its root Applications name, as a CI checkout of it would be.
fn published(dir: &Path, edit: impl Fn(&mut BTreeMap<String, Vec<u8>>)) {
    let c = compile(&WorkDir::new(repo()), "argocd").expect("compiles");
    let build = c.build.expect("builds");
    let mut files = build.rendered.files;
    edit(&mut files);
    for (path, bytes) in &files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let branch = &build.plan.source.branch;
    git(dir, &["init", "-q", "-b", branch]);
    git(dir, &["remote", "add", "origin", &build.plan.source.url]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "build"]);
}

/// The rule ids argocd-source-lint reports for the repository at `dir`.
fn lint(dir: &Path) -> Vec<String> {
    let o = Command::new("argocd-source-lint")
        .arg(dir)
        .args(["--format", "json"])
        .output()
        .expect("argocd-source-lint is installed (.ci/run installs it from PyPI)");
    let report: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&o.stdout), text(&o.stderr)));
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["rule_id"].as_str().unwrap(), f["message"]))
        .collect()
}

#[test]
fn argocd_source_lint_finds_nothing_in_the_published_argocd_tree() {
    let tmp = tempfile::tempdir().unwrap();
    published(tmp.path(), |_| {});
    assert_eq!(lint(tmp.path()), Vec::<String>::new());
}

#[test]
fn without_its_ignore_differences_the_root_application_fights_the_hpas() {
    // The same tree with the root Application's ignoreDifferences taken out: the linter
    // sees the HPAs' Deployments and the operator's Secret reset by self-heal.
    let tmp = tempfile::tempdir().unwrap();
    published(tmp.path(), |files| {
        let root = files.get_mut("bootstrap/application-argocd.yaml").unwrap();
        let mut v: serde_json::Value = serde_saphyr::from_str(&text(root)).unwrap();
        v["spec"]
            .as_object_mut()
            .unwrap()
            .remove("ignoreDifferences");
        *root = serde_saphyr::to_string(&v).unwrap().into_bytes();
    });
    let found = lint(tmp.path());
    assert!(
        found.iter().any(|f| f.starts_with("hpa-selfheal-conflict")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("missing-ignore-diff") && f.contains("rabbitmq-default-user")),
        "{found:#?}"
    );
}
