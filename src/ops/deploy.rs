//! The verbs that read or write an environment's deploy branch once it exists: `pin`,
//! `pins`, `rollback`, `verify` (and its `--rebuild`), and the sides of `diff`.
//!
//! Each opens the repository, does its git work and returns what it found; none prints.
//! The CLI renders the reports (text or JSON) and picks the exit code from [`Failure`].

use std::collections::BTreeMap;
use std::path::Path;

use git2::Oid;

use crate::compile::{Compiled, compile};
use crate::diag::{self, Diagnostic};
use crate::diff;
use crate::load::{Fatal, load};
use crate::ops::build::open_deploy;
use crate::origin::SourceRepo;
use crate::publish::{
    self, Build, Deploy, Entry, OtherCommit, Outcome, Pin, Published, commit_files,
    rollback_message, short,
};
use crate::source::{Source, WorkDir};
use crate::verify::{MISMATCH, TreeDiff, Verification, compare, verify_files};

/// Where an environment's deploy branch is: `--repo` and `--branch`, else the
/// repository of the inputs and the environment's `publish.branch`, else `gcc/<env>`.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    /// The source root (`-C`): the inputs, and the default repository.
    pub root: &'a Path,
    /// The environment.
    pub env: &'a str,
    /// The repository holding the deploy branch.
    pub repo: Option<&'a Path>,
    /// The deploy branch.
    pub branch: Option<&'a str>,
}

/// The deploy branch a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// Its name, as git has it.
    pub name: String,
    /// The name it was asked by, when `refs/heads/` was dropped from it.
    pub stripped_from: Option<String>,
}

/// Why an op did nothing.
#[derive(Debug)]
pub enum Failure {
    /// A git error, a name that resolves to nothing, a branch gcc does not own: the
    /// request could not be carried out (exit 2).
    Refused(Box<Diagnostic>),
    /// What the branch holds is not what its lock or its commit says (exit 1), with the
    /// verification that shows where, when there is one.
    Unverified(Box<Diagnostic>, Option<Box<Verification>>),
}

impl From<Box<Diagnostic>> for Failure {
    fn from(d: Box<Diagnostic>) -> Self {
        Failure::Refused(d)
    }
}

fn open(at: &At<'_>) -> Outcome<(Deploy, Branch)> {
    let loaded = load(&WorkDir::new(at.root), at.env).ok();
    let deploy = open_deploy(at.root, at.env, loaded.as_ref(), at.repo, at.branch)?;
    let b = Branch {
        name: deploy.branch().to_string(),
        stripped_from: deploy.stripped_from().map(str::to_string),
    };
    Ok((deploy, b))
}

/// Which build `pin` pins.
#[derive(Debug, Clone, Copy)]
pub enum PinTarget<'a> {
    /// The branch tip.
    Tip,
    /// A build id (7+ hex digits).
    Build(&'a str),
    /// A git revision of the deploy commit.
    Rev(&'a str),
}

/// `gcc pin`: an annotated tag `gcc/<env>/<name>` on a published build.
pub fn pin(at: &At<'_>, name: &str, target: PinTarget<'_>, force: bool) -> Outcome<(Pin, Branch)> {
    let (deploy, branch) = open(at)?;
    let commit = match target {
        PinTarget::Build(id) => deploy.resolve_build_id(id)?,
        PinTarget::Rev(rev) => deploy.resolve_rev(rev)?,
        PinTarget::Tip => deploy.require_tip()?,
    };
    Ok((deploy.pin(name, commit, force)?, branch))
}

/// `gcc pins`: the pins and the newest commits of the branch.
#[derive(Debug, Clone)]
pub struct Pins {
    /// The branch.
    pub branch: Branch,
    /// Its pins, by name.
    pub pins: Vec<Pin>,
    /// Its newest commits, first parents only: builds, and commits gcc did not make.
    pub log: Vec<Entry>,
    /// `gcc::publish::other_tip` when the tip is a commit gcc did not make.
    pub warnings: Vec<Diagnostic>,
}

impl Pins {
    /// The builds of the log, newest first.
    pub fn builds(&self) -> Vec<&Build> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Entry::Build(b) => Some(b),
                Entry::Other(_) => None,
            })
            .collect()
    }

    /// The commits of the log gcc did not make, newest first.
    pub fn others(&self) -> Vec<&OtherCommit> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Entry::Other(o) => Some(o),
                Entry::Build(_) => None,
            })
            .collect()
    }
}

