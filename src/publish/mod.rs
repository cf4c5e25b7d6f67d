//! Publish: builds as commits on a deploy branch, pins as annotated tags, rollbacks as
//! new commits, and the history read back from the commit trailers.
//!
//! Everything goes through libgit2 (no git CLI, no network). The only ref a publish
//! moves is the deploy branch, with a compare-and-swap against the tip it read: objects
//! (blobs, trees, the commit) are written first, the ref last, so a publisher that dies
//! half way leaves the branch at the old commit and a few unreferenced objects. The
//! source repository's work tree, index and HEAD are never touched.
//!
//! `repo`: opening repositories, branch names, the signature, revisions. `tree`: files
//! as git trees and back. `trailers`: what a commit records (provenance, trailers,
//! messages). `history`: builds, pins and names read back from the branch.

mod history;
mod repo;
mod trailers;
mod tree;

pub(crate) use repo::{branch_name, default_branch, open_repo, rev_commit, signature};
pub(crate) use trailers::{Provenance, build_message, rollback_message, short, utc};
pub use trailers::{trailer, trailers};
pub(crate) use tree::commit_files;
pub use tree::write_files;

use repo::peel_rev;
use trailers::read_build;

use std::path::Path;

use git2::{ErrorCode, Oid, Repository};
use serde::Serialize;

use crate::diag::Diagnostic;

/// Code: the directory is not inside a git repository.
pub(crate) const NO_REPOSITORY: &str = "gcc::publish::no_repository";
/// Code: the inputs differ from the source commit and `--allow-dirty` was not given.
pub(crate) const DIRTY: &str = "gcc::publish::dirty";
/// Code: the deploy branch moved (or is locked) while publishing; nothing was written.
pub const CONFLICT: &str = "gcc::publish::conflict";
/// Code: a branch or pin name that git refuses.
pub const BAD_NAME: &str = "gcc::publish::bad_name";
/// Code: a pin, build id or commit that cannot be found.
pub(crate) const NOT_FOUND: &str = "gcc::publish::not_found";
/// Code: the pin exists and `--force` was not given.
pub(crate) const PIN_EXISTS: &str = "gcc::publish::pin_exists";
/// Code: a commit that is not a gcc build (no `Build-Id:` trailer).
pub(crate) const NOT_A_BUILD: &str = "gcc::publish::not_a_build";
/// Code: the deploy branch is not gcc's to publish on (checked out, not a deploy
/// branch, another environment's, or shared by two environments of a fleet).
pub(crate) const FOREIGN_BRANCH: &str = "gcc::publish::foreign_branch";
/// Code (warning): the deploy branch's tip is a commit gcc did not make.
pub(crate) const OTHER_TIP: &str = "gcc::publish::other_tip";
/// Code: a `--to` or `--ref` that names two different builds (a pin and a build id).
pub(crate) const AMBIGUOUS: &str = "gcc::publish::ambiguous";
/// Code: libgit2 failed (a corrupt repository, a permission problem).
pub(crate) const GIT: &str = "gcc::publish::git";

/// Name and e-mail used when git config has no `user.name` / `user.email`.
pub(crate) const FALLBACK_IDENTITY: (&str, &str) = ("gcc", "gcc@localhost");

/// A published build as recorded in its commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Build {
    /// The deploy commit.
    pub commit: String,
    /// Its build id.
    pub build_id: String,
    /// The environment it was built for.
    pub environment: String,
    /// Commit time, seconds since the epoch (UTC).
    pub time: i64,
    /// The source commit of its inputs.
    pub source_commit: Option<String>,
    /// The inputs' directory inside the source repository.
    pub source_path: String,
    /// Built from uncommitted inputs.
    pub source_dirty: bool,
    /// gcc's version.
    pub gcc_version: Option<String>,
    /// For a rollback: the commit restored.
    pub rollback_to: Option<String>,
}

/// A commit on a deploy branch that gcc did not make: its message has no `Build-Id:`
/// trailer. Flux or Argo CD deploy it all the same when it is the tip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherCommit {
    /// The commit.
    pub commit: String,
    /// Commit time, seconds since the epoch (UTC).
    pub time: i64,
    /// The first line of its message.
    pub summary: String,
    /// Its author, `name <email>`.
    pub author: String,
}

/// One commit of a deploy branch's first-parent history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A gcc build.
    Build(Build),
    /// A commit gcc did not make.
    Other(OtherCommit),
}

