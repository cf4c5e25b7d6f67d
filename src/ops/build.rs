//! `gcc build <env>` (with `--source-ref`, `--commit`) as one library call, and the two
//! steps it shares with the fleet: the dirty gate and the publish of a tree.
//!
//! Everything here may touch the disk or git; nothing prints. The CLI renders what
//! comes back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::compile::{Build, Compiled, compile, input_digests};
use crate::diag::Diagnostic;
use crate::load::{Fatal, Loaded, load};
use crate::ops::outdir::{Placement, Written, write_tree};
use crate::origin::{SourceRepo, deploy_branch, dirty_help};
use crate::publish::{
    DIRTY, Deploy, FOREIGN_BRANCH, Outcome, Provenance, Published, branch_name, build_message,
    short, write_files,
};
use crate::render::GCC_VERSION;
use crate::source::{Source, WorkDir};

/// Where and how to publish a build (`--commit` and its options).
#[derive(Debug, Clone, Default)]
pub struct PublishTo {
    /// Publish inputs with uncommitted changes (`Source-Dirty: true`).
    pub allow_dirty: bool,
    /// The repository holding the deploy branch (default: the inputs').
    pub repo: Option<PathBuf>,
    /// The deploy branch (default: `publish.branch`, else `gcc/<env>`).
    pub branch: Option<String>,
}

/// One `gcc build <env>`.
#[derive(Debug, Clone, Copy)]
pub struct BuildRequest<'a> {
    /// The source root (`-C`).
    pub root: &'a Path,
    /// The environment.
    pub env: &'a str,
    /// The output directory (default: `out/<env>` under the root).
    pub out: Option<&'a Path>,
    /// Compile the inputs at this revision instead of the working directory.
    pub source_ref: Option<&'a str>,
    /// Also publish.
    pub publish: Option<&'a PublishTo>,
    /// Validate every object against these schemas before writing.
    pub validate: Option<&'a crate::validate::Store>,
}

/// Why a build wrote nothing.
#[derive(Debug)]
pub enum BuildFailure {
    /// The inputs have errors; their diagnostics are in `Compiled`.
    Invalid(Box<Compiled>),
    /// Refused or failed before or while writing (exit 2).
    Refused(Box<Diagnostic>),
    /// `--validate`: objects of the new tree that their schemas refuse, or a schema store
    /// that cannot be read (nothing written).
    Violations(Vec<Diagnostic>),
}

/// A build written (and published).
#[derive(Debug)]
pub struct Built {
    /// The inputs and their warnings.
    pub compiled: Compiled,
    /// The build.
    pub build: Build,
    /// Where it was written.
    pub out: PathBuf,
    /// What was published, with `--commit`.
    pub published: Option<PublishedTo>,
    /// Whether the output directory already held this tree (nothing was written).
    pub unchanged: bool,
    /// With `--validate`: how many objects were validated.
    pub validated: Option<usize>,
}

/// A publish: the branch, what happened, and what the commit records.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedTo {
    /// The deploy branch, as git names it.
    pub branch: String,
    /// The name it was asked by (`--branch` or `publish.branch`), when `refs/heads/` was
    /// dropped from it.
    pub stripped_from: Option<String>,
    /// Committed, or already up to date.
    pub outcome: Published,
    /// The source the commit records.
    pub provenance: Provenance,
}

/// The provenance of `env`'s inputs (`inputs`: their digests, read from the working
/// directory at `root`), refused when they are dirty and `allow_dirty` is off. The one
/// gate of `build --commit` and `build --all --commit`.
pub(crate) fn provenance_gate(
    root: &Path,
    env: &str,
    inputs: &BTreeMap<String, String>,
    allow_dirty: bool,
) -> Outcome<Provenance> {
    let source = SourceRepo::discover(root);
    gate(source.as_ref().map_err(|d| &**d), env, inputs, allow_dirty)
}

