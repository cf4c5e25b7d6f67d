//! Publish: builds as commits on a deploy branch, pins as annotated tags, rollbacks as
//! new commits, and the history read back from the commit trailers.
//!
//! Everything goes through libgit2 (no git CLI, no network). The only ref a publish
//! moves is the deploy branch, with a compare-and-swap against the tip it read: objects
//! (blobs, trees, the commit) are written first, the ref last, so a publisher that dies
//! half way leaves the branch at the old commit and a few unreferenced objects. The
//! source repository's work tree, index and HEAD are never touched.

use std::collections::BTreeMap;
use std::path::Path;

use git2::{ErrorCode, ObjectType, Oid, Repository, Signature, TreeWalkMode, TreeWalkResult};
use serde::Serialize;

use crate::diag::Diagnostic;

/// Code: the directory is not inside a git repository.
pub const NO_REPOSITORY: &str = "gcc::publish::no_repository";
/// Code: the inputs differ from the source commit and `--allow-dirty` was not given.
pub const DIRTY: &str = "gcc::publish::dirty";
/// Code: the deploy branch moved (or is locked) while publishing; nothing was written.
pub const CONFLICT: &str = "gcc::publish::conflict";
/// Code: a branch or pin name that git refuses.
pub const BAD_NAME: &str = "gcc::publish::bad_name";
/// Code: a pin, build id or commit that cannot be found.
pub const NOT_FOUND: &str = "gcc::publish::not_found";
/// Code: the pin exists and `--force` was not given.
pub const PIN_EXISTS: &str = "gcc::publish::pin_exists";
/// Code: a commit that is not a gcc build (no `Build-Id:` trailer).
pub const NOT_A_BUILD: &str = "gcc::publish::not_a_build";
/// Code: the deploy branch is not gcc's to publish on (checked out, not a deploy
/// branch, another environment's, or shared by two environments of a fleet).
pub const FOREIGN_BRANCH: &str = "gcc::publish::foreign_branch";
/// Code: a `--to` or `--ref` that names two different builds (a pin and a build id).
pub const AMBIGUOUS: &str = "gcc::publish::ambiguous";
/// Code: libgit2 failed (a corrupt repository, a permission problem).
pub const GIT: &str = "gcc::publish::git";

/// Name and e-mail used when git config has no `user.name` / `user.email`.
pub const FALLBACK_IDENTITY: (&str, &str) = ("gcc", "gcc@localhost");

/// Trailer keys written into every build commit.
pub mod trailer {
    /// The build id (sha256 over the tree's files, see `render::build_id`).
    pub const BUILD_ID: &str = "Build-Id";
    /// The environment name.
    pub const ENVIRONMENT: &str = "Environment";
    /// The source commit the inputs were read from (`none` outside a commit).
    pub const SOURCE_COMMIT: &str = "Source-Commit";
    /// The directory of the inputs inside the source repository, when not its top.
    pub const SOURCE_PATH: &str = "Source-Path";
    /// Present (`true`) when the inputs had uncommitted changes (`--allow-dirty`).
    pub const SOURCE_DIRTY: &str = "Source-Dirty";
    /// gcc's version.
    pub const GCC_VERSION: &str = "Gcc-Version";
    /// On a rollback commit: the commit whose tree it restores.
    pub const ROLLBACK_TO: &str = "Rollback-To";
}

/// Where the inputs of a build came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// The source commit, when the inputs were read from (or match) one.
    pub source_commit: Option<String>,
    /// The inputs' directory inside the source repository (`""` at the top).
    pub source_path: String,
    /// The inputs had uncommitted changes.
    pub dirty: bool,
}

/// The trailers of a gcc commit, one type: [`Trailers::format`] writes them (build and
/// rollback commits), [`Trailers::parse`] reads them back (history, pins, verify).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trailers {
    /// On a rollback: the commit whose tree it restores.
    pub rollback_to: Option<String>,
    /// The build id.
    pub build_id: String,
    /// The environment.
    pub environment: String,
    /// The source commit of the inputs (`none` when there is none).
    pub source_commit: Option<String>,
    /// The inputs' directory inside the source repository (`""` at its top).
    pub source_path: String,
    /// The inputs had uncommitted changes.
    pub source_dirty: bool,
    /// gcc's version (`unknown` when a rolled-back commit did not say).
    pub gcc_version: String,
}