/// A pin: an annotated tag `gcc/<env>/<name>` on a deploy commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pin {
    /// The pin's name (without `gcc/<env>/`).
    pub name: String,
    /// The build it points at.
    pub build: Build,
}

/// The outcome of a publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Published {
    /// A new commit is the branch tip.
    Committed {
        /// The new commit.
        commit: String,
        /// The previous tip (`None` for a new branch).
        parent: Option<String>,
    },
    /// The tip already has exactly this tree; nothing was written.
    UpToDate {
        /// The tip.
        commit: String,
    },
}

/// A commit written to the object database but not yet on the branch.
#[derive(Debug, Clone)]
pub struct Staged {
    /// The tip read before staging (the compare-and-swap's expected value).
    pub parent: Option<Oid>,
    /// The new commit, or `None` when the tip already has this tree.
    pub commit: Option<Oid>,
}

/// The deploy side of one environment: a repository and a branch.
pub struct Deploy {
    repo: Repository,
    env: String,
    branch: String,
    /// The name as asked, when `refs/heads/` was dropped from it.
    stripped_from: Option<String>,
}

/// A result whose error is one boxed diagnostic (publish errors are rare and reported once).
pub(crate) type Outcome<T> = Result<T, Box<Diagnostic>>;

/// A libgit2 error as a `gcc::publish::git` diagnostic.
pub(crate) fn git_err(e: git2::Error) -> Box<Diagnostic> {
    Box::new(Diagnostic::error(GIT, format!("git: {}", e.message())))
}

impl Deploy {
    /// The deploy branch `branch` of environment `env` in the repository containing `path`.
    pub fn open(path: &Path, env: &str, branch: &str) -> Outcome<Self> {
        let repo = open_repo(path)?;
        Self::new(repo, env, branch)
    }

    /// The deploy branch `branch` of environment `env` in `repo`; `branch` is checked
    /// with [`branch_name`] (a `refs/heads/` prefix is dropped).
    pub fn new(repo: Repository, env: &str, branch: &str) -> Outcome<Self> {
        let (name, stripped) = branch_name(branch)?;
        Ok(Self {
            repo,
            env: env.to_string(),
            stripped_from: stripped.then(|| branch.to_string()),
            branch: name,
        })
    }

    /// Refuses to publish onto a branch that is not this environment's deploy branch:
    /// the branch HEAD is on, a branch whose tip is not a gcc build, or one whose tip is
    /// another environment's build. A branch that does not exist yet is fine.
    pub(crate) fn check_owned(&self) -> Outcome<()> {
        let refuse = |why: String, help: &str| {
            Err(Box::new(
                Diagnostic::error(
                    FOREIGN_BRANCH,
                    format!(
                        "refusing to publish {} onto {}: {why}",
                        self.env, self.branch
                    ),
                )
                .help(format!("nothing was published; {help}")),
            ))
        };
        let head = self.repo.find_reference("HEAD").ok();
        if head
            .as_ref()
            .and_then(|h| h.symbolic_target().ok().flatten())
            == Some(self.refname().as_str())
        {
            return refuse(
                "it is the branch checked out in the repository (HEAD)".into(),
                "a deploy branch holds manifests only; name another with publish.branch or --branch",
            );
        }
        let Some(tip) = self.tip()? else {
            return Ok(());
        };
        let commit = self.repo.find_commit(tip).map_err(git_err)?;
        match read_build(&commit) {
            None => refuse(
                format!(
                    "its tip {} is not a gcc build (no Build-Id trailer)",
                    short(&tip.to_string())
                ),
                "a deploy branch holds gcc builds only; name another with publish.branch or --branch",
            ),
            Some(b) if !b.environment.is_empty() && b.environment != self.env => refuse(
                format!(
                    "it is the deploy branch of environment `{}` (its tip's Environment trailer)",
                    b.environment
                ),
                "give each environment its own branch: set publish.branch, or remove a copied one",
            ),
            Some(_) => Ok(()),
        }
    }

    /// The repository.
    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    /// The branch name (`gcc/prod`).
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The branch name as it was asked for, when a `refs/heads/` prefix was dropped.
    pub(crate) fn stripped_from(&self) -> Option<&str> {
        self.stripped_from.as_deref()
    }

    fn refname(&self) -> String {
        format!("refs/heads/{}", self.branch)
    }

    fn pin_prefix(&self) -> String {
        format!("refs/tags/gcc/{}/", self.env)
    }

