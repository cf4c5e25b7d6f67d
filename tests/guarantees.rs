//! What gcc never does (README.md, "What gcc never does"): replace what it did not
//! write, read outside the source tree, publish where a build does not belong. Each
//! test runs the attack or the slip, asserts the refusal (exit 2, the code, the path
//! named) and that nothing changed: a checksum of the whole site, `.git` included, and
//! `git for-each-ref`, before and after.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{repo, text};
use tempfile::TempDir;

/// A git repository holding the bundled example, committed, with one good aio build in
/// out/aio; the process runs inside it, so `--out .` means the repository.
struct Site {
    dir: TempDir,
    home: TempDir,
}

/// Everything under a directory: path → sha256 of the bytes (or of the link target),
/// with directories listed too, so that an emptied directory counts as a change.
type Snapshot = (BTreeMap<String, String>, String);

impl Site {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["environments", "inventory"] {
            for (rel, bytes) in common::read_tree(&repo().join(sub)) {
                let to = dir.path().join(sub).join(rel);
                fs::create_dir_all(to.parent().unwrap()).unwrap();
                fs::write(to, bytes).unwrap();
            }
        }
        fs::write(dir.path().join(".gitignore"), "out/\n").unwrap();
        let site = Site {
            dir,
            home: tempfile::tempdir().unwrap(),
        };
        site.git(&["init", "-q", "-b", "main"]);
        site.git(&["config", "user.name", "Ops"]);
        site.git(&["config", "user.email", "ops@example.net"]);
        site.git(&["add", "-A"]);
        site.git(&["commit", "-q", "-m", "inputs"]);
        site.ok(&["build", "aio"]);
        site
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn git(&self, args: &[&str]) -> String {
        let o = common::git_in(self.root())
            .args(args)
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", text(&o.stderr));
        text(&o.stdout).trim_end().to_string()
    }

    /// gcc run inside the site (`-C .`), with an isolated HOME.
    fn gcc(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gcc"))
            .current_dir(self.root())
            .args(["-C", "."])
            .args(args)
            .env("NO_COLOR", "1")
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.gcc(args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "gcc {args:?}: {}",
            text(&o.stderr)
        );
        text(&o.stdout)
    }

    fn snapshot(&self) -> Snapshot {
        (checksums(self.root()), self.git(&["for-each-ref"]))
    }

    /// Runs gcc and asserts exit 2, `code` and every one of `named` on stderr, and that
    /// nothing under the site or in its refs changed.
    fn refused(&self, args: &[&str], code: &str, named: &[&str]) -> String {
        self.refused_beside(args, code, named, &[])
    }

    /// [`Site::refused`], also asserting that the directories `beside` did not change.
    fn refused_beside(
        &self,
        args: &[&str],
        code: &str,
        named: &[&str],
        beside: &[&Path],
    ) -> String {
        let before = self.snapshot();
        let outside: Vec<_> = beside.iter().map(|d| checksums(d)).collect();
        let o = self.gcc(args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "gcc {args:?}:\n{err}");
        assert!(err.contains(code), "no {code} in:\n{err}");
        for n in named {
            assert!(
                squash(&err).contains(&squash(n)),
                "`{n}` not named in:\n{err}"
            );
        }
        let after = self.snapshot();
        assert_eq!(
            changes(&before.0, &after.0),
            Vec::<String>::new(),
            "gcc {args:?} changed the site"
        );
        assert_eq!(after.1, before.1, "gcc {args:?} changed the refs");
        for (d, sums) in beside.iter().zip(outside) {
            let now = checksums(d);
            assert_eq!(
                changes(&sums, &now),
                Vec::<String>::new(),
                "gcc {args:?} changed {}",
                d.display()
            );
        }
        err
    }
}

/// The paths added, removed or changed between two checksums.
fn changes(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {:?} -> {:?}", a.get(k), b.get(k)))
        .collect()
}

fn checksums(dir: &Path) -> BTreeMap<String, String> {
    use sha2::{Digest, Sha256};
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let t = e.file_type();
            let sum = if t.is_symlink() {
                format!("link {}", fs::read_link(e.path()).unwrap().display())
            } else if t.is_file() {
                hex::encode(Sha256::digest(fs::read(e.path()).unwrap()))
            } else {
                "dir".into()
            };
            (rel, sum)
        })
        .collect()
}

/// Text without whitespace or miette's gutter, so a message matches however it wrapped.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect()
}