impl Trailers {
    /// The trailer block, one `Key: value` line each, in a fixed order.
    pub fn format(&self) -> String {
        let mut m = String::new();
        let mut line = |k: &str, v: &str| m.push_str(&format!("{k}: {v}\n"));
        if let Some(to) = &self.rollback_to {
            line(trailer::ROLLBACK_TO, to);
        }
        line(trailer::BUILD_ID, &self.build_id);
        line(trailer::ENVIRONMENT, &self.environment);
        line(
            trailer::SOURCE_COMMIT,
            self.source_commit.as_deref().unwrap_or("none"),
        );
        if !self.source_path.is_empty() {
            line(trailer::SOURCE_PATH, &self.source_path);
        }
        if self.source_dirty {
            line(trailer::SOURCE_DIRTY, "true");
        }
        line(trailer::GCC_VERSION, &self.gcc_version);
        m
    }

    /// The trailers of a commit message; `None` when it has no `Build-Id` (not a gcc
    /// commit). The last value of a key wins.
    pub fn parse(message: &str) -> Option<Trailers> {
        let t = trailers(message);
        Some(Trailers {
            rollback_to: t.get(trailer::ROLLBACK_TO).cloned(),
            build_id: t.get(trailer::BUILD_ID)?.clone(),
            environment: t.get(trailer::ENVIRONMENT).cloned().unwrap_or_default(),
            source_commit: t
                .get(trailer::SOURCE_COMMIT)
                .filter(|s| s.as_str() != "none")
                .cloned(),
            source_path: t.get(trailer::SOURCE_PATH).cloned().unwrap_or_default(),
            source_dirty: t.get(trailer::SOURCE_DIRTY).is_some_and(|v| v == "true"),
            gcc_version: t.get(trailer::GCC_VERSION).cloned().unwrap_or_default(),
        })
    }
}

/// The message of a build commit: subject, then the trailers.
pub fn build_message(env: &str, build_id: &str, gcc_version: &str, prov: &Provenance) -> String {
    let t = Trailers {
        rollback_to: None,
        build_id: build_id.to_string(),
        environment: env.to_string(),
        source_commit: prov.source_commit.clone(),
        source_path: prov.source_path.clone(),
        source_dirty: prov.dirty,
        gcc_version: gcc_version.to_string(),
    };
    format!("gcc: build {env} {}\n\n{}", short(build_id), t.format())
}

/// The message of a rollback commit: the target's trailers plus `Rollback-To:`.
pub fn rollback_message(env: &str, to: &Build, asked: &str) -> String {
    let t = Trailers {
        rollback_to: Some(to.commit.clone()),
        build_id: to.build_id.clone(),
        environment: env.to_string(),
        source_commit: to.source_commit.clone(),
        source_path: to.source_path.clone(),
        source_dirty: to.source_dirty,
        gcc_version: to.gcc_version.clone().unwrap_or_else(|| "unknown".into()),
    };
    format!(
        "gcc: rollback {env} to {} ({asked})\n\n{}",
        short(&to.build_id),
        t.format()
    )
}