/// [`provenance_gate`] against a repository already discovered (or the reason there is
/// none).
fn gate(
    repo: Result<&SourceRepo, &Diagnostic>,
    env: &str,
    inputs: &BTreeMap<String, String>,
    allow_dirty: bool,
) -> Outcome<Provenance> {
    let prov = match repo {
        Ok(repo) => repo.provenance(env, inputs),
        Err(_) if allow_dirty => Provenance {
            dirty: true,
            ..Provenance::default()
        },
        Err(d) => return Err(Box::new(d.clone())),
    };
    if prov.dirty && !allow_dirty {
        let changed = repo
            .map(|r| r.changed_inputs(env, inputs))
            .unwrap_or_default();
        let named = if changed.is_empty() {
            String::new()
        } else {
            format!(" ({})", changed.join(", "))
        };
        let what = match &prov.source_commit {
            Some(c) => format!("differ from the source commit {}{named}", short(c)),
            None => "are not committed (the repository has no commit yet)".to_string(),
        };
        return Err(Box::new(
            Diagnostic::error(
                DIRTY,
                format!("the inputs of {env} {what}; refusing to publish"),
            )
            .help(dirty_help(&prov.source_path)),
        ));
    }
    Ok(prov)
}

/// The deploy branch of `env` (`branch`, else the environment's `publish.branch`, else
/// `gcc/<env>`) in `repo` (default: `root`'s repository), refused unless it is new or
/// holds this environment's builds.
pub(crate) fn deploy_target(
    root: &Path,
    env: &str,
    loaded: Option<&Loaded>,
    to: &PublishTo,
) -> Outcome<Deploy> {
    let deploy = open_deploy(root, env, loaded, to.repo.as_deref(), to.branch.as_deref())?;
    deploy.check_owned()?;
    Ok(deploy)
}

/// The deploy branch of `env`: `branch`, else the environment's `publish.branch`, else
/// `gcc/<env>`, in `repo`, else the repository of the inputs at `root`.
pub(crate) fn open_deploy(
    root: &Path,
    env: &str,
    loaded: Option<&Loaded>,
    repo: Option<&Path>,
    branch: Option<&str>,
) -> Outcome<Deploy> {
    let branch = deploy_branch(branch, loaded, env);
    let repo = repo.map_or_else(|| root.to_path_buf(), Path::to_path_buf);
    Deploy::open(&repo, env, &branch)
}

/// What `gcc build --all --commit` may publish, decided before anything is built.
pub(crate) struct FleetGate {
    /// The provenance each publishable environment's commit will record.
    pub provenance: BTreeMap<String, Provenance>,
    /// Environments refused (dirty inputs, a branch that is not theirs), with why.
    pub refused: Vec<(String, Diagnostic)>,
}

/// The fleet's publish gate: the source repository is discovered once; each environment
/// must have clean inputs (unless `allow_dirty`) and a deploy branch of its own. Two
/// environments sharing one deploy branch refuse the whole fleet: nothing is built.
pub(crate) fn fleet_gate(
    root: &Path,
    envs: &[String],
    allow_dirty: bool,
    repo: Option<&Path>,
) -> Outcome<FleetGate> {
    let source = SourceRepo::discover(root);
    if !allow_dirty && let Err(d) = &source {
        return Err(d.clone());
    }
    let to = PublishTo {
        allow_dirty,
        repo: repo.map(Path::to_path_buf),
        branch: None,
    };
    let mut out = FleetGate {
        provenance: BTreeMap::new(),
        refused: Vec::new(),
    };
    let mut branches: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for env in envs {
        let Ok(loaded) = load(&WorkDir::new(root), env) else {
            continue; // the build reports it
        };
        if let Ok((branch, _)) = branch_name(&deploy_branch(None, Some(&loaded), env)) {
            branches.entry(branch).or_default().push(env);
        }
        let checked = deploy_target(root, env, Some(&loaded), &to).and_then(|_| {
            let repo = source.as_ref().map_err(|d| &**d);
            gate(repo, env, &input_digests(&loaded), allow_dirty)
        });
        match checked {
            Ok(prov) => {
                out.provenance.insert(env.clone(), prov);
            }
            Err(d) => out.refused.push((env.clone(), *d)),
        }
    }
    if let Some((branch, envs)) = branches.iter().find(|(_, e)| e.len() > 1) {
        return Err(Box::new(
            Diagnostic::error(
                FOREIGN_BRANCH,
                format!(
                    "refusing to publish: environments {} share the deploy branch {branch}",
                    envs.join(" and ")
                ),
            )
            .help("nothing was built or published; give each environment its own publish.branch (the default is gcc/<env>)"),
        ));
    }
    Ok(out)
}