const OVERLAP: &str = "gcc::build::output_overlaps";
const NOT_OURS: &str = "gcc::build::not_gcc_output";

#[test]
fn out_may_not_be_the_repository_or_hold_it() {
    let site = Site::new();
    fs::write(site.path("uncommitted.txt"), "work in progress").unwrap();
    let root = site.root().to_str().unwrap().to_string();
    site.refused(
        &["build", "prod", "--out", &root],
        OVERLAP,
        &["it is the source root"],
    );
    site.refused(
        &["build", "prod", "--out", "."],
        OVERLAP,
        &["it is the source root"],
    );
    let parent = site.root().parent().unwrap().to_str().unwrap().to_string();
    site.refused(
        &["build", "prod", "--out", &parent],
        OVERLAP,
        &["it holds the source root"],
    );
}

#[test]
fn out_may_not_be_a_git_directory_or_inside_one() {
    let site = Site::new();
    site.refused(
        &["build", "prod", "--out", ".git"],
        OVERLAP,
        &["it is", "git directory"],
    );
    site.refused(
        &["build", "prod", "--out", ".git/refs"],
        OVERLAP,
        &["inside", "git directory"],
    );
    // A deploy repository named with --repo is kept just the same.
    let deploy = tempfile::tempdir().unwrap();
    git2_init(deploy.path());
    let git = deploy.path().join(".git");
    site.refused_beside(
        &[
            "build",
            "prod",
            "--commit",
            "--repo",
            deploy.path().to_str().unwrap(),
            "--out",
            git.to_str().unwrap(),
        ],
        OVERLAP,
        &["the git directory of the deploy repository"],
        &[deploy.path()],
    );
}