/// `gcc pins`, with the `limit` newest builds (and at most as many other commits).
pub fn pins(at: &At<'_>, limit: usize) -> Outcome<Pins> {
    let (deploy, branch) = open(at)?;
    let log = deploy.log(limit)?;
    // What Flux or Argo CD deploy is then no build of gcc's, and `gcc build --commit`
    // refuses to publish on top of it: say so above everything else.
    let warnings = match log.first() {
        Some(Entry::Other(o)) => vec![
            Diagnostic::warning(
                publish::OTHER_TIP,
                format!(
                    "the tip of {}, {} \"{}\" by {}, was not made by gcc; Flux or Argo CD deploy it",
                    branch.name,
                    short(&o.commit),
                    o.summary,
                    o.author
                ),
            )
            .help(format!(
                "gcc publishes nothing on top of it; move the branch back to a build \
                 (`git branch -f {} <commit>`, a commit listed below) or remove the commit",
                branch.name
            )),
        ],
        _ => Vec::new(),
    };
    Ok(Pins {
        pins: deploy.pins()?,
        log,
        warnings,
        branch,
    })
}

/// A rollback: the build restored, verified, and its publish.
#[derive(Debug, Clone)]
pub struct RolledBack {
    /// The branch.
    pub branch: Branch,
    /// The build restored.
    pub to: Build,
    /// How many files it has (its lock included), every one verified.
    pub files: usize,
    /// The new commit, or the tip that already has those bytes.
    pub published: Published,
}

/// `gcc rollback --to <to>`: re-publishes an earlier build's exact tree, after checking
/// it against its own lock (a tree that does not match is refused, never published).
pub fn rollback(at: &At<'_>, to: &str) -> Result<RolledBack, Failure> {
    let (deploy, branch) = open(at)?;
    let commit = deploy.resolve(to)?;
    let build = deploy.build(commit)?;
    let files = commit_files(deploy.repo(), commit)?;
    let v = verify_files(&files, Some(&build.build_id));
    if !v.ok() {
        let d = Diagnostic::error(
            MISMATCH,
            format!(
                "refusing to roll back to commit {}: it does not match its lock file",
                short(&build.commit)
            ),
        )
        .help(format!(
            "`gcc verify {} --ref {}` shows every difference",
            at.env,
            short(&build.commit)
        ));
        return Err(Failure::Unverified(Box::new(d), Some(Box::new(v))));
    }
    let tree = deploy
        .repo()
        .find_commit(commit)
        .map(|c| c.tree_id())
        .map_err(publish::git_err)?;
    let published = deploy.publish(tree, &rollback_message(at.env, &build, to))?;
    Ok(RolledBack {
        branch,
        to: build,
        files: files.len(),
        published,
    })
}

/// `gcc verify`: a deploy commit checked against its lock (and rebuilt).
#[derive(Debug, Clone)]
pub struct Verified {
    /// The branch.
    pub branch: Branch,
    /// The deploy commit.
    pub commit: String,
    /// How many files it has.
    pub files: usize,
    /// The hashes and build id recomputed.
    pub verification: Verification,
    /// With `--rebuild`: the inputs at the recorded source, compiled and compared.
    pub rebuild: Option<Rebuild>,
}

impl Verified {
    /// True when the lock holds and, if asked, the rebuild is identical.
    pub fn ok(&self) -> bool {
        self.verification.ok() && self.rebuild.as_ref().is_none_or(Rebuild::ok)
    }
}

/// The outcome of `verify --rebuild`.
#[derive(Debug, Clone)]
pub enum Rebuild {
    /// No rebuild was possible, and why (no recorded source, dirty inputs, a source
    /// commit the repository lacks, inputs that no longer compile).
    Impossible(String),
    /// Rebuilt: what differs from the published tree (nothing, when it is reproducible).
    Rebuilt {
        /// The source commit compiled.
        source: String,
        /// The rebuild's build id.
        build_id: String,
        /// The gcc version that published the commit (`unknown` when unrecorded).
        published_by: String,
        /// The build fingerprint in the published lock (empty when unrecorded): another
        /// build of the same version writes another lock.
        published_build: String,
        /// Files that differ, are missing or are extra.
        files: TreeDiff,
    },
}

impl Rebuild {
    /// True when the rebuild is byte-identical.
    pub fn ok(&self) -> bool {
        matches!(self, Rebuild::Rebuilt { files, .. } if files.is_empty())
    }
}