/// The first 12 characters of an id, as shown to people.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// The trailers of a commit message, by key (the last value wins).
pub fn trailers(message: &str) -> BTreeMap<String, String> {
    git2::message_trailers_strs(message)
        .map(|t| {
            t.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

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
pub type Outcome<T> = Result<T, Box<Diagnostic>>;

/// A libgit2 error as a `gcc::publish::git` diagnostic.
pub fn git_err(e: git2::Error) -> Box<Diagnostic> {
    Box::new(Diagnostic::error(GIT, format!("git: {}", e.message())))
}

/// The deploy branch of an environment: `publish.branch`, else `gcc/<env>`.
pub fn default_branch(env: &str, configured: Option<&str>) -> String {
    configured
        .map(String::from)
        .unwrap_or_else(|| format!("gcc/{env}"))
}

/// A deploy branch name as git's rules for branches accept it: `refs/heads/` is stripped
/// (the second value says so), `HEAD`, a leading `-` and anything `git check-ref-format
/// --branch` refuses are errors.
pub fn branch_name(raw: &str) -> Outcome<(String, bool)> {
    let (name, stripped) = match raw.strip_prefix("refs/heads/") {
        Some(rest) => (rest, true),
        None => (raw, false),
    };
    let valid = !name.is_empty()
        && name != "HEAD"
        && !name.starts_with('-')
        && git2::Reference::is_valid_name(&format!("refs/heads/{name}"));
    if valid {
        Ok((name.to_string(), stripped))
    } else {
        Err(Box::new(
            Diagnostic::error(BAD_NAME, format!("`{raw}` is not a valid git branch name"))
                .help("use letters, digits, `-`, `_`, `.` and `/`, not starting with `-`, e.g. `gcc/prod` (set it with publish.branch or --branch)"),
        ))
    }
}

/// Opens the repository containing `path` (searching upwards).
pub fn open_repo(path: &Path) -> Outcome<Repository> {
    Repository::discover(path).map_err(|e| {
        Box::new(
            Diagnostic::error(
                NO_REPOSITORY,
                format!(
                    "{} is not inside a git repository: {}",
                    path.display(),
                    e.message()
                ),
            )
            .help("run `git init` (and commit the inputs) first, or name one with --repo"),
        )
    })
}

/// The author and committer: `user.name` / `user.email` from git config, else
/// [`FALLBACK_IDENTITY`]. The time is now: the only time gcc ever records.
pub fn signature(repo: &Repository) -> Outcome<Signature<'static>> {
    repo.signature()
        .or_else(|_| Signature::now(FALLBACK_IDENTITY.0, FALLBACK_IDENTITY.1))
        .map_err(git_err)
}

/// Writes `files` (path → bytes, `/`-separated) as a tree; returns its id.
pub fn write_files(repo: &Repository, files: &BTreeMap<String, Vec<u8>>) -> Outcome<Oid> {
    let items: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    write_dir(repo, &items).map_err(git_err)
}

fn write_dir(repo: &Repository, items: &[(&str, &[u8])]) -> Result<Oid, git2::Error> {
    let mut builder = repo.treebuilder(None)?;
    let mut dirs: BTreeMap<&str, Vec<(&str, &[u8])>> = BTreeMap::new();
    for (path, bytes) in items {
        match path.split_once('/') {
            Some((dir, rest)) => dirs.entry(dir).or_default().push((rest, bytes)),
            None => {
                let blob = repo.blob(bytes)?;
                builder.insert(*path, blob, 0o100644)?;
            }
        }
    }
    for (dir, sub) in dirs {
        let tree = write_dir(repo, &sub)?;
        builder.insert(dir, tree, 0o040000)?;
    }
    builder.write()
}

/// Every file of a commit's tree: path → bytes. Symlinks and submodules are listed with
/// their blob (or an empty body), so a verification sees them as unexpected files.
pub fn commit_files(repo: &Repository, commit: Oid) -> Outcome<BTreeMap<String, Vec<u8>>> {
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(git_err)?;
    let mut out = BTreeMap::new();
    let mut failed = None;
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Tree) {
            return TreeWalkResult::Ok;
        }
        let path = format!("{dir}{}", entry.name().unwrap_or("\u{fffd}"));
        let bytes = match entry
            .to_object(repo)
            .map(|o| o.as_blob().map(|b| b.content().to_vec()))
        {
            Ok(b) => b.unwrap_or_default(),
            Err(e) => {
                failed = Some(e);
                return TreeWalkResult::Abort;
            }
        };
        out.insert(path, bytes);
        TreeWalkResult::Ok
    })
    .map_err(git_err)?;
    match failed {
        Some(e) => Err(git_err(e)),
        None => Ok(out),
    }
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
    pub fn check_owned(&self) -> Outcome<()> {
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
    pub fn stripped_from(&self) -> Option<&str> {
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

    /// The build recorded in `commit`, or `not_a_build`.
    pub fn build(&self, commit: Oid) -> Outcome<Build> {
        let c = self.repo.find_commit(commit).map_err(git_err)?;
        let short_id = short(&commit.to_string()).to_string();
        let build = read_build(&c).ok_or_else(|| {
            Box::new(Diagnostic::error(
                NOT_A_BUILD,
                format!(
                    "commit {short_id} is not a gcc build: its message has no `{}:` trailer",
                    trailer::BUILD_ID
                ),
            ))
        })?;
        if !build.environment.is_empty() && build.environment != self.env {
            return Err(Box::new(
                Diagnostic::error(
                    FOREIGN_BRANCH,
                    format!(
                        "commit {short_id} is a build of environment `{}`, not of {}",
                        build.environment, self.env
                    ),
                )
                .help("its Environment trailer says so; check publish.branch of both environments"),
            ));
        }
        Ok(build)
    }

    /// The builds on the branch, newest first, following first parents; at most `limit`.
    pub fn history(&self, limit: usize) -> Outcome<Vec<Build>> {
        let Some(tip) = self.tip()? else {
            return Ok(Vec::new());
        };
        let mut walk = self.repo.revwalk().map_err(git_err)?;
        walk.push(tip).map_err(git_err)?;
        walk.simplify_first_parent().map_err(git_err)?;
        let mut out = Vec::new();
        for oid in walk {
            if out.len() >= limit {
                break;
            }
            let c = self
                .repo
                .find_commit(oid.map_err(git_err)?)
                .map_err(git_err)?;
            if let Some(b) = read_build(&c) {
                out.push(b);
            }
        }
        Ok(out)
    }

    /// The pins of this environment, by name.
    pub fn pins(&self) -> Outcome<Vec<Pin>> {
        let prefix = self.pin_prefix();
        let refs = self
            .repo
            .references_glob(&format!("{prefix}*"))
            .map_err(git_err)?;
        let mut out = Vec::new();
        for r in refs {
            let r = r.map_err(git_err)?;
            let Some(name) = r.name().ok().and_then(|n| n.strip_prefix(&prefix)) else {
                continue;
            };
            let name = name.to_string();
            let commit = r.peel_to_commit().map_err(git_err)?;
            if let Some(build) = read_build(&commit) {
                out.push(Pin { name, build });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Pins `commit` (a build) as `gcc/<env>/<name>`; an existing pin needs `force`.
    pub fn pin(&self, name: &str, commit: Oid, force: bool) -> Outcome<Pin> {
        let tag = format!("gcc/{}/{name}", self.env);
        if name.contains('/')
            || name.starts_with('-')
            || !git2::Reference::is_valid_name(&format!("refs/tags/{tag}"))
        {
            return Err(Box::new(
                Diagnostic::error(BAD_NAME, format!("`{name}` is not a valid pin name")).help(
                    "use letters, digits, `-`, `_` and `.`, not starting with `-`, e.g. `good` or `2026-11-release`",
                ),
            ));
        }
        let build = self.build(commit)?;
        if !force
            && self
                .repo
                .find_reference(&format!("refs/tags/{tag}"))
                .is_ok()
        {
            return Err(Box::new(
                Diagnostic::error(PIN_EXISTS, format!("pin `{name}` already exists"))
                    .help("pass --force to move it"),
            ));
        }
        let object = self
            .repo
            .find_object(commit, Some(ObjectType::Commit))
            .map_err(git_err)?;
        let message = format!(
            "gcc: pin {name} of {env}\n\n{}: {}\n{}: {env}\n",
            trailer::BUILD_ID,
            build.build_id,
            trailer::ENVIRONMENT,
            env = self.env
        );
        let sig = signature(&self.repo)?;
        self.repo
            .tag(&tag, &object, &sig, &message, force)
            .map_err(git_err)?;
        Ok(Pin {
            name: name.to_string(),
            build,
        })
    }

    /// Resolves what a user names: a pin, then a build id (prefix, at least 7 hex digits)
    /// on the branch, then any git revision.
    /// A spec that is both a pin and a build id prefix of two different builds is
    /// ambiguous and refused, naming both.
    pub fn resolve(&self, spec: &str) -> Outcome<Oid> {
        let pin = format!("{}{spec}", self.pin_prefix());
        let pinned = match self.repo.find_reference(&pin) {
            Ok(r) if git2::Reference::is_valid_name(&pin) => {
                Some(r.peel_to_commit().map(|c| c.id()).map_err(git_err)?)
            }
            _ => None,
        };
        let by_id = self.find_build_id(spec)?;
        match (pinned, by_id) {
            (Some(p), Some(b)) if self.tree_of(p)? != self.tree_of(b)? => {
                let id = self.build(b)?.build_id;
                return Err(Box::new(
                    Diagnostic::error(
                        AMBIGUOUS,
                        format!(
                            "`{spec}` is ambiguous: the pin gcc/{}/{spec} (commit {}) and build {} (commit {})",
                            self.env,
                            short(&p.to_string()),
                            short(&id),
                            short(&b.to_string())
                        ),
                    )
                    .help("give more digits of the build id, or rename the pin (`gcc pin --force` moves one)"),
                ));
            }
            (Some(p), _) => return Ok(p),
            (None, Some(b)) => return Ok(b),
            (None, None) => {}
        }
        self.find_rev(spec).map_err(|_| {
            Box::new(
                Diagnostic::error(
                    NOT_FOUND,
                    format!(
                        "`{spec}` is neither a pin of {}, nor a build id on {}, nor a commit",
                        self.env, self.branch
                    ),
                )
                .help(format!(
                    "`gcc pins {}` lists the pins and recent builds",
                    self.env
                )),
            )
        })
    }

    /// The newest commit on the branch whose build id starts with `id` (7+ hex digits).
    pub fn resolve_build_id(&self, id: &str) -> Outcome<Oid> {
        self.find_build_id(id)?.ok_or_else(|| {
            Box::new(
                Diagnostic::error(
                    NOT_FOUND,
                    format!(
                        "no build on {} has a build id starting with `{id}`",
                        self.branch
                    ),
                )
                .help(format!(
                    "`gcc pins {}` lists the recent builds (at least 7 hex digits)",
                    self.env
                )),
            )
        })
    }

    /// The commit a git revision names.
    pub fn resolve_rev(&self, rev: &str) -> Outcome<Oid> {
        rev_commit(&self.repo, rev)
    }

    /// The branch tip, or `not_found` before the first publish.
    pub fn require_tip(&self) -> Outcome<Oid> {
        self.tip()?.ok_or_else(|| {
            Box::new(
                Diagnostic::error(
                    NOT_FOUND,
                    format!("the deploy branch {} does not exist yet", self.branch),
                )
                .help(format!(
                    "publish a build first: gcc build {} --commit",
                    self.env
                )),
            )
        })
    }

    fn tree_of(&self, commit: Oid) -> Outcome<Oid> {
        self.repo
            .find_commit(commit)
            .map(|c| c.tree_id())
            .map_err(git_err)
    }

    fn find_rev(&self, rev: &str) -> Result<Oid, git2::Error> {
        peel_rev(&self.repo, rev)
    }

    fn find_build_id(&self, spec: &str) -> Outcome<Option<Oid>> {
        if spec.len() < 7 || !spec.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let spec = spec.to_ascii_lowercase();
        let builds = self.history(usize::MAX)?;
        let ids: std::collections::BTreeSet<&str> = builds
            .iter()
            .filter(|b| b.build_id.starts_with(&spec))
            .map(|b| b.build_id.as_str())
            .collect();
        match ids.len() {
            0 => Ok(None),
            1 => {
                // Newest first: a rollback's commit wins over the original; same tree.
                let newest = builds.iter().find(|b| ids.contains(b.build_id.as_str()));
                newest
                    .map(|b| Oid::from_str(&b.commit).map_err(git_err))
                    .transpose()
            }
            _ => Err(Box::new(
                Diagnostic::error(
                    NOT_FOUND,
                    format!(
                        "build id prefix `{spec}` is ambiguous: {}",
                        ids.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                )
                .help("give more digits"),
            )),
        }
    }
}

fn peel_rev(repo: &Repository, rev: &str) -> Result<Oid, git2::Error> {
    repo.revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map(|c| c.id())
}

/// The commit a git revision names (a branch, tag, `HEAD~2`, a hash), or `not_found`.
pub fn rev_commit(repo: &Repository, rev: &str) -> Outcome<Oid> {
    peel_rev(repo, rev).map_err(|e| {
        Box::new(
            Diagnostic::error(
                NOT_FOUND,
                format!("`{rev}` does not name a commit: {}", e.message()),
            )
            .help("give a branch, a tag, a commit hash or an expression like HEAD~1"),
        )
    })
}

fn read_build(c: &git2::Commit<'_>) -> Option<Build> {
    let t = Trailers::parse(c.message().ok()?)?;
    Some(Build {
        commit: c.id().to_string(),
        build_id: t.build_id,
        environment: t.environment,
        time: c.time().seconds(),
        source_commit: t.source_commit,
        source_path: t.source_path,
        source_dirty: t.source_dirty,
        gcc_version: Some(t.gcc_version).filter(|v| !v.is_empty()),
        rollback_to: t.rollback_to,
    })
}

/// `2026-11-23 14:05:09 UTC` for seconds since the epoch (proleptic Gregorian calendar).
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
