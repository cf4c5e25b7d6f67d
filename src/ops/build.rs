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
use crate::load::{Fatal, Loaded};
use crate::ops::outdir::{Placement, write_tree};
use crate::origin::{SourceRepo, deploy_branch, dirty_help};
use crate::publish::{
    DIRTY, Deploy, Outcome, Provenance, Published, build_message, short, write_files,
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
}

/// Why a build wrote nothing.
#[derive(Debug)]
pub enum BuildFailure {
    /// The inputs have errors; their diagnostics are in `Compiled`.
    Invalid(Box<Compiled>),
    /// Refused or failed before or while writing (exit 2).
    Refused(Box<Diagnostic>),
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
}

/// A publish: the branch, what happened, and what the commit records.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedTo {
    /// The deploy branch, as git names it.
    pub branch: String,
    /// Committed, or already up to date.
    pub outcome: Published,
    /// The source the commit records.
    pub provenance: Provenance,
}

/// The provenance of `env`'s inputs (`inputs`: their digests, read from the working
/// directory at `root`), refused when they are dirty and `allow_dirty` is off. The one
/// gate of `build --commit` and `build --all --commit`.
pub fn provenance_gate(
    root: &Path,
    env: &str,
    inputs: &BTreeMap<String, String>,
    allow_dirty: bool,
) -> Outcome<Provenance> {
    let prov = match SourceRepo::discover(root) {
        Ok(repo) => repo.provenance(env, inputs),
        Err(_) if allow_dirty => Provenance {
            dirty: true,
            ..Provenance::default()
        },
        Err(d) => return Err(d),
    };
    if prov.dirty && !allow_dirty {
        let what = match &prov.source_commit {
            Some(c) => format!("differ from the source commit {}", short(c)),
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
pub fn deploy_target(
    root: &Path,
    env: &str,
    loaded: Option<&Loaded>,
    to: &PublishTo,
) -> Outcome<Deploy> {
    let branch = deploy_branch(to.branch.as_deref(), loaded, env);
    let repo = to.repo.clone().unwrap_or_else(|| root.to_path_buf());
    let deploy = Deploy::open(&repo, env, &branch)?;
    deploy.check_owned()?;
    Ok(deploy)
}

/// Commits `files` (a whole output tree) to `deploy`'s branch as build `build_id` of
/// `env`, recording `prov`.
pub fn publish_tree(
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
    write_tree(&out, &build.rendered.files).map_err(|e| refused(Box::new(e.diagnostic(&out))))?;
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
    })
}
