//! `gcc build --all`: every environment in parallel, failures isolated, unchanged
//! environments skipped unless --force.

mod common;
#[path = "../benches/fleet/mod.rs"]
mod generator;

use std::fs;
use std::path::Path;

use common::{example_tree, gcc, git, read_tree, text};

fn lines(out: &[u8]) -> Vec<String> {
    text(out).lines().map(str::to_string).collect()
}

fn statuses(root: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut all = vec!["build", "--all", "--format", "json"];
    all.extend_from_slice(args);
    let o = gcc(root, &all);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    let by_env = v["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["environment"].as_str().unwrap().to_string(),
                e["status"].clone(),
            )
        })
        .collect::<serde_json::Map<_, _>>();
    (o.status.code(), serde_json::Value::Object(by_env))
}

#[test]
fn all_builds_every_environment_like_single_builds_do() {
    let tree = example_tree();
    let root = tree.path();
    // argocd pins a skyline chart other than the one gcc's copy of its Deployment
    // template comes from: a warning, which belongs to argocd alone.
    let argocd = root.join("environments/argocd.yaml");
    let env = fs::read_to_string(&argocd).unwrap();
    let pinned = env.replace(
        "skyline: { release: \"2024.2\" }",
        "skyline: { release: \"2024.2\", version: \"2025.2.10+c665eedfa\" }",
    );
    assert_ne!(env, pinned);
    fs::write(&argocd, pinned).unwrap();
    let o = gcc(root, &["build", "--all"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        lines(&o.stdout),
        ["3 environments: 3 built, 0 up to date, 0 invalid, 0 failed"]
    );
    // Not a terminal: one plain line per environment, no bar; then the warnings, under
    // the environment they belong to.
    let err = lines(&o.stderr);
    let progress: Vec<&String> = err.iter().filter(|l| l.starts_with('[')).collect();
    assert_eq!(progress.len(), 3, "{err:?}");
    let at = err.iter().position(|l| l == "== argocd (built)");
    let warned = err.iter().position(|l| l == "gcc::plan::replaced_template");
    assert!(at.is_some() && at < warned, "{err:?}");
    assert!(
        !err.iter()
            .any(|l| l.starts_with("== prod") || l.starts_with("== aio"))
    );
    assert!(
        progress
            .iter()
            .any(|l| l.starts_with("[") && l.contains("] prod: built "))
    );
    for env in ["aio", "argocd", "prod"] {
        let single = tempfile::tempdir().unwrap();
        let dir = single.path().join(env);
        let o = gcc(root, &["build", env, "--out", dir.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0));
        assert_eq!(
            read_tree(&root.join("out").join(env)),
            read_tree(&dir),
            "{env}"
        );
    }
}

#[test]
fn one_failing_environment_does_not_stop_the_others() {
    let tree = example_tree();
    let root = tree.path();
    let env = fs::read_to_string(root.join("environments/aio.yaml")).unwrap();
    fs::write(
        root.join("environments/broken.yaml"),
        env.replace("profile: aio", "profile: huge"),
    )
    .unwrap();
    let o = gcc(root, &["build", "--all"]);
    assert_eq!(o.status.code(), Some(1), "invalid input exits 1");
    assert_eq!(
        lines(&o.stdout),
        [
            "4 environments: 3 built, 0 up to date, 1 invalid, 0 failed",
            "invalid: broken"
        ]
    );
    let err = text(&o.stderr);
    assert!(
        err.contains("== broken (invalid)") && err.contains("environments/broken.yaml:"),
        "{err}"
    );
    assert!(root.join("out/prod/gcc.lock.json").is_file());
    assert!(
        !root.join("out/broken").exists(),
        "nothing written for the invalid one"
    );

    // An output directory that cannot be written is a failure of that environment only: exit 2.
    fs::remove_dir_all(root.join("out/prod")).unwrap();
    fs::write(root.join("out/prod"), "a file where a directory must go").unwrap();
    let (code, s) = statuses(root, &["--force"]);
    assert_eq!(code, Some(2));
    assert_eq!(
        s,
        serde_json::json!({"aio": "built", "argocd": "built", "broken": "invalid", "prod": "failed"})
    );
    assert_eq!(
        fs::read_to_string(root.join("out/prod")).unwrap(),
        "a file where a directory must go"
    );
}

#[test]
fn unchanged_environments_are_skipped_unless_forced() {
    let tree = example_tree();
    let root = tree.path();
    let (code, s) = statuses(root, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(
        s,
        serde_json::json!({"aio": "built", "argocd": "built", "prod": "built"})
    );
    let (_, s) = statuses(root, &[]);
    assert_eq!(
        s,
        serde_json::json!({"aio": "skipped", "argocd": "skipped", "prod": "skipped"})
    );

    // An input edit rebuilds the environments that read it, and only those.
    let inv = root.join("inventory/laundry-lab/laundry-lab.yaml");
    let mut text = fs::read_to_string(&inv).unwrap();
    text.push_str("# a comment changes the digest\n");
    fs::write(&inv, text).unwrap();
    let (_, s) = statuses(root, &[]);
    assert_eq!(
        s,
        serde_json::json!({"aio": "skipped", "argocd": "built", "prod": "built"})
    );

    // A tampered or half-deleted output is rebuilt, never trusted.
    fs::write(root.join("out/aio/kustomization.yaml"), "edited by hand\n").unwrap();
    fs::remove_file(root.join("out/prod/kustomization.yaml")).unwrap();
    let (_, s) = statuses(root, &[]);
    assert_eq!(
        s,
        serde_json::json!({"aio": "built", "argocd": "skipped", "prod": "built"})
    );
    // Without its lock, nothing says the tree is gcc's: refused, left as it is.
    fs::remove_file(root.join("out/prod/gcc.lock.json")).unwrap();
    let (code, s) = statuses(root, &["--force"]);
    assert_eq!(code, Some(2));
    assert_eq!(s["prod"], "failed");
    assert!(root.join("out/prod/kustomization.yaml").is_file());
    fs::remove_dir_all(root.join("out/prod")).unwrap();
    let (_, s) = statuses(root, &[]);
    assert_eq!(s["prod"], "built");

    // Another gcc version built it: rebuilt.
    let lock = root.join("out/argocd/gcc.lock.json");
    let old = fs::read_to_string(&lock).unwrap();
    let version = format!("\"gcc_version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(old.contains(&version));
    fs::write(&lock, old.replace(&version, "\"gcc_version\": \"0.0.1\"")).unwrap();
    let (_, s) = statuses(root, &[]);
    assert_eq!(
        s,
        serde_json::json!({"aio": "skipped", "argocd": "built", "prod": "skipped"})
    );

    // Another build of the same version built it (its fingerprint differs): rebuilt too.
    let lock = root.join("out/aio/gcc.lock.json");
    let old = fs::read_to_string(&lock).unwrap();
    let build = format!("\"gcc_build\": \"{}\"", gcc::lock::GCC_BUILD);
    assert!(old.contains(&build));
    fs::write(&lock, old.replace(&build, "\"gcc_build\": \"0ther\"")).unwrap();
    let (_, s) = statuses(root, &[]);
    assert_eq!(
        s,
        serde_json::json!({"aio": "built", "argocd": "skipped", "prod": "skipped"})
    );

    let (_, s) = statuses(root, &["--force", "-j", "1"]);
    assert_eq!(
        s,
        serde_json::json!({"aio": "built", "argocd": "built", "prod": "built"})
    );
}

#[test]
fn all_refuses_what_it_cannot_do() {
    let empty = tempfile::tempdir().unwrap();
    let o = gcc(empty.path(), &["build", "--all"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("gcc::build::no_environments"));
    for args in [
        &["build", "prod", "--all"][..],
        &["build", "--all", "--commit"],
        &["build", "--all", "--commit", "--branch", "one-for-all"],
        &["build", "prod", "--force"],
        &["build"],
    ] {
        assert_eq!(gcc(empty.path(), args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn generated_sites_compile_cleanly_at_every_shape() {
    // The benchmark generator's sites must be valid, or the benchmarks measure refusals.
    for (nodes, subnets) in [(3, 1), (4, 2), (50, 8), (300, 41), (1200, 3)] {
        let shape = generator::Shape { nodes, subnets };
        for argocd in [false, true] {
            let src = gcc::source::MemSource::new()
                .with(
                    "environments/gen.yaml",
                    generator::environment("gen", argocd),
                )
                .with("inventory/gen.yaml", generator::inventory("gen", shape));
            let c = gcc::compile::compile(&src, "gen").unwrap();
            let text = gcc::diag::render_text(&c.loaded.files, &c.diagnostics, false);
            assert!(
                c.diagnostics.is_empty(),
                "{nodes} nodes, {subnets} subnets:\n{text}"
            );
            let build = c.build.expect("builds");
            let node_files = build
                .rendered
                .files
                .keys()
                .filter(|p| p.starts_with("nodes/node-"))
                .count();
            assert_eq!(node_files, nodes, "one node object per generated node");
        }
    }
    assert_eq!(generator::node_counts(3, 3, 300), [3, 30, 300]);
}

fn lock_build_id(dir: &Path) -> String {
    let lock: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("gcc.lock.json")).unwrap()).unwrap();
    lock["build_id"].as_str().unwrap().to_string()
}

#[test]
fn all_with_commit_publishes_each_environment_to_its_branch() {
    let tree = example_tree();
    let root = tree.path();
    fs::write(root.join(".gitignore"), "out/\n").unwrap();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "inputs"]);

    let o = gcc(root, &["build", "--all", "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    for (env, branch) in [
        ("aio", "gcc/aio"),
        ("argocd", "gcc/argocd"),
        ("prod", "gcc/prod"),
    ] {
        assert!(
            stdout.contains(&format!("published {env} build ")),
            "{stdout}"
        );
        let message = git(root, &["log", "-1", "--format=%B", branch]);
        let id = lock_build_id(&root.join("out").join(env));
        assert!(
            message.contains(&format!("Build-Id: {id}")),
            "{branch}: {message}"
        );
        // The branch holds exactly the tree written to out/<env>.
        let listed = git(root, &["ls-tree", "-r", "--name-only", branch]);
        let on_disk: Vec<String> = read_tree(&root.join("out").join(env)).into_keys().collect();
        assert_eq!(listed.lines().collect::<Vec<_>>(), on_disk, "{branch}");
    }

    // Nothing changed: skipped builds, nothing committed.
    let tips = git(root, &["rev-parse", "gcc/aio", "gcc/argocd", "gcc/prod"]);
    let o = gcc(root, &["build", "--all", "--commit"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        git(root, &["rev-parse", "gcc/aio", "gcc/argocd", "gcc/prod"]),
        tips
    );
    assert!(text(&o.stdout).contains("3 environments: 0 built, 3 up to date"));

    // An uncommitted edit refuses the environments that read it, before building them;
    // the others still publish (here: stay up to date). Exit 2.
    let inv = root.join("inventory/aio-lab.yaml");
    let mut edited = fs::read_to_string(&inv).unwrap();
    edited.push_str("# not committed\n");
    fs::write(&inv, edited).unwrap();
    let aio_before = read_tree(&root.join("out/aio"));
    let (code, s) = statuses(root, &["--commit"]);
    assert_eq!(code, Some(2));
    assert_eq!(
        s,
        serde_json::json!({"aio": "failed", "argocd": "skipped", "prod": "skipped"})
    );
    assert_eq!(
        read_tree(&root.join("out/aio")),
        aio_before,
        "refused before it was built"
    );
    assert_eq!(
        git(root, &["rev-parse", "gcc/aio", "gcc/argocd", "gcc/prod"]),
        tips
    );

    // --allow-dirty publishes it, and the commit says so.
    let o = gcc(root, &["build", "--all", "--commit", "--allow-dirty"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let message = git(root, &["log", "-1", "--format=%B", "gcc/aio"]);
    assert!(message.contains("Source-Dirty: true"), "{message}");
}
