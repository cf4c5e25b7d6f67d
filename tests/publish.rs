//! Publish, pin, rollback and verify against real git repositories in temporary
//! directories; the git CLI reads back everything gcc writes with libgit2.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{read_tree, repo, text};
use gcc::publish::{CONFLICT, Deploy, Published, write_files};
use gcc::verify::verify_files;
use tempfile::TempDir;

/// A source repository holding a copy of the bundled example, committed once.
struct Site {
    dir: TempDir,
    home: TempDir,
    /// Where the inputs are inside the repository (`.` or a subdirectory).
    inputs: PathBuf,
}

impl Site {
    fn new() -> Self {
        Self::in_subdir(None)
    }

    fn in_subdir(sub: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let inputs = match sub {
            Some(s) => dir.path().join(s),
            None => dir.path().to_path_buf(),
        };
        for d in ["environments", "inventory"] {
            copy_dir(&repo().join(d), &inputs.join(d));
        }
        std::fs::write(dir.path().join(".gitignore"), "out/\n").unwrap();
        let site = Self {
            dir,
            home: tempfile::tempdir().unwrap(),
            inputs,
        };
        site.git(&["init", "-q", "-b", "main"]);
        site.git(&["config", "user.name", "Ops Team"]);
        site.git(&["config", "user.email", "ops@example.net"]);
        site.commit_all("inputs");
        site
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git in the repository and returns its stdout; fails the test on error.
    fn git(&self, args: &[&str]) -> String {
        let o = self.git_output(args);
        assert!(o.status.success(), "git {args:?}: {}", text(&o.stderr));
        text(&o.stdout).trim_end().to_string()
    }

    fn git_output(&self, args: &[&str]) -> Output {
        common::git_in(self.path())
            .args(args)
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("run git")
    }

    fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    /// The gcc command for this site (inputs as root, an isolated HOME).
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gcc"));
        c.arg("-C")
            .arg(&self.inputs)
            .args(args)
            .env("NO_COLOR", "1")
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1");
        c
    }

    fn gcc(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run gcc")
    }