    /// The branch tip, `None` before the first publish.
    pub fn tip(&self) -> Outcome<Option<Oid>> {
        match self.repo.find_reference(&self.refname()) {
            Ok(r) => r.peel_to_commit().map(|c| Some(c.id())).map_err(git_err),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(git_err(e)),
        }
    }

    /// Writes a commit of `tree` on top of the current tip (not yet on the branch).
    /// When the tip already has this tree, nothing is written.
    pub fn stage(&self, tree: Oid, message: &str) -> Outcome<Staged> {
        self.check_owned()?;
        let parent = self.tip()?;
        let parent_commit = match parent {
            Some(p) => Some(self.repo.find_commit(p).map_err(git_err)?),
            None => None,
        };
        if parent_commit.as_ref().is_some_and(|c| c.tree_id() == tree) {
            return Ok(Staged {
                parent,
                commit: None,
            });
        }
        let sig = signature(&self.repo)?;
        let tree = self.repo.find_tree(tree).map_err(git_err)?;
        let parents: Vec<&git2::Commit<'_>> = parent_commit.iter().collect();
        let commit = self
            .repo
            .commit(None, &sig, &sig, message, &tree, &parents)
            .map_err(git_err)?;
        Ok(Staged {
            parent,
            commit: Some(commit),
        })
    }

    /// Moves the branch to the staged commit if, and only if, it still points where it
    /// pointed when the commit was staged.
    pub fn land(&self, staged: &Staged) -> Outcome<Published> {
        let Some(commit) = staged.commit else {
            let tip = staged.parent.map(|p| p.to_string()).unwrap_or_default();
            return Ok(Published::UpToDate { commit: tip });
        };
        let log = format!("gcc: publish {}", self.env);
        let result = match staged.parent {
            Some(parent) => {
                self.repo
                    .reference_matching(&self.refname(), commit, true, parent, &log)
            }
            None => self.repo.reference(&self.refname(), commit, false, &log),
        };
        match result {
            Ok(_) => Ok(Published::Committed {
                commit: commit.to_string(),
                parent: staged.parent.map(|p| p.to_string()),
            }),
            Err(e) => Err(self.conflict(e, staged.parent)),
        }
    }

    fn conflict(&self, e: git2::Error, expected: Option<Oid>) -> Box<Diagnostic> {
        let now = self.tip().ok().flatten();
        Box::new(match e.code() {
            ErrorCode::Locked => Diagnostic::error(
                CONFLICT,
                format!(
                    "the deploy branch {} is locked by another writer; nothing was published",
                    self.branch
                ),
            )
            .help(format!(
                "run the build again; if no other gcc or git is running, remove {}/{}.lock",
                self.repo.path().display(),
                self.refname()
            )),
            ErrorCode::Modified | ErrorCode::Exists => Diagnostic::error(
                CONFLICT,
                format!(
                    "the deploy branch {} moved while publishing (read {}, now {}); nothing was published",
                    self.branch,
                    expected.map_or("nothing".into(), |o| short(&o.to_string()).to_string()),
                    now.map_or("nothing".into(), |o| short(&o.to_string()).to_string()),
                ),
            )
            .help("another publisher won the race; build again to publish on top of the new tip"),
            _ => *git_err(e),
        })
    }