fn git2_init(dir: &Path) {
    let o = common::git_in(Path::new("/"))
        .args(["init", "-q"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.success());
}

#[test]
fn out_may_not_be_an_input_directory() {
    let site = Site::new();
    fs::write(site.path("environments/wip.yaml"), "# not committed yet\n").unwrap();
    for (out, named) in [
        ("inventory", "it is the input directory inventory/"),
        ("environments", "it is the input directory environments/"),
        (
            "inventory/generated",
            "it is inside the input directory inventory/",
        ),
        ("out/../environments", "environments/"),
    ] {
        site.refused(&["build", "prod", "--out", out], OVERLAP, &[named, out]);
    }
    assert!(site.path("environments/wip.yaml").exists());
}

#[test]
fn out_may_not_replace_a_directory_gcc_did_not_write() {
    let site = Site::new();
    let userdata = tempfile::tempdir().unwrap();
    fs::create_dir(userdata.path().join("photos")).unwrap();
    fs::write(userdata.path().join("photos/cat.jpg"), "meow").unwrap();
    let target = userdata.path().to_str().unwrap();
    site.refused_beside(
        &["build", "prod", "--out", target],
        NOT_OURS,
        &[target, "no gcc.lock.json", "`photos/cat.jpg`"],
        &[userdata.path()],
    );
    // A gcc tree with a stranger in it: the stranger is named, and kept.
    fs::write(site.path("out/aio/notes.md"), "my notes").unwrap();
    fs::write(site.path("environments/aio.yaml"), {
        let mut s = fs::read_to_string(site.path("environments/aio.yaml")).unwrap();
        s.push_str("# changed, so the tree differs\n");
        s
    })
    .unwrap();
    site.refused(
        &["build", "aio"],
        NOT_OURS,
        &["out/aio", "`notes.md`", "holds files gcc did not write"],
    );
    // In a fleet, aio fails on its own (the other environments build) and is kept.
    let aio = checksums(&site.path("out/aio"));
    let o = site.gcc(&["build", "--all"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("`notes.md`"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        changes(&aio, &checksums(&site.path("out/aio"))),
        Vec::<String>::new()
    );
    // A gcc output, even an edited one, is gcc's to replace.
    fs::remove_file(site.path("out/aio/notes.md")).unwrap();
    fs::write(site.path("out/aio/kustomization.yaml"), "edited").unwrap();
    site.ok(&["build", "aio"]);
    // An empty directory is fine too.
    let empty = tempfile::tempdir().unwrap();
    site.ok(&["build", "aio", "--out", empty.path().to_str().unwrap()]);
    assert!(empty.path().join("gcc.lock.json").is_file());
}

#[test]
fn a_fleet_whose_outputs_would_replace_inputs_is_refused_before_anything_moves() {
    let site = Site::new();
    fs::copy(
        site.path("environments/aio.yaml"),
        site.path("environments/inventory.yaml"),
    )
    .unwrap();
    // `--out .` puts environment `inventory` into ./inventory: refused, and so is the
    // whole run; aio's output (./aio) is not written either.
    site.refused(
        &["build", "--all", "--out", "."],
        OVERLAP,
        &[
            "refusing to write inventory into",
            "it is the input directory inventory/",
        ],
    );
    assert!(!site.path("aio").exists());
}

#[test]
fn leftover_staging_trees_are_cleaned_even_when_nothing_changed() {
    let site = Site::new();
    let tree = common::read_tree(&site.path("out/aio"));
    // What a build killed mid-write leaves beside the output: staging (lock first) and
    // an old tree half removed (lock last).
    for leftover in ["out/.aio.new", "out/.aio.old"] {
        fs::create_dir_all(site.path(leftover).join("cluster")).unwrap();
        fs::write(site.path(leftover).join("gcc.lock.json"), "{\"partial").unwrap();
        fs::write(site.path(leftover).join("cluster/x.yaml"), "x").unwrap();
    }
    site.ok(&["build", "aio"]);
    assert_eq!(names(&site.path("out")), ["aio"]);
    assert_eq!(
        common::read_tree(&site.path("out/aio")),
        tree,
        "the tree itself untouched"
    );
    // The fleet's up-to-date skip cleans them too.
    site.ok(&["build", "--all"]);
    fs::create_dir_all(site.path("out/.aio.new/cluster")).unwrap();
    let o = site.ok(&["build", "--all"]);
    assert!(o.contains("up to date"), "{o}");
    assert!(!site.path("out/.aio.new").exists());
    // A `.aio.new` gcc did not leave is refused, not removed.
    fs::create_dir_all(site.path("out/.aio.new")).unwrap();
    fs::write(site.path("out/.aio.new/mine.txt"), "mine").unwrap();
    site.refused(&["build", "aio"], NOT_OURS, &["out/.aio.new", "`mine.txt`"]);
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

const LINK_OUTSIDE: &str = "gcc::load::link_outside";

/// Points environment `env` (a copy of aio) at inventory `inv`.
fn env_naming(site: &Site, env: &str, inv: &str) {
    let aio = fs::read_to_string(site.path("environments/aio.yaml")).unwrap();
    let text = aio.replace("inventory: aio-lab", &format!("inventory: {inv}"));
    assert_ne!(text, aio);
    fs::write(site.path(&format!("environments/{env}.yaml")), text).unwrap();
}

#[test]
fn a_link_out_of_the_tree_is_refused_and_its_target_never_quoted() {
    let site = Site::new();
    let secrets = tempfile::tempdir().unwrap();
    let creds = secrets.path().join(".git-credentials");
    fs::write(&creds, "https://ops:ghp_SECRETTOKEN@github.com\n").unwrap();
    std::os::unix::fs::symlink(&creds, site.path("inventory/x.yaml")).unwrap();
    env_naming(&site, "evil", "x");
    for verb in ["check", "build"] {
        let err = site.refused(
            &[verb, "evil"],
            LINK_OUTSIDE,
            &["inventory/x.yaml", "outside the source tree"],
        );
        assert!(!err.contains("ghp_"), "the target's content leaked:\n{err}");
    }
    let o = site.gcc(&["check", "evil", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(all.contains(LINK_OUTSIDE) && !all.contains("ghp_"), "{all}");

    // A relative link that climbs out is the same, and so is a linked directory.
    fs::remove_file(site.path("inventory/x.yaml")).unwrap();
    std::os::unix::fs::symlink("../../x.yaml", site.path("inventory/x.yaml")).unwrap();
    site.refused(&["check", "evil"], LINK_OUTSIDE, &["`../../x.yaml`"]);
    fs::remove_file(site.path("inventory/x.yaml")).unwrap();
    let lab = tempfile::tempdir().unwrap();
    fs::copy(
        site.path("inventory/aio-lab.yaml"),
        lab.path().join("site.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(lab.path(), site.path("inventory/x")).unwrap();
    site.refused(
        &["build", "evil"],
        LINK_OUTSIDE,
        &["inventory/x is a symbolic link"],
    );
    // A link out inside an inventory directory is refused, not skipped.
    fs::remove_file(site.path("inventory/x")).unwrap();
    fs::create_dir(site.path("inventory/x")).unwrap();
    fs::copy(
        site.path("inventory/aio-lab.yaml"),
        site.path("inventory/x/site.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&creds, site.path("inventory/x/more.yaml")).unwrap();
    site.refused(&["build", "evil"], LINK_OUTSIDE, &["inventory/x/more.yaml"]);
    // And an environment file that is such a link.
    std::os::unix::fs::symlink(&creds, site.path("environments/leak.yaml")).unwrap();
    site.refused(
        &["check", "leak"],
        LINK_OUTSIDE,
        &["environments/leak.yaml"],
    );
    let o = site.gcc(&["build", "--all", "--format", "json"]);
    assert!(text(&o.stdout).contains(LINK_OUTSIDE) && !text(&o.stdout).contains("ghp_"));
}

#[test]
fn a_committed_link_out_of_the_tree_is_refused_at_a_revision_too() {
    let site = Site::new();
    std::os::unix::fs::symlink("../../../etc/hostname", site.path("inventory/x.yaml")).unwrap();
    env_naming(&site, "evil", "x");
    site.git(&["add", "-A"]);
    site.git(&["commit", "-q", "-m", "a link out"]);
    site.refused(
        &["build", "evil", "--source-ref", "HEAD"],
        LINK_OUTSIDE,
        &["inventory/x.yaml", "`../../../etc/hostname`"],
    );
    site.refused(&["build", "evil"], LINK_OUTSIDE, &["inventory/x.yaml"]);
}

#[test]
fn a_link_inside_the_tree_is_followed_alike_in_the_work_tree_and_in_git() {
    let site = Site::new();
    std::os::unix::fs::symlink("aio.yaml", site.path("environments/aio2.yaml")).unwrap();
    fs::create_dir(site.path("inventory/shared")).unwrap();
    std::os::unix::fs::symlink("../aio-lab.yaml", site.path("inventory/shared/site.yaml")).unwrap();
    env_naming(&site, "aio3", "shared");
    site.git(&["add", "-A"]);
    site.git(&["commit", "-q", "-m", "links inside"]);
    for env in ["aio2", "aio3"] {
        let work = site.ok(&["build", env, "--format", "json"]);
        let git = site.ok(&[
            "build",
            env,
            "--source-ref",
            "HEAD",
            "--format",
            "json",
            "--out",
            &format!("out/{env}-git"),
        ]);
        let id =
            |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()["build_id"].clone();
        assert_eq!(
            id(&work),
            id(&git),
            "{env}: the work tree and HEAD build alike"
        );
        // Clean: the link's target is what both read, so publishing needs no --allow-dirty.
        site.ok(&["build", env, "--commit", "--branch", &format!("gcc/{env}")]);
    }
}

const FOREIGN: &str = "gcc::publish::foreign_branch";
const BAD_NAME: &str = "gcc::publish::bad_name";

#[test]
fn publishing_onto_the_checked_out_or_a_source_branch_is_refused() {
    let site = Site::new();
    site.refused(
        &["build", "aio", "--commit", "--branch", "main"],
        FOREIGN,
        &["onto main", "checked out"],
    );
    site.git(&["branch", "feature"]);
    site.refused(
        &["build", "aio", "--commit", "--branch", "feature"],
        FOREIGN,
        &["onto feature", "is not a gcc build"],
    );
    // A rollback onto it is refused the same way.
    site.ok(&["build", "aio", "--commit"]);
    site.ok(&["pin", "aio", "good"]);
    site.refused(
        &["rollback", "aio", "--to", "good", "--branch", "main"],
        FOREIGN,
        &["checked out"],
    );
}

#[test]
fn branch_names_git_refuses_are_refused_and_refs_heads_is_stripped() {
    let site = Site::new();
    for bad in ["HEAD", "-x", "a..b", "refs/heads/", "x.lock"] {
        site.refused(
            &["build", "aio", "--commit", &format!("--branch={bad}")],
            BAD_NAME,
            &[&format!("`{bad}` is not a valid git branch name")],
        );
    }
    let o = site.gcc(&[
        "build",
        "aio",
        "--commit",
        "--branch",
        "refs/heads/deploy/aio",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("read as the branch name `deploy/aio`"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains("to deploy/aio:"),
        "{}",
        text(&o.stdout)
    );
    let refs = site.git(&["for-each-ref", "--format=%(refname)"]);
    assert!(refs.lines().any(|r| r == "refs/heads/deploy/aio"), "{refs}");
    assert!(!refs.contains("refs/heads/refs/"), "{refs}");
    // The same name in the environment's publish.branch is read, and said, the same way.
    let env = fs::read_to_string(site.path("environments/aio.yaml")).unwrap();
    let env = env.replace("  branch: gcc/aio", "  branch: refs/heads/deploy/env");
    fs::write(site.path("environments/aio.yaml"), env).unwrap();
    site.git(&["commit", "-qam", "publish to refs/heads/deploy/env"]);
    let o = site.gcc(&["build", "aio", "--commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("`refs/heads/deploy/env` is read as the branch name `deploy/env`"),
        "{}",
        text(&o.stderr)
    );
    let refs = site.git(&["for-each-ref", "--format=%(refname)"]);
    assert!(refs.lines().any(|r| r == "refs/heads/deploy/env"), "{refs}");
    // Pins follow git's rules too.
    for bad in ["-x", "a..b", "x.lock", "a/b"] {
        site.refused(
            &["pin", "aio", "--branch", "deploy/aio", "--", bad],
            BAD_NAME,
            &["is not a valid pin name"],
        );
    }
}

#[test]
fn a_copied_environment_never_publishes_onto_the_original_branch() {
    let site = Site::new();
    site.ok(&["build", "aio", "--commit"]);
    // staging.yaml is a copy of aio.yaml, publish.branch gcc/aio included.
    fs::copy(
        site.path("environments/aio.yaml"),
        site.path("environments/staging.yaml"),
    )
    .unwrap();
    site.git(&["add", "-A"]);
    site.git(&["commit", "-q", "-m", "staging"]);
    site.refused(
        &["build", "staging", "--commit"],
        FOREIGN,
        &["onto gcc/aio", "environment `aio`"],
    );
    // The fleet finds the shared branch before anything is built.
    fs::remove_dir_all(site.path("out")).unwrap();
    site.refused(
        &["build", "--all", "--commit"],
        FOREIGN,
        &["environments aio and staging share the deploy branch gcc/aio"],
    );
    assert!(!site.path("out").exists(), "nothing built");
    // A staging build published on a branch of its own is not prod's to vouch for.
    site.ok(&["build", "staging", "--commit", "--branch", "gcc/staging"]);
    let o = site.gcc(&["verify", "aio", "--ref", "gcc/staging"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("is a build of environment `staging`, not of aio"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_pin_named_like_a_build_id_prefix_is_ambiguous() {
    let site = Site::new();
    site.ok(&["build", "aio", "--commit"]);
    let first =
        serde_json::from_str::<serde_json::Value>(&site.ok(&["pins", "aio", "--format", "json"]))
            .unwrap()["builds"][0]["build_id"]
            .as_str()
            .unwrap()
            .to_string();
    // A second, different build on the tip.
    edit_first(&site, "environments/aio.yaml");
    site.git(&["commit", "-qam", "second"]);
    site.ok(&["build", "aio", "--commit"]);
    let prefix = &first[..8];
    site.ok(&["pin", "aio", prefix]); // pins the tip, which is not build `prefix`
    site.refused(
        &["rollback", "aio", "--to", prefix],
        "gcc::publish::ambiguous",
        &[
            &format!("`{prefix}` is ambiguous"),
            &format!("gcc/aio/{prefix}"),
        ],
    );
    // More digits pick the build.
    site.ok(&["rollback", "aio", "--to", &first[..12]]);
}

/// Changes environment `rel` so that it compiles to a different tree.
fn edit_first(site: &Site, rel: &str) {
    let p = site.path(rel);
    let s = fs::read_to_string(&p).unwrap();
    let changed = s.replacen("  horizon: {}\n", "", 1);
    assert_ne!(changed, s);
    fs::write(&p, changed).unwrap();
}

#[test]
fn verify_rebuild_names_the_trailer_of_a_missing_source_commit() {
    let site = Site::new();
    let deploy = tempfile::tempdir().unwrap();
    git2_init(deploy.path());
    let repo = deploy.path().to_str().unwrap();
    site.ok(&["build", "aio", "--commit", "--repo", repo]);
    // The source commit disappears: amended and pruned.
    let source = site.git(&["rev-parse", "HEAD"]);
    site.git(&["commit", "-q", "--amend", "-m", "rewritten"]);
    site.git(&["reflog", "expire", "--expire=now", "--all"]);
    site.git(&["gc", "-q", "--prune=now"]);
    let o = site.gcc(&["verify", "aio", "--rebuild", "--repo", repo]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("the Source-Commit trailer of deploy commit"),
        "{err}"
    );
    assert!(err.contains(&format!("names {source}")), "{err}");
}
