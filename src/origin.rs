//! Where a build's inputs come from: the source repository, a revision in it, and the
//! provenance a publish records (source commit, directory, uncommitted changes).
//!
//! "Uncommitted changes" is decided on what the build actually reads: the input digests
//! of the working directory against those of the same environment at `HEAD`. An edit
//! to another environment, or to a file gcc does not read, does not make a build dirty;
//! an added, edited or deleted inventory file does.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use crate::compile::input_digests;
use crate::load::load;
use crate::publish::{self, Outcome, Provenance, git_err, open_repo, rev_commit};
use crate::source::GitRev;

/// The git repository holding the inputs, and where inside it they live.
pub(crate) struct SourceRepo {
    repo: Repository,
    prefix: String,
}

impl SourceRepo {
    /// The repository containing the input directory `root`.
    pub(crate) fn discover(root: &Path) -> Outcome<Self> {
        let repo = open_repo(root)?;
        let prefix = match repo.workdir() {
            Some(top) => relative(top, root).unwrap_or_default(),
            None => String::new(),
        };
        Ok(Self { repo, prefix })
    }

    /// The repository's git directory.
    pub(crate) fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The inputs at revision `rev` (a branch, tag, `HEAD~2`, a hash) and what a publish
    /// of them records.
    pub fn at(&self, rev: &str) -> Outcome<(GitRev, Provenance)> {
        let commit = rev_commit(&self.repo, rev)?;
        let tree = self.tree_at(commit, None)?;
        Ok((tree, provenance_at(commit, &self.prefix)))
    }

    /// The inputs at commit `commit`, below `prefix` (the current prefix when `None`).
    pub(crate) fn tree_at(&self, commit: Oid, prefix: Option<&str>) -> Outcome<GitRev> {
        let repo = Repository::open(self.repo.path()).map_err(git_err)?;
        GitRev::new(repo, commit, prefix.unwrap_or(&self.prefix)).map_err(git_err)
    }

    /// What a build of `env` from the working directory records about its inputs:
    /// `HEAD`, and whether the inputs it read (`work_digests`) differ from those at `HEAD`.
    pub(crate) fn provenance(
        &self,
        env: &str,
        work_digests: &std::collections::BTreeMap<String, String>,
    ) -> Provenance {
        let head = self
            .repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .map(|c| c.id());
        let clean = head.is_some_and(|h| {
            self.tree_at(h, None)
                .ok()
                .and_then(|tree| load(&tree, env).ok())
                .is_some_and(|at_head| &input_digests(&at_head) == work_digests)
        });
        Provenance {
            source_commit: head.map(|h| h.to_string()),
            source_path: self.prefix.clone(),
            dirty: !clean,
        }
    }
}

impl SourceRepo {
    /// The inputs of `env` whose content differs between the working directory
    /// (`work_digests`) and `HEAD`, by path: changed, added or removed.
    pub(crate) fn changed_inputs(
        &self,
        env: &str,
        work_digests: &std::collections::BTreeMap<String, String>,
    ) -> Vec<String> {
        let at_head = self
            .repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .and_then(|c| self.tree_at(c.id(), None).ok())
            .and_then(|tree| load(&tree, env).ok())
            .map(|l| input_digests(&l))
            .unwrap_or_default();
        let mut paths: Vec<String> = work_digests
            .keys()
            .chain(at_head.keys())
            .filter(|k| work_digests.get(*k) != at_head.get(*k))
            .cloned()
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }
}

/// The provenance of a build read straight from commit `commit`: never dirty.
fn provenance_at(commit: Oid, prefix: &str) -> Provenance {
    Provenance {
        source_commit: Some(commit.to_string()),
        source_path: prefix.to_string(),
        dirty: false,
    }
}

/// `root` relative to `top` as a `/`-separated path, when it lies below it.
fn relative(top: &Path, root: &Path) -> Option<String> {
    let top: PathBuf = top.canonicalize().ok()?;
    let root: PathBuf = root.canonicalize().ok()?;
    let rel = root.strip_prefix(&top).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// The help line for a refused dirty publish.
pub(crate) fn dirty_help(prefix: &str) -> String {
    let at = if prefix.is_empty() {
        String::new()
    } else {
        format!(" (under {prefix}/)")
    };
    format!(
        "commit the inputs{at} first, or pass --allow-dirty: the commit then says `{}: true`",
        publish::trailer::SOURCE_DIRTY
    )
}

/// The deploy branch: `explicit` (`--branch`), else the environment's `publish.branch`,
/// else `gcc/<env>`.
pub(crate) fn deploy_branch(
    explicit: Option<&str>,
    loaded: Option<&crate::load::Loaded>,
    env: &str,
) -> String {
    let configured = loaded
        .and_then(|l| l.env.as_ref())
        .and_then(|d| d.value.pointer("/publish/branch"))
        .and_then(|v| v.as_str());
    explicit
        .map(String::from)
        .unwrap_or_else(|| publish::default_branch(env, configured))
}