    /// Stages and lands the tree in one step.
    pub fn publish(&self, tree: Oid, message: &str) -> Outcome<Published> {
        let staged = self.stage(tree, message)?;
        self.land(&staged)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::publish::trailers::Trailers;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_795_442_709), "2026-11-23 14:05:09 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn messages_round_trip_through_trailers() {
        let prov = Provenance {
            source_commit: Some("abc123".into()),
            source_path: "sites/a".into(),
            dirty: true,
        };
        let m = build_message("prod", "ff00ee11dd22cc33", "0.1.0", &prov);
        assert!(m.starts_with("gcc: build prod ff00ee11dd22\n\n"), "{m}");
        let t = trailers(&m);
        assert_eq!(t["Build-Id"], "ff00ee11dd22cc33");
        assert_eq!(t["Environment"], "prod");
        assert_eq!(t["Source-Commit"], "abc123");
        assert_eq!(t["Source-Path"], "sites/a");
        assert_eq!(t["Source-Dirty"], "true");
        assert_eq!(t["Gcc-Version"], "0.1.0");
        let clean = build_message("prod", "ff", "0.1.0", &Provenance::default());
        assert!(!clean.contains("Source-Dirty") && clean.contains("Source-Commit: none"));
        // One type formats and parses them: what is written reads back whole.
        let parsed = Trailers::parse(&m).unwrap();
        assert_eq!(parsed.source_commit.as_deref(), Some("abc123"));
        assert!(parsed.source_dirty);
        assert_eq!(Trailers::parse(&clean).unwrap().source_commit, None);
        let mut rollback = parsed.clone();
        rollback.rollback_to = Some("c0ffee".into());
        let text = format!("gcc: rollback prod\n\n{}", rollback.format());
        assert!(
            text.contains("\n\nRollback-To: c0ffee\nBuild-Id: "),
            "{text}"
        );
        assert_eq!(Trailers::parse(&text).unwrap(), rollback);
        assert_eq!(Trailers::parse("a plain commit\n"), None);
    }

    #[test]
    fn tree_round_trips_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let files: BTreeMap<String, Vec<u8>> = [
            ("kustomization.yaml", "k"),
            ("cluster/namespace-a.yaml", "a"),
            ("openstack/helmrelease-nova.yaml", "n"),
            ("openstack/sub/x.yaml", "x"),
        ]
        .into_iter()
        .map(|(p, b)| (p.to_string(), b.as_bytes().to_vec()))
        .collect();
        let tree = write_files(&repo, &files).unwrap();
        let deploy = Deploy::new(repo, "prod", "gcc/prod").unwrap();
        let Published::Committed { commit, parent } =
            deploy.publish(tree, "m\n\nBuild-Id: 1\n").unwrap()
        else {
            panic!("expected a commit");
        };
        assert_eq!(parent, None);
        let oid = Oid::from_str(&commit).unwrap();
        assert_eq!(commit_files(deploy.repo(), oid).unwrap(), files);
        assert_eq!(
            deploy.publish(tree, "again").unwrap(),
            Published::UpToDate { commit }
        );
    }

    #[test]
    fn stale_stage_loses_the_race() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let one = write_files(&repo, &BTreeMap::from([("a".to_string(), b"1".to_vec())])).unwrap();
        let two = write_files(&repo, &BTreeMap::from([("a".to_string(), b"2".to_vec())])).unwrap();
        let three =
            write_files(&repo, &BTreeMap::from([("a".to_string(), b"3".to_vec())])).unwrap();
        let deploy = Deploy::new(repo, "prod", "gcc/prod").unwrap();
        deploy.publish(one, "one\n\nBuild-Id: 1\n").unwrap();
        // Two publishers read the same tip, then both try to land.
        let a = deploy.stage(two, "two\n\nBuild-Id: 2\n").unwrap();
        let b = deploy.stage(three, "three\n\nBuild-Id: 3\n").unwrap();
        assert!(matches!(
            deploy.land(&a).unwrap(),
            Published::Committed { .. }
        ));
        let lost = deploy.land(&b).unwrap_err();
        assert_eq!(lost.code, CONFLICT);
        assert!(
            lost.message.contains("moved while publishing"),
            "{}",
            lost.message
        );
        assert_eq!(deploy.tip().unwrap(), a.commit);
        // The same race on a branch that does not exist yet.
        let fresh =
            Deploy::new(Repository::open(dir.path()).unwrap(), "prod", "gcc/other").unwrap();
        let a = fresh.stage(two, "two").unwrap();
        let b = fresh.stage(three, "three").unwrap();
        fresh.land(&a).unwrap();
        assert_eq!(fresh.land(&b).unwrap_err().code, CONFLICT);
    }

    #[test]
    fn bad_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        assert_eq!(
            Deploy::new(repo, "prod", "bad..name").err().unwrap().code,
            BAD_NAME
        );
    }

    #[test]
    fn branch_names_follow_gits_rules_for_branches() {
        assert_eq!(branch_name("gcc/prod").unwrap(), ("gcc/prod".into(), false));
        assert_eq!(
            branch_name("refs/heads/gcc/prod").unwrap(),
            ("gcc/prod".into(), true)
        );
        for bad in [
            "HEAD",
            "-x",
            "",
            "refs/heads/",
            "a..b",
            "a b",
            "x.lock",
            "a/",
            "@{u}",
        ] {
            assert_eq!(branch_name(bad).unwrap_err().code, BAD_NAME, "{bad:?}");
        }
    }
}