/// Commits `files` (a whole output tree) to `deploy`'s branch as build `build_id` of
/// `env`, recording `prov`.
pub(crate) fn publish_tree(
    deploy: &Deploy,
    env: &str,
    files: &BTreeMap<String, Vec<u8>>,
    build_id: &str,
    prov: &Provenance,
) -> Outcome<PublishedTo> {
    let tree = write_files(deploy.repo(), files)?;
    let outcome = deploy.publish(tree, &build_message(env, build_id, GCC_VERSION, prov))?;
    Ok(PublishedTo {
        branch: deploy.branch().to_string(),
        stripped_from: deploy.stripped_from().map(str::to_string),
        outcome,
        provenance: prov.clone(),
    })
}

/// Compiles, checks where it goes, writes, publishes: in that order, and nothing is
/// written unless every check before it passed.
pub fn build(req: &BuildRequest<'_>) -> Result<Built, BuildFailure> {
    let refused = |d: Box<Diagnostic>| BuildFailure::Refused(d);
    let root = req.root;
    // The tree to read, and what a publish of it records.
    let (source, at_rev): (Box<dyn Source>, Option<Provenance>) = match req.source_ref {
        Some(rev) => {
            let (tree, prov) = SourceRepo::discover(root)
                .and_then(|repo| repo.at(rev))
                .map_err(refused)?;
            (Box::new(tree), Some(prov))
        }
        None => (Box::new(WorkDir::new(root)), None),
    };
    let mut compiled = compile(source.as_ref(), req.env).map_err(|Fatal(d)| refused(d))?;
    let Some(build) = compiled.build.take() else {
        return Err(BuildFailure::Invalid(Box::new(compiled)));
    };
    let inputs = input_digests(&compiled.loaded);
    let validated = match req.validate {
        Some(store) => Some(
            crate::validate::gate(&build.rendered.files, store)
                .map_err(BuildFailure::Violations)?,
        ),
        None => None,
    };
    let target = match req.publish {
        Some(to) => {
            let prov = match at_rev {
                Some(prov) => prov,
                None => provenance_gate(root, req.env, &inputs, to.allow_dirty).map_err(refused)?,
            };
            let deploy =
                deploy_target(root, req.env, Some(&compiled.loaded), to).map_err(refused)?;
            Some((deploy, prov))
        }
        None => None,
    };
    let out = req
        .out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("out").join(req.env));
    let mut placement = Placement::for_root(root);
    if let Some(repo) = req.publish.and_then(|p| p.repo.as_ref()) {
        placement.repository(repo);
    }
    for rel in inputs.keys() {
        placement.input(root, rel);
    }
    placement.check(&[(req.env, &out)]).map_err(refused)?;
    let written = write_tree(&out, &build.rendered.files)
        .map_err(|e| refused(Box::new(e.diagnostic(&out))))?;
    let published = match &target {
        Some((deploy, prov)) => Some(
            publish_tree(
                deploy,
                req.env,
                &build.rendered.files,
                &build.rendered.build_id,
                prov,
            )
            .map_err(refused)?,
        ),
        None => None,
    };
    Ok(Built {
        compiled,
        build,
        out,
        published,
        unchanged: written == Written::Unchanged,
        validated,
    })
}