/// `gcc verify [--ref REV] [--rebuild]`: the tip (or `rev`) against its lock. A branch
/// gcc does not own is [`Failure::Unverified`], as a mismatch is.
pub fn verify(at: &At<'_>, rev: Option<&str>, rebuild: bool) -> Result<Verified, Failure> {
    let (deploy, branch) = open(at)?;
    let commit = match rev {
        Some(r) => deploy.resolve(r)?,
        None => deploy.require_tip()?,
    };
    let files = commit_files(deploy.repo(), commit)?;
    let build = deploy.build(commit);
    if let Err(d) = &build
        && d.code == publish::FOREIGN_BRANCH
    {
        return Err(Failure::Unverified(d.clone(), None));
    }
    let build = build.ok();
    let verification = verify_files(&files, build.as_ref().map(|b| b.build_id.as_str()));
    let rebuild = rebuild.then(|| rebuild_and_compare(at, build.as_ref(), &files));
    Ok(Verified {
        branch,
        commit: commit.to_string(),
        files: files.len(),
        verification,
        rebuild,
    })
}

/// Compiles the inputs at the build's `Source-Commit` and compares with `files`.
fn rebuild_and_compare(
    at: &At<'_>,
    build: Option<&Build>,
    files: &BTreeMap<String, Vec<u8>>,
) -> Rebuild {
    let Some(build) = build else {
        return Rebuild::Impossible(
            "the commit has no Build-Id trailer, so no recorded source".into(),
        );
    };
    if build.source_dirty {
        return Rebuild::Impossible(
            "it was published from uncommitted inputs (Source-Dirty: true); its source is not in git"
                .into(),
        );
    }
    let Some(source) = &build.source_commit else {
        return Rebuild::Impossible("the commit records no Source-Commit".into());
    };
    let tree = SourceRepo::discover(at.root).and_then(|repo| {
        let oid = Oid::from_str(source).map_err(|e| {
            Diagnostic::error(publish::GIT, format!("bad Source-Commit `{source}`: {e}"))
        })?;
        repo.tree_at(oid, Some(&build.source_path)).map_err(|d| {
            Box::new(Diagnostic::error(
                publish::GIT,
                format!(
                    "the Source-Commit trailer of deploy commit {} names {source}, which the source \
                     repository does not have ({}); fetch it, or verify in a clone that has it",
                    short(&build.commit),
                    d.message.trim_start_matches("git: ")
                ),
            ))
        })
    });
    let tree = match tree {
        Ok(t) => t,
        Err(d) => return Rebuild::Impossible(d.message),
    };
    let compiled = match compile(&tree, at.env) {
        Ok(c) => c,
        Err(Fatal(d)) => return Rebuild::Impossible(d.message),
    };
    let Some(rebuilt) = compiled.build else {
        return Rebuild::Impossible(format!(
            "the inputs at {} do not compile ({} errors)",
            short(source),
            diag::error_count(&compiled.diagnostics)
        ));
    };
    Rebuild::Rebuilt {
        source: source.clone(),
        build_id: rebuilt.rendered.build_id.clone(),
        published_by: build
            .gcc_version
            .clone()
            .unwrap_or_else(|| "unknown".into()),
        published_build: files
            .get(crate::lock::LOCK_FILE)
            .and_then(|b| crate::lock::Lock::parse(b).ok())
            .map(|l| l.gcc_build)
            .unwrap_or_default(),
        files: compare(&rebuilt.rendered.files, files),
    }
}

/// One side of a diff, as read or built.
#[derive(Debug)]
pub(crate) struct DiffSide {
    /// The side.
    pub side: diff::Side,
    /// For a side compiled from inputs: the compile, for its warnings.
    pub compiled: Option<Box<Compiled>>,
    /// For a published side: its branch.
    pub branch: Option<Branch>,
}

/// Why a side of a diff could not be had.
#[derive(Debug)]
pub(crate) enum SideFailure {
    /// Inputs that did not load (a file gcc will not read, a missing environment).
    Fatal(Box<Diagnostic>),
    /// Inputs with errors; their diagnostics are in the compile.
    Invalid(Box<Compiled>),
    /// A git error or a name that resolves to nothing.
    Refused(Box<Diagnostic>),
}

impl From<Box<Diagnostic>> for SideFailure {
    fn from(d: Box<Diagnostic>) -> Self {
        SideFailure::Refused(d)
    }
}

fn compiled_side(source: &dyn Source, env: &str, label: String) -> Result<DiffSide, SideFailure> {
    let mut compiled = compile(source, env).map_err(|Fatal(d)| SideFailure::Fatal(d))?;
    match compiled.build.take() {
        Some(build) => Ok(DiffSide {
            side: diff::Side {
                label,
                files: build.rendered.files,
            },
            compiled: Some(Box::new(compiled)),
            branch: None,
        }),
        None => Err(SideFailure::Invalid(Box::new(compiled))),
    }
}

