//! Helpers shared by the end-to-end tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `gcc` binary with `-C root` and `args`, colour off.
pub fn gcc(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gcc"))
        .arg("-C")
        .arg(root)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run gcc")
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Bytes as text, lossily.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every file under `dir`, by `/`-separated relative path.
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// A scratch copy of the bundled environments/ and inventory/.
pub fn example_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["environments", "inventory"] {
        for (rel, bytes) in read_tree(&repo().join(sub)) {
            let to = dir.path().join(sub).join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::write(to, bytes).unwrap();
        }
    }
    dir
}

/// git in `dir`, blind to the developer's configuration: no system or global config,
/// a fixed identity, so a test gives the same answer on every machine.
pub fn git_in(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C")
        .arg(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "ops")
        .env("GIT_AUTHOR_EMAIL", "ops@example.net")
        .env("GIT_COMMITTER_NAME", "ops")
        .env("GIT_COMMITTER_EMAIL", "ops@example.net");
    c
}

/// Runs git in `dir` (see [`git_in`]) and returns its stdout; fails the test on error.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let o = git_in(dir).args(args).output().expect("run git");
    assert!(o.status.success(), "git {args:?}: {}", text(&o.stderr));
    text(&o.stdout).trim_end().to_string()
}

/// Compares `got` with the golden file `golden/<rel>`. With GCC_UPDATE_GOLDEN set it
/// rewrites the file and still fails, showing the change, so that every update is
/// reviewed and committed before the run is green.
pub fn assert_golden(rel: &str, got: &str) {
    let path = repo().join("golden").join(rel);
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if got == want {
        return;
    }
    let d = similar::TextDiff::from_lines(&want, got)
        .unified_diff()
        .header("golden", "got")
        .to_string();
    if std::env::var_os("GCC_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        panic!("golden/{rel} rewritten; review `git diff golden/`, commit, rerun:\n{d}");
    }
    panic!("golden/{rel} differs (GCC_UPDATE_GOLDEN=1 rewrites it and shows the change):\n{d}");
}

/// The path of `rel` (`<namespace>/<file>`) in a built tree: `rel` itself in a flat tree
/// (Argo CD), below its stage's directory (`3-clusters/<rel>`) in a staged one (Flux).
pub fn at(files: &BTreeMap<String, Vec<u8>>, rel: &str) -> String {
    if files.contains_key(rel) {
        return rel.to_string();
    }
    let found: Vec<&String> = gcc::plan::Stage::ALL
        .iter()
        .map(|s| format!("{}/{rel}", s.dir()))
        .filter_map(|p| files.get_key_value(&p).map(|(k, _)| k))
        .collect();
    match found.as_slice() {
        [one] => one.to_string(),
        _ => panic!("{rel}: in {} stages of the tree", found.len()),
    }
}

/// What a kustomization directory of a built tree reaches: its object files (tree paths),
/// directly or through the directories it lists, and its remote URLs.
pub fn reach(files: &BTreeMap<String, Vec<u8>>, dir: &str) -> (Vec<String>, Vec<String>) {
    let k = if dir.is_empty() {
        "kustomization.yaml".to_string()
    } else {
        format!("{dir}/kustomization.yaml")
    };
    let k: serde_json::Value = serde_saphyr::from_str(&text(&files[&k])).unwrap();
    let (mut objects, mut remote) = (Vec::new(), Vec::new());
    for r in k["resources"].as_array().unwrap() {
        let r = r.as_str().unwrap();
        let p = if dir.is_empty() {
            r.to_string()
        } else {
            format!("{dir}/{r}")
        };
        if r.contains("://") {
            remote.push(r.to_string());
        } else if files.contains_key(&p) {
            objects.push(p);
        } else {
            let (o, u) = reach(files, &p);
            objects.extend(o);
            remote.extend(u);
        }
    }
    (objects, remote)
}

/// `src` with every file of the bundled `inventory/` added at its path (the lab's
/// inventory is a directory).
pub fn with_inventories(mut src: gcc::source::MemSource) -> gcc::source::MemSource {
    for (rel, bytes) in read_tree(&repo().join("inventory")) {
        src.insert(format!("inventory/{rel}"), bytes);
    }
    src
}

/// The bundled environment `env` and every bundled inventory, in memory.
pub fn bundled(env: &str) -> gcc::source::MemSource {
    let path = format!("environments/{env}.yaml");
    with_inventories(
        gcc::source::MemSource::new()
            .with(path.clone(), std::fs::read(repo().join(&path)).unwrap()),
    )
}