    /// Runs gcc and asserts it exits with `code`; returns stdout + stderr.
    fn gcc_code(&self, args: &[&str], code: i32) -> String {
        let o = self.gcc(args);
        let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
        assert_eq!(o.status.code(), Some(code), "gcc {args:?}:\n{all}");
        all
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let p = self.inputs.join(file);
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.contains(from), "{file} lacks {from:?}");
        std::fs::write(&p, s.replacen(from, to, 1)).unwrap();
    }

    fn tip(&self, branch: &str) -> String {
        self.git(&["rev-parse", branch])
    }

    /// The tree of `rev` as files, read with the git CLI (`git archive` would do too).
    fn files_at(&self, rev: &str) -> BTreeMap<String, Vec<u8>> {
        let list = self.git(&["ls-tree", "-r", "--name-only", rev]);
        list.lines()
            .map(|p| {
                let o = self.git_output(&["cat-file", "blob", &format!("{rev}:{p}")]);
                assert!(o.status.success());
                (p.to_string(), o.stdout)
            })
            .collect()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(Result::ok)
    {
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// The value of a trailer in a commit message.
fn trailer(message: &str, key: &str) -> Option<String> {
    message
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .map(String::from)
}

#[test]
fn publish_change_publish_pin_rollback_cycle() {
    let site = Site::new();
    let head_before = site.git(&["rev-parse", "HEAD"]);
    assert_eq!(site.git(&["status", "--porcelain"]), "");

    let first = site.gcc_code(&["build", "prod", "--commit"], 0);
    assert!(
        first.contains("to gcc/prod: commit") && first.contains("(new branch)"),
        "{first}"
    );
    let c1 = site.tip("gcc/prod");

    // The git CLI reads the commit back: message, trailers, author, tree.
    let msg = site.git(&["log", "-1", "--format=%B", "gcc/prod"]);
    let build1 = trailer(&msg, "Build-Id").expect("Build-Id trailer");
    assert!(
        msg.starts_with(&format!("gcc: build prod {}", &build1[..12])),
        "{msg}"
    );
    assert_eq!(trailer(&msg, "Environment").as_deref(), Some("prod"));
    assert_eq!(trailer(&msg, "Source-Commit"), Some(head_before.clone()));
    assert_eq!(
        trailer(&msg, "Gcc-Version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(trailer(&msg, "Source-Dirty"), None);
    assert_eq!(
        site.git(&["log", "-1", "--format=%an <%ae>|%cn <%ce>", "gcc/prod"]),
        "Ops Team <ops@example.net>|Ops Team <ops@example.net>"
    );
    assert_eq!(site.git(&["cat-file", "-t", "gcc/prod"]), "commit");
    let tree1 = site.files_at("gcc/prod");
    let out1 = read_tree(&site.path().join("out/prod"));
    assert_eq!(tree1, out1, "the commit's tree is exactly the output tree");
    let lock: serde_json::Value = serde_json::from_slice(&tree1["gcc.lock.json"]).unwrap();
    assert_eq!(lock["build_id"], build1.as_str());
    let shown = site.git(&["show", "gcc/prod:kustomization.yaml"]);
    assert!(
        shown.starts_with("apiVersion: kustomize.config.k8s.io/v1beta1"),
        "{shown}"
    );

    // Publishing the same inputs again is a no-op.
    let again = site.gcc_code(&["build", "prod", "--commit"], 0);
    assert!(again.contains("up to date"), "{again}");
    assert_eq!(site.tip("gcc/prod"), c1);

    // Pin the first build, change an input, publish again.
    site.gcc_code(&["pin", "prod", "good", "--build", &build1[..10]], 0);
    site.edit("environments/prod.yaml", "min: 3, max: 9", "min: 2, max: 9");
    site.commit_all("nova: autoscale from 2");
    let second = site.gcc_code(&["build", "prod", "--commit"], 0);
    assert!(
        second.contains(&format!("(parent {})", &c1[..12])),
        "{second}"
    );
    let c2 = site.tip("gcc/prod");
    assert_ne!(site.files_at("gcc/prod"), tree1);

    // Roll back to the pin: a third commit whose tree equals the first.
    let rb = site.gcc_code(&["rollback", "prod", "--to", "good"], 0);
    assert!(
        rb.contains("verified build") && rb.contains("rolled back prod"),
        "{rb}"
    );
    let log = site.git(&["log", "--format=%H %P", "gcc/prod"]);
    let commits: Vec<&str> = log.lines().collect();
    assert_eq!(commits.len(), 3, "{log}");
    assert!(
        commits[0].ends_with(&c2) && commits[1].ends_with(&c1),
        "{log}"
    );
    assert_eq!(
        site.git(&["rev-parse", "gcc/prod^{tree}"]),
        site.git(&["rev-parse", "gcc/prod~2^{tree}"])
    );
    let rb_msg = site.git(&["log", "-1", "--format=%B", "gcc/prod"]);
    assert_eq!(trailer(&rb_msg, "Rollback-To"), Some(c1.clone()));
    assert_eq!(trailer(&rb_msg, "Build-Id"), Some(build1.clone()));

    // The pin is an annotated tag carrying the build id.
    assert_eq!(site.git(&["cat-file", "-t", "gcc/prod/good"]), "tag");
    let tag = site.git(&["cat-file", "tag", "gcc/prod/good"]);
    assert!(
        tag.contains(&format!("object {c1}")) && tag.contains(&format!("Build-Id: {build1}")),
        "{tag}"
    );

    // Verify, with a rebuild from the recorded source commit.
    let v = site.gcc_code(&["verify", "prod", "--rebuild"], 0);
    assert!(
        v.contains("match gcc.lock.json") && v.contains("identical"),
        "{v}"
    );
    site.gcc_code(&["verify", "prod", "--ref", &c2, "--rebuild"], 0);

    // pins lists the pin and the three builds.
    let pins: serde_json::Value =
        serde_json::from_str(&site.gcc_code(&["pins", "prod", "--format", "json"], 0)).unwrap();
    assert_eq!(pins["branch"], "gcc/prod");
    assert_eq!(pins["pins"][0]["name"], "good");
    assert_eq!(pins["pins"][0]["build"]["commit"], c1.as_str());
    let builds = pins["builds"].as_array().unwrap();
    assert_eq!(builds.len(), 3);
    assert_eq!(builds[0]["rollback_to"], c1.as_str());
    assert_eq!(builds[2]["source_commit"], head_before.as_str());
    let table = site.gcc_code(&["pins", "prod"], 0);
    assert!(
        table.contains("PIN")
            && table.contains("good")
            && table.contains(&format!("rollback to {}", &c1[..12])),
        "{table}"
    );

    // The source side was never touched: HEAD, index and work tree as before.
    assert_eq!(site.git(&["rev-parse", "main~1"]), head_before);
    assert_eq!(site.git(&["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(site.git(&["diff", "--cached", "--name-only"]), "");
    assert_eq!(
        site.git(&["status", "--porcelain"]),
        "",
        "work tree or index changed"
    );
    // git itself finds nothing wrong with what libgit2 wrote.
    site.git(&["fsck", "--no-dangling"]);
}

#[test]
fn pins_show_a_tip_gcc_did_not_make() {
    let site = Site::new();
    site.gcc_code(&["build", "prod", "--commit"], 0);
    let build = site.tip("gcc/prod");
    // Someone commits onto the deploy branch by hand: same tree, a message of their own.
    let other = site.git(&[
        "commit-tree",
        "gcc/prod^{tree}",
        "-p",
        "gcc/prod",
        "-m",
        "hotfix: nova interval 5m",
    ]);
    site.git(&["update-ref", "refs/heads/gcc/prod", &other]);

    let o = site.gcc(&["pins", "prod"]);
    assert_eq!(o.status.code(), Some(0));
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert!(
        stderr.contains("gcc::publish::other_tip")
            && stderr.contains(&other[..12])
            && stderr.contains("hotfix: nova interval 5m")
            && stderr.contains("git branch -f"),
        "{stderr}"
    );
    // The table lists it first, then the build it sits on.
    let rows: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("builds on gcc/prod"))
        .skip(2)
        .collect();
    assert!(
        rows[0].contains(&other[..12]) && rows[0].contains("not made by gcc: \"hotfix"),
        "{stdout}"
    );
    assert!(
        rows[1].starts_with("0 ") && rows[1].contains(&build[..12]),
        "{stdout}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&site.gcc_code(&["pins", "prod", "--format", "json"], 0)).unwrap();
    assert_eq!(json["other_commits"][0]["commit"], other.as_str());
    assert_eq!(
        json["other_commits"][0]["summary"],
        "hotfix: nova interval 5m"
    );
    assert_eq!(json["builds"][0]["commit"], build.as_str());
    assert_eq!(json["diagnostics"][0]["code"], "gcc::publish::other_tip");

    // gcc publishes nothing on it; moved back to the build, all is quiet again.
    let refused = site.gcc_code(&["build", "prod", "--commit"], 2);
    assert!(
        refused.contains("gcc::publish::foreign_branch"),
        "{refused}"
    );
    site.git(&["branch", "-f", "gcc/prod", &build]);
    let o = site.gcc(&["pins", "prod"]);
    assert!(text(&o.stderr).is_empty(), "{}", text(&o.stderr));
    assert!(!text(&o.stdout).contains("not made by gcc"));
}

#[test]
fn pins_need_force_to_move_and_unknown_targets_are_named() {
    let site = Site::new();
    site.gcc_code(&["build", "prod", "--commit"], 0);
    site.gcc_code(&["pin", "prod", "good"], 0);
    let twice = site.gcc_code(&["pin", "prod", "good"], 2);
    assert!(
        twice.contains("gcc::publish::pin_exists") && twice.contains("--force"),
        "{twice}"
    );
    site.gcc_code(&["pin", "prod", "good", "--force", "--ref", "gcc/prod"], 0);
    let bad = site.gcc_code(&["pin", "prod", "a..b"], 2);
    assert!(bad.contains("gcc::publish::bad_name"), "{bad}");
    let nope = site.gcc_code(&["rollback", "prod", "--to", "nonesuch"], 2);
    assert!(
        nope.contains("gcc::publish::not_found") && nope.contains("gcc pins prod"),
        "{nope}"
    );
    let no_build = site.gcc_code(&["pin", "prod", "x", "--build", "0000000"], 2);
    assert!(no_build.contains("gcc::publish::not_found"), "{no_build}");
    // A source commit is not a build.
    let src = site.gcc_code(&["rollback", "prod", "--to", "main"], 2);
    assert!(src.contains("gcc::publish::not_a_build"), "{src}");
    // Before any publish of aio, its branch does not exist.
    let empty = site.gcc_code(&["verify", "aio"], 2);
    assert!(empty.contains("gcc/aio does not exist yet"), "{empty}");
    // A prod build is not an aio build.
    let other = site.gcc_code(&["rollback", "aio", "--to", "gcc/prod"], 2);
    assert!(
        other.contains("is a build of environment `prod`, not of aio"),
        "{other}"
    );
    // An invalid branch name.
    let branch = site.gcc_code(&["build", "prod", "--commit", "--branch", "x y"], 2);
    assert!(branch.contains("gcc::publish::bad_name"), "{branch}");
}

#[test]
fn build_from_a_revision_equals_build_from_its_checkout() {
    let site = Site::new();
    let rev1 = site.git(&["rev-parse", "HEAD"]);
    site.edit(
        "environments/prod.yaml",
        "heat: {}",
        "heat: { replicas: 2 }",
    );
    site.commit_all("heat x2");
    // Uncommitted edits in the work tree must not leak into a --source-ref build.
    site.edit(
        "environments/prod.yaml",
        "glance: {}",
        "glance: { replicas: 5 }",
    );

    let from_git = site.path().join("from-git");
    site.gcc_code(
        &[
            "build",
            "prod",
            "--source-ref",
            &rev1[..8],
            "--out",
            from_git.to_str().unwrap(),
        ],
        0,
    );
    let checkout = tempfile::tempdir().unwrap();
    let co = checkout.path().join("co");
    let o = common::git_in(Path::new("/"))
        .args(["clone", "-q"])
        .arg(site.path())
        .arg(&co)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = common::git_in(&co)
        .args(["checkout", "-q", &rev1])
        .output()
        .unwrap();
    assert!(o.status.success());
    let from_checkout = checkout.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_gcc"))
        .arg("-C")
        .arg(&co)
        .args(["build", "prod", "--out"])
        .arg(&from_checkout)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let a = read_tree(&from_git);
    assert!(!a.is_empty());
    assert_eq!(
        a,
        read_tree(&from_checkout),
        "revision build and checkout build differ"
    );

    // HEAD (heat x2) differs from rev1; the work tree (glance x5) from both.
    let head = site.path().join("from-head");
    site.gcc_code(
        &[
            "build",
            "prod",
            "--source-ref",
            "HEAD",
            "--out",
            head.to_str().unwrap(),
        ],
        0,
    );
    let work = site.path().join("from-work");
    site.gcc_code(&["build", "prod", "--out", work.to_str().unwrap()], 0);
    let (h, w) = (read_tree(&head), read_tree(&work));
    assert_ne!(h, a);
    assert_ne!(h, w);
    let bad = site.gcc_code(&["build", "prod", "--source-ref", "no-such-rev"], 2);
    assert!(bad.contains("does not name a commit"), "{bad}");
}

#[test]
fn uncommitted_inputs_are_refused_unless_allowed() {
    let site = Site::new();
    site.gcc_code(&["build", "prod", "--commit"], 0);
    let tip = site.tip("gcc/prod");

    // Editing another environment does not make prod dirty.
    site.edit(
        "environments/aio.yaml",
        "keystone: {}",
        "keystone: { replicas: 1 }",
    );
    site.gcc_code(&["build", "prod", "--commit"], 0);
    assert_eq!(site.tip("gcc/prod"), tip);

    site.edit(
        "environments/prod.yaml",
        "heat: {}",
        "heat: { replicas: 2 }",
    );
    let refused = site.gcc_code(&["build", "prod", "--commit"], 2);
    assert!(
        refused.contains("gcc::publish::dirty") && refused.contains("--allow-dirty"),
        "{refused}"
    );
    // It names the file that changed, and only that one.
    assert!(refused.contains("(environments/prod.yaml)"), "{refused}");
    assert_eq!(
        site.tip("gcc/prod"),
        tip,
        "a refused publish must not move the branch"
    );

    let allowed = site.gcc_code(&["build", "prod", "--commit", "--allow-dirty"], 0);
    assert!(allowed.contains("published"), "{allowed}");
    let msg = site.git(&["log", "-1", "--format=%B", "gcc/prod"]);
    assert_eq!(
        trailer(&msg, "Source-Dirty").as_deref(),
        Some("true"),
        "{msg}"
    );
    // Its bytes verify, but it cannot be rebuilt from git.
    site.gcc_code(&["verify", "prod"], 0);
    let rebuild = site.gcc_code(&["verify", "prod", "--rebuild"], 1);
    assert!(
        rebuild.contains("cannot rebuild") && rebuild.contains("Source-Dirty"),
        "{rebuild}"
    );

    // An untracked inventory file counts: the inputs read differ from HEAD's.
    site.git(&["checkout", "-q", "--", "."]);
    std::fs::rename(
        site.inputs.join("inventory/laundry-lab/machines.yaml"),
        site.inputs.join("inventory/laundry-lab/zz-machines.yaml"),
    )
    .unwrap();
    let moved = site.gcc_code(&["build", "prod", "--commit"], 2);
    assert!(moved.contains("gcc::publish::dirty"), "{moved}");
    // The message may wrap inside a path.
    let moved = moved.replace("\n  │ ", "");
    assert!(
        moved.contains("inventory/laundry-lab/machines.yaml")
            && moved.contains("inventory/laundry-lab/zz-machines.yaml"),
        "{moved}"
    );
}

#[test]
fn a_subdirectory_project_records_and_rebuilds_its_path() {
    let site = Site::in_subdir(Some("sites/lab"));
    site.gcc_code(&["build", "prod", "--commit"], 0);
    let msg = site.git(&["log", "-1", "--format=%B", "gcc/prod"]);
    assert_eq!(
        trailer(&msg, "Source-Path").as_deref(),
        Some("sites/lab"),
        "{msg}"
    );
    site.gcc_code(&["verify", "prod", "--rebuild"], 0);
    site.gcc_code(&["build", "aio", "--source-ref", "HEAD"], 0);
}

#[test]
fn identity_falls_back_without_git_config() {
    let site = Site::new();
    site.git(&["config", "--unset", "user.name"]);
    site.git(&["config", "--unset", "user.email"]);
    site.gcc_code(&["build", "aio", "--commit"], 0);
    assert_eq!(
        site.git(&["log", "-1", "--format=%an <%ae>", "gcc/aio"]),
        "gcc <gcc@localhost>"
    );
}

#[test]
fn publish_branch_from_the_environment_and_a_separate_deploy_repo() {
    let site = Site::new();
    site.edit(
        "environments/aio.yaml",
        "branch: gcc/aio",
        "branch: deploy/aio-lab",
    );
    site.commit_all("aio publishes to deploy/aio-lab");
    site.gcc_code(&["build", "aio", "--commit"], 0);
    site.git(&["rev-parse", "--verify", "deploy/aio-lab"]);
    // A bare deploy repository elsewhere.
    let deploy = tempfile::tempdir().unwrap();
    let o = common::git_in(Path::new("/"))
        .args(["init", "-q", "--bare"])
        .arg(deploy.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    let d = deploy.path().to_str().unwrap();
    site.gcc_code(&["build", "prod", "--commit", "--repo", d], 0);
    site.gcc_code(&["verify", "prod", "--repo", d, "--rebuild"], 0);
    assert!(
        site.git_output(&["rev-parse", "--verify", "gcc/prod"])
            .status
            .code()
            != Some(0)
    );
}

#[test]
fn a_hand_edited_deploy_commit_fails_verify_and_rollback() {
    let site = Site::new();
    site.gcc_code(&["build", "prod", "--commit"], 0);
    site.gcc_code(&["pin", "prod", "good"], 0);
    // Someone edits the deploy branch by hand, keeping the message and its trailers.
    let wt = tempfile::tempdir().unwrap();
    let wt_path = wt.path().join("wt");
    let wt_str = wt_path.to_str().unwrap();
    site.git(&["worktree", "add", "-q", wt_str, "gcc/prod"]);
    let nova = wt_path.join("5-services/openstack/helmrelease-nova.yaml");
    let s = std::fs::read_to_string(&nova).unwrap();
    std::fs::write(&nova, s.replacen("interval: 1h", "interval: 5m", 1)).unwrap();
    std::fs::remove_file(wt_path.join("1-infrastructure/cluster/namespace-openstack.yaml"))
        .unwrap();
    std::fs::create_dir_all(wt_path.join("openstack")).unwrap();
    std::fs::write(wt_path.join("openstack/extra.yaml"), "kind: ConfigMap\n").unwrap();
    let git_wt = |args: &[&str]| {
        let o = common::git_in(&wt_path).args(args).output().unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
    };
    git_wt(&["add", "-A"]);
    git_wt(&["commit", "-q", "-C", "HEAD"]);
    let edited = site.tip("gcc/prod");

    let v = site.gcc_code(&["verify", "prod"], 1);
    assert!(v.contains("gcc::verify::mismatch"), "{v}");
    assert!(
        v.contains("changed: 5-services/openstack/helmrelease-nova.yaml"),
        "{v}"
    );
    assert!(
        v.contains("missing: 1-infrastructure/cluster/namespace-openstack.yaml"),
        "{v}"
    );
    assert!(v.contains("extra: openstack/extra.yaml"), "{v}");
    let json: serde_json::Value = serde_json::from_str(&text(
        &site.gcc(&["verify", "prod", "--format", "json"]).stdout,
    ))
    .unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(
        json["verification"]["files"]["differ"][0],
        "5-services/openstack/helmrelease-nova.yaml"
    );

    let rb = site.gcc_code(&["rollback", "prod", "--to", &edited], 1);
    assert!(rb.contains("refusing to roll back"), "{rb}");
    // The op behind it says the same as data, and prints nothing.
    let at = gcc::ops::deploy::At {
        root: &site.inputs,
        env: "prod",
        repo: None,
        branch: None,
    };
    match gcc::ops::deploy::rollback(&at, &edited) {
        Err(gcc::ops::deploy::Failure::Unverified(d, Some(v))) => {
            assert_eq!(d.code, "gcc::verify::mismatch");
            assert_eq!(
                v.files.differ,
                ["5-services/openstack/helmrelease-nova.yaml"]
            );
            assert_eq!(v.files.extra, ["openstack/extra.yaml"]);
        }
        other => panic!("rollback to a tampered commit: {other:?}"),
    }
    assert_eq!(
        site.tip("gcc/prod"),
        edited,
        "a refused rollback must not move the branch"
    );
    // Rolling back to the good pin repairs the branch.
    site.gcc_code(&["rollback", "prod", "--to", "good"], 0);
    site.gcc_code(&["verify", "prod", "--rebuild"], 0);
    let v = gcc::ops::deploy::verify(&at, None, true).expect("verifies");
    assert!(v.ok() && v.verification.ok());
    match v.rebuild {
        Some(gcc::ops::deploy::Rebuild::Rebuilt { files, source, .. }) => {
            assert!(files.is_empty(), "{files:?}");
            assert_eq!(source, site.tip("main"));
        }
        other => panic!("no rebuild: {other:?}"),
    }
}

#[test]
fn two_publishers_racing_exactly_one_wins() {
    let site = Site::new();
    site.gcc_code(&["build", "prod", "--commit"], 0);
    let start = site.tip("gcc/prod");
    // Two builds of different inputs, staged against the same tip, then landed.
    let a = gcc::compile::compile(&gcc::source::WorkDir::new(&site.inputs), "prod").unwrap();
    site.edit(
        "environments/prod.yaml",
        "heat: {}",
        "heat: { replicas: 2 }",
    );
    let b = gcc::compile::compile(&gcc::source::WorkDir::new(&site.inputs), "prod").unwrap();
    let (a, b) = (a.build.unwrap().rendered, b.build.unwrap().rendered);
    let open = || Deploy::open(site.path(), "prod", "gcc/prod").unwrap();
    let (one, two) = (open(), open());
    let tree_b = write_files(two.repo(), &b.files).unwrap();
    let staged_two = two
        .stage(tree_b, "gcc: build prod b\n\nBuild-Id: b\n")
        .unwrap();
    let mut a_files = a.files.clone();
    a_files.insert("openstack/x.yaml".into(), b"x: 1\n".to_vec());
    let tree_a = write_files(one.repo(), &a_files).unwrap();
    let staged_one = one
        .stage(tree_a, "gcc: build prod a\n\nBuild-Id: a\n")
        .unwrap();
    assert_eq!(staged_one.parent, staged_two.parent);
    let won = one.land(&staged_one).unwrap();
    assert!(matches!(won, Published::Committed { .. }));
    let lost = two.land(&staged_two).unwrap_err();
    assert_eq!(lost.code, CONFLICT);
    assert!(
        lost.message.contains("moved while publishing"),
        "{}",
        lost.message
    );
    // The branch is the winner's complete commit, on top of the old tip.
    assert_eq!(site.git(&["rev-parse", "gcc/prod~1"]), start);
    assert_eq!(site.files_at("gcc/prod"), a_files);
}

#[test]
fn concurrent_publisher_processes_never_break_the_branch() {
    let site = Site::new();
    site.gcc_code(&["build", "prod", "--commit"], 0);
    let mut revs = vec![site.git(&["rev-parse", "HEAD"])];
    for n in 2..=4 {
        let from = match n {
            2 => "heat: {}".to_string(),
            _ => format!("heat: {{ replicas: {} }}", n - 1),
        };
        site.edit(
            "environments/prod.yaml",
            &from,
            &format!("heat: {{ replicas: {n} }}"),
        );
        site.commit_all(&format!("heat x{n}"));
        revs.push(site.git(&["rev-parse", "HEAD"]));
    }
    let before = site.git(&["rev-list", "--count", "gcc/prod"]);
    assert_eq!(before, "1");
    // Six publishers of three different revisions at once.
    let children: Vec<_> = (0..6)
        .map(|i| {
            let rev = &revs[1 + i % 3];
            site.command(&["build", "prod", "--commit", "--source-ref", rev, "--out"])
                .arg(site.path().join(format!("out/p{i}")))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut committed = 0;
    for child in children {
        let o = child.wait_with_output().unwrap();
        let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
        match o.status.code() {
            Some(0) => committed += usize::from(all.contains("published prod build")),
            Some(2) => assert!(all.contains("gcc::publish::conflict"), "{all}"),
            other => panic!("publisher exited {other:?}: {all}"),
        }
    }
    // Every success is one commit on a first-parent chain; the tip verifies.
    let count: usize = site
        .git(&["rev-list", "--count", "gcc/prod"])
        .parse()
        .unwrap();
    assert_eq!(count, 1 + committed);
    assert!(committed >= 1);
    site.gcc_code(&["verify", "prod", "--rebuild"], 0);
    site.git(&["fsck", "--no-dangling"]);
}

#[test]
fn a_held_branch_lock_fails_cleanly() {
    let site = Site::new();
    site.gcc_code(&["build", "prod", "--commit"], 0);
    let tip = site.tip("gcc/prod");
    site.edit(
        "environments/prod.yaml",
        "heat: {}",
        "heat: { replicas: 2 }",
    );
    site.commit_all("heat x2");
    let lock = site.path().join(".git/refs/heads/gcc/prod.lock");
    std::fs::write(&lock, "").unwrap();
    let locked = site.gcc_code(&["build", "prod", "--commit"], 2);
    assert!(
        locked.contains("gcc::publish::conflict") && locked.contains("prod.lock"),
        "{locked}"
    );
    assert_eq!(site.tip("gcc/prod"), tip);
    std::fs::remove_file(&lock).unwrap();
    site.gcc_code(&["build", "prod", "--commit"], 0);
    assert_ne!(site.tip("gcc/prod"), tip);
}

#[test]
fn a_killed_publisher_leaves_the_old_or_the_new_commit() {
    let site = Site::new();
    site.gcc_code(&["build", "prod", "--commit"], 0);
    let rev_a = site.git(&["rev-parse", "HEAD"]);
    site.edit(
        "environments/prod.yaml",
        "heat: {}",
        "heat: { replicas: 2 }",
    );
    site.commit_all("heat x2");
    let rev_b = site.git(&["rev-parse", "HEAD"]);
    // A third build, published only by the last publisher, which runs to the end: it
    // lands a new commit whatever the kills before it left (on a loaded machine, all of
    // them may come before any landing, and the tip may already hold A's or B's tree).
    site.edit(
        "environments/prod.yaml",
        "heat: { replicas: 2 }",
        "heat: { replicas: 3 }",
    );
    site.commit_all("heat x3");
    let rev_c = site.git(&["rev-parse", "HEAD"]);
    let publish = |rev: &str| {
        site.command(&["build", "prod", "--commit", "--source-ref", rev, "--out"])
            .arg(site.path().join("out/killed"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // How long one whole publish takes here, to spread the kills over it.
    let t0 = Instant::now();
    assert!(publish(&rev_b).wait().unwrap().success());
    let full = t0.elapsed();
    let steps = 24u32;
    let mut outcomes = (0, 0);
    for i in 0..steps {
        let old = site.tip("gcc/prod");
        let rev = if i + 1 == steps {
            &rev_c
        } else if i % 2 == 0 {
            &rev_a
        } else {
            &rev_b
        };
        let mut child = publish(rev);
        // From 0 to 1.5 times a whole publish: early kills, late kills, some complete.
        // The last one runs to the end, so a publisher that never lands fails the test.
        if i + 1 < steps {
            std::thread::sleep(
                full * 3 * i / (2 * steps) + Duration::from_micros(u64::from(i) * 150),
            );
            let _ = child.kill();
        }
        let _ = child.wait();
        let lock = site.path().join(".git/refs/heads/gcc/prod.lock");
        if lock.exists() {
            // Killed while holding the ref lock: the branch is still the old commit.
            assert_eq!(site.tip("gcc/prod"), old);
            std::fs::remove_file(&lock).unwrap();
        }
        let new = site.tip("gcc/prod");
        if new == old {
            outcomes.0 += 1;
        } else {
            outcomes.1 += 1;
            assert_eq!(
                site.git(&["rev-parse", "gcc/prod~1"]),
                old,
                "new commit on top of the old"
            );
        }
        assert_eq!(site.git(&["cat-file", "-t", &new]), "commit");
        site.gcc_code(&["verify", "prod"], 0);
    }
    eprintln!("kill outcomes (old, new): {outcomes:?}");
    // A kill at once leaves the old commit; the publish left alone lands the new one.
    assert!(outcomes.0 >= 1 && outcomes.1 >= 1, "{outcomes:?}");
    site.git(&["fsck", "--no-dangling"]);
}

#[test]
fn verify_files_agrees_with_the_published_tree() {
    // The library check and the CLI agree on a fresh build's tree.
    let site = Site::new();
    site.gcc_code(&["build", "aio", "--commit"], 0);
    let files = site.files_at("gcc/aio");
    let v = verify_files(&files, None);
    assert!(v.ok(), "{v:?}");
    let msg = site.git(&["log", "-1", "--format=%B", "gcc/aio"]);
    assert_eq!(
        trailer(&msg, "Build-Id").as_deref(),
        v.locked_build_id.as_deref()
    );
}

#[test]
fn outside_a_repository_and_in_a_broken_one() {
    // No repository at all: --commit and --source-ref say so; a plain build still works.
    let plain = tempfile::tempdir().unwrap();
    for d in ["environments", "inventory"] {
        copy_dir(&repo().join(d), &plain.path().join(d));
    }
    let run = |args: &[&str]| {
        let o = common::gcc(plain.path(), args);
        (
            o.status.code(),
            format!("{}{}", text(&o.stdout), text(&o.stderr)),
        )
    };
    let (code, out) = run(&["build", "aio", "--commit"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("gcc::publish::no_repository") && out.contains("git init"),
        "{out}"
    );
    assert!(
        !plain.path().join("out/aio").exists(),
        "a refused publish writes nothing"
    );
    let (code, out) = run(&["build", "aio", "--source-ref", "HEAD"]);
    assert_eq!(code, Some(2), "{out}");
    assert_eq!(run(&["build", "aio"]).0, Some(0));

    // A deploy branch pointing at an object that does not exist.
    let site = Site::new();
    std::fs::create_dir_all(site.path().join(".git/refs/heads/gcc")).unwrap();
    std::fs::write(
        site.path().join(".git/refs/heads/gcc/prod"),
        "0123456789abcdef0123456789abcdef01234567\n",
    )
    .unwrap();
    let broken = site.gcc_code(&["pins", "prod"], 2);
    assert!(broken.contains("gcc::publish::git"), "{broken}");
}