/// One side of `gcc diff`: `work` (the working directory, compiled), `src:<rev>` (the
/// inputs at a source revision, compiled from git objects) or a published build (a pin,
/// a build id or a revision of the deploy branch).
pub(crate) fn diff_side(at: &At<'_>, spec: &str) -> Result<DiffSide, SideFailure> {
    if spec == "work" {
        return compiled_side(&WorkDir::new(at.root), at.env, "work".into());
    }
    if let Some(rev) = spec.strip_prefix("src:") {
        let (tree, prov) = SourceRepo::discover(at.root).and_then(|repo| repo.at(rev))?;
        let label = format!(
            "src:{rev}@{}",
            short(prov.source_commit.as_deref().unwrap_or_default())
        );
        return compiled_side(&tree, at.env, label);
    }
    let (deploy, branch) = open(at)?;
    let commit = deploy.resolve(spec)?;
    Ok(DiffSide {
        side: diff::Side {
            label: format!("{spec}@{}", short(&commit.to_string())),
            files: commit_files(deploy.repo(), commit)?,
        },
        compiled: None,
        branch: Some(branch),
    })
}

/// One environment of `gcc diff --all`: both sides, or why one could not be had.
#[derive(Debug)]
pub(crate) struct EnvSides {
    /// The environment.
    pub env: String,
    /// Its two sides.
    pub sides: Result<(DiffSide, DiffSide), SideFailure>,
}

/// The environments a side of `gcc diff` holds: those of the inputs at a `src:` revision,
/// else those of the working directory (a published side is per environment).
fn side_environments(root: &Path, spec: Option<&str>) -> Outcome<Vec<String>> {
    let listed = match spec.and_then(|s| s.strip_prefix("src:")) {
        Some(rev) => {
            let (tree, _) = SourceRepo::discover(root).and_then(|repo| repo.at(rev))?;
            crate::ops::fleet::environments(&tree)
        }
        None => crate::ops::fleet::environments(&WorkDir::new(root)),
    };
    listed.map_err(|e| {
        Box::new(Diagnostic::error(
            crate::load::IO,
            format!("cannot list the environments: {e}"),
        ))
    })
}

/// `gcc diff --all`: every environment either side holds, in name order, each side as
/// `gcc diff <env>` takes it. An environment one side lacks (new, or removed), or never
/// published when the old side is the deploy branch tip, is an empty side there, so its
/// diff shows everything it adds or removes.
pub(crate) fn diff_all(
    root: &Path,
    repo: Option<&Path>,
    from: Option<&str>,
    to: &str,
) -> Outcome<Vec<EnvSides>> {
    let from_envs = side_environments(root, from)?;
    let to_envs = side_environments(root, Some(to))?;
    let all: std::collections::BTreeSet<&String> = from_envs.iter().chain(&to_envs).collect();
    let empty = |label: String| DiffSide {
        side: diff::Side {
            label,
            files: BTreeMap::new(),
        },
        compiled: None,
        branch: None,
    };
    Ok(all
        .into_iter()
        .map(|env| {
            let at = At {
                root,
                env,
                repo,
                branch: None,
            };
            let side = |spec: Option<&str>, listed: &[String]| {
                let label = spec.unwrap_or("tip");
                if !listed.contains(env) {
                    return Ok(empty(format!("{label} (no environment {env})")));
                }
                match spec {
                    Some(spec) => diff_side(&at, spec),
                    None => {
                        let (deploy, branch) = open(&at)?;
                        match deploy.tip()? {
                            Some(_) => diff_tip(&at),
                            None => Ok(empty(format!("{} (not published)", branch.name))),
                        }
                    }
                }
            };
            let sides = side(from, &from_envs).and_then(|f| Ok((f, side(Some(to), &to_envs)?)));
            EnvSides {
                env: env.clone(),
                sides,
            }
        })
        .collect())
}

/// The default old side of `gcc diff`: the deploy branch tip.
pub(crate) fn diff_tip(at: &At<'_>) -> Result<DiffSide, SideFailure> {
    let (deploy, branch) = open(at)?;
    let tip = deploy.require_tip().map_err(|mut d| {
        d.help = Some(format!(
            "publish first (gcc build {} --commit) or name a side: --from src:HEAD",
            at.env
        ));
        d
    })?;
    Ok(DiffSide {
        side: diff::Side {
            label: format!("{}@{}", branch.name, short(&tip.to_string())),
            files: commit_files(deploy.repo(), tip)?,
        },
        compiled: None,
        branch: Some(branch),
    })
}
