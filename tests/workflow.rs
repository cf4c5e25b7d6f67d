//! The CI workflow of `examples/ci/gcc.yaml` (which `gcc init` writes and README shows):
//! its shell steps run as GitHub Actions runs them (`bash -e -o pipefail`, step and job
//! `env`, `$GITHUB_OUTPUT`), in order, on a scratch repository holding a pull request's
//! two commits. `gh` is a stand-in that records the API calls and keeps the comment.
//! Steps that `uses:` an action (checkout, cache) are GitHub's and are not run.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{git, repo, text};
use serde_json::Value;

/// The expressions the workflow may use, and what they are in this run. An expression
/// not listed fails the test: a new one must be given a value here.
fn expression(expr: &str, run: &Run, outputs: &BTreeMap<String, String>) -> String {
    match expr {
        "vars.GCC_GIT" => run.site.display().to_string(),
        "vars.GCC_REF || 'main'" => "main".into(),
        "github.base_ref" => "main".into(),
        "github.token" => "t0ken".into(),
        "github.repository" => "lab/cloud".into(),
        "github.event.number" => "7".into(),
        e if e.starts_with("steps.") => {
            let key = e.trim_start_matches("steps.").replace(".outputs.", ".");
            outputs.get(&key).cloned().unwrap_or_default()
        }
        e => panic!("the workflow uses `${{{{ {e} }}}}`, which this test gives no value"),
    }
}

/// `${{ expr }}` replaced by its value.
fn expand(s: &str, run: &Run, outputs: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        out.push_str(&expression(rest[start + 3..end].trim(), run, outputs));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

struct Run {
    site: PathBuf,
    bin: PathBuf,
    gh: PathBuf,
}

/// Runs the workflow's job for `event`; returns the names of the steps that ran and the
/// outputs they set (`<step id>.<name>`).
fn run_workflow(run: &Run, event: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let workflow: Value =
        serde_saphyr::from_slice(&std::fs::read(repo().join("examples/ci/gcc.yaml")).unwrap())
            .unwrap();
    let jobs = workflow["jobs"].as_object().unwrap();
    assert_eq!(jobs.len(), 1);
    let job = jobs.values().next().unwrap();
    let mut outputs = BTreeMap::new();
    let mut ran = Vec::new();
    let output_file = run.gh.join("github_output");
    for step in job["steps"].as_array().unwrap() {
        let Some(script) = step["run"].as_str() else {
            assert!(step["uses"].is_string(), "{step}");
            continue;
        };
        // Values reach scripts through `env`, never pasted into the script itself.
        assert!(
            !script.contains("${{"),
            "expression inside a script: {script}"
        );
        match step["if"].as_str() {
            None => {}
            Some("github.event_name == 'pull_request'") if event != "pull_request" => continue,
            Some("github.event_name == 'pull_request'") => {}
            Some(other) => panic!("condition `{other}` is not known to this test"),
        }
        std::fs::write(&output_file, "").unwrap();
        let mut cmd = Command::new("bash");
        cmd.args([
            "--noprofile",
            "--norc",
            "-e",
            "-o",
            "pipefail",
            "-c",
            script,
        ])
        .current_dir(&run.site)
        .env(
            "PATH",
            format!(
                "{}:{}",
                run.bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("GITHUB_OUTPUT", &output_file)
        .env("GH_DIR", &run.gh)
        .env("NO_COLOR", "1");
        for scope in [&job["env"], &step["env"]] {
            for (k, v) in scope.as_object().into_iter().flatten() {
                cmd.env(k, expand(v.as_str().unwrap(), run, &outputs));
            }
        }
        let o = cmd.output().unwrap();
        let name = step["name"]
            .as_str()
            .or(step["id"].as_str())
            .unwrap_or(script)
            .to_string();
        assert!(
            o.status.success(),
            "step `{name}` failed:\n{}{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        if let Some(id) = step["id"].as_str() {
            for line in std::fs::read_to_string(&output_file).unwrap().lines() {
                let (k, v) = line.split_once('=').unwrap();
                outputs.insert(format!("{id}.{k}"), v.to_string());
            }
        }
        ran.push(name);
    }
    (ran, outputs)
}

/// A stand-in for the GitHub CLI: logs its arguments; lists the comment once one was
/// posted (as id 42); keeps the last body posted or patched.
const FAKE_GH: &str = r#"#!/bin/sh
echo "$*" >> "$GH_DIR/log"
case "$*" in
  *--paginate*) [ -f "$GH_DIR/comment" ] && echo 42; exit 0 ;;
esac
for a; do
  case "$a" in body=@*) cp "${a#body=@}" "$GH_DIR/body" ;; esac
done
case "$*" in *"-X POST"*) touch "$GH_DIR/comment" ;; esac
"#;

fn setup() -> (tempfile::TempDir, Run) {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let bin = dir.path().join("bin");
    let gh = dir.path().join("gh");
    for d in [&site, &bin, &gh] {
        std::fs::create_dir_all(d).unwrap();
    }
    // The gcc under test, first on PATH, as the cache or `cargo install` leaves it.
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gcc"), bin.join("gcc")).unwrap();
    let fake = bin.join("gh");
    std::fs::write(&fake, FAKE_GH).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    for (rel, bytes) in common::read_tree(&repo().join("environments"))
        .into_iter()
        .map(|(p, b)| (format!("environments/{p}"), b))
        .chain(
            common::read_tree(&repo().join("inventory"))
                .into_iter()
                .map(|(p, b)| (format!("inventory/{p}"), b)),
        )
    {
        let path = site.join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    std::fs::write(site.join(".gitignore"), "out/\ndiff.md\n").unwrap();
    git(&site, &["init", "-q", "-b", "main"]);
    git(&site, &["add", "-A"]);
    git(&site, &["commit", "-q", "-m", "the cloud"]);
    // What actions/checkout leaves for a pull request: the base branch as origin's.
    git(&site, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    git(&site, &["checkout", "-q", "-b", "no-masakari"]);
    let prod = site.join("environments/prod.yaml");
    let s = std::fs::read_to_string(&prod).unwrap();
    assert!(s.contains("  masakari: {}\n"));
    std::fs::write(&prod, s.replacen("  masakari: {}\n", "", 1)).unwrap();
    git(&site, &["commit", "-qam", "prod: no masakari"]);
    (dir, Run { site, bin, gh })
}

fn log(run: &Run) -> Vec<String> {
    std::fs::read_to_string(run.gh.join("log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_pull_request_gets_one_comment_updated_on_each_push() {
    let (_keep, run) = setup();
    let (ran, outputs) = run_workflow(&run, "pull_request");
    // The cache key names gcc's commit (here the scratch repository's main).
    assert_eq!(outputs["which.rev"], git(&run.site, &["rev-parse", "main"]));
    assert_eq!(
        ran,
        [
            "Which gcc",
            "Install gcc (once per gcc commit; the cache holds it)",
            "Build and validate every environment",
            "Diff every environment against the base branch",
            "Comment, or update the comment of an earlier push",
        ]
    );
    // Built and validated; gcc was found, not installed.
    for env in ["aio", "argocd", "prod"] {
        assert!(
            run.site
                .join("out")
                .join(env)
                .join("gcc.lock.json")
                .is_file()
        );
    }
    let body = std::fs::read_to_string(run.gh.join("body")).unwrap();
    assert!(
        body.starts_with("<!-- gcc-diff:gcc-diff -->\n### gcc: what this pull request changes\n"),
        "{body}"
    );
    assert!(body.contains("| `prod` |") && body.contains("| `aio` | 0 | 0 | 0 | 0 |"));
    assert!(
        body.contains("HTTPRoute openstack/masakari-instance-ha"),
        "{body}"
    );
    assert!(body.len() <= 65_536);
    let calls = log(&run);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1].starts_with("api -X POST repos/lab/cloud/issues/7/comments -F body=@diff.md"));

    // A second push: the comment is found by its marker and updated, not added.
    let (ran, _) = run_workflow(&run, "pull_request");
    assert_eq!(ran.len(), 5);
    let calls = log(&run);
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert!(
        calls[3].starts_with("api -X PATCH repos/lab/cloud/issues/comments/42 -F body=@diff.md"),
        "{calls:?}"
    );
}

#[test]
fn a_push_builds_and_validates_and_comments_nothing() {
    let (_keep, run) = setup();
    let (ran, _) = run_workflow(&run, "push");
    assert_eq!(ran.len(), 3, "{ran:?}");
    assert!(run.site.join("out/prod/gcc.lock.json").is_file());
    assert!(log(&run).is_empty());
    assert!(!Path::new(&run.site.join("diff.md")).exists());
}

#[test]
fn readme_shows_the_workflow_as_it_is() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let wf = std::fs::read_to_string(repo().join("examples/ci/gcc.yaml")).unwrap();
    assert!(
        readme.contains(&format!("```yaml\n{wf}```\n")),
        "README's workflow differs from examples/ci/gcc.yaml"
    );
}
