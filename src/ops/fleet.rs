//! `gcc build --all`: every environment of a tree, in parallel, each one on its own, and
//! with `--commit` each published to its own deploy branch.
//!
//! [`prepare`] finds the environments and checks where their outputs go and, when
//! publishing, the gate (clean inputs, one branch each); [`run`] builds and publishes.
//! Nothing here prints: progress goes to a callback, the rest comes back as reports.
//!
//! One environment's failure never stops the others. An environment is skipped (unless
//! forced) when its output's `gcc.lock.json` records the same input digests and gcc
//! build (version and fingerprint) as now, and the tree still matches that lock byte for byte: an edited or
//! half-deleted output is rebuilt, never trusted.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::compile::{compile_loaded, input_digests};
use crate::diag::{self, Diagnostic, Files};
use crate::load::{Fatal, load};
use crate::ops::build::{fleet_gate, publish_tree};
use crate::ops::outdir::{NO_ENVIRONMENTS, Placement, read_tree, tidy, write_tree};
use crate::origin::deploy_branch;
use crate::publish::{Deploy, Outcome, Provenance, Published};
use crate::render::{GCC_BUILD, GCC_VERSION, LOCK_FILE};
use crate::source::{EntryKind, Source, WorkDir};
use crate::verify::verify_files;

/// The directory environments live in.
pub(crate) const ENVIRONMENTS_DIR: &str = "environments";

/// What happened to one environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Compiled and written.
    Built,
    /// Inputs and gcc build unchanged since the build in the output directory.
    Skipped,
    /// The inputs have errors; the output directory was not touched.
    Invalid,
    /// An input could not be read, or the output not written (exit code 2).
    Failed,
}

/// The outcome of one environment.
#[derive(Debug)]
pub struct EnvReport {
    /// Environment name.
    pub env: String,
    /// Its output directory.
    pub out: PathBuf,
    /// What happened.
    pub status: Status,
    /// The build id written or kept.
    pub build_id: Option<String>,
    /// Errors and warnings (empty for a skipped environment).
    pub diagnostics: Vec<Diagnostic>,
    /// The inputs the diagnostics point into (kept only when there are diagnostics).
    pub files: Files,
    /// sha256 of every input read (empty when the environment could not be loaded).
    pub inputs: BTreeMap<String, String>,
    /// Its deploy branch: `publish.branch`, else `gcc/<env>`.
    pub branch: String,
    /// With `--validate`: how many objects of its tree were validated, without violation.
    pub validated: Option<usize>,
}

/// How each environment of a fleet is built.
#[derive(Debug, Clone, Default)]
pub(crate) struct EnvOptions {
    /// Rebuild even when up to date.
    pub force: bool,
    /// Validate every tree, built or up to date, against these schemas; a violation
    /// makes the environment invalid and writes nothing.
    pub validate: Option<crate::validate::Store>,
}

impl EnvReport {
    /// A failed environment with `diagnostics`, before anything about it is known; the
    /// branch is the default one until its environment file is read.
    pub fn failed(env: &str, out: &Path, diagnostics: Vec<Diagnostic>) -> Self {
        EnvReport {
            env: env.to_string(),
            out: out.to_path_buf(),
            status: Status::Failed,
            build_id: None,
            diagnostics,
            files: Files::default(),
            inputs: BTreeMap::new(),
            branch: deploy_branch(None, None, env),
            validated: None,
        }
    }
}

/// The environments of a tree: `environments/*.yaml`, by name.
pub fn environments(source: &dyn Source) -> io::Result<Vec<String>> {
    let mut envs: Vec<String> = source
        .list(ENVIRONMENTS_DIR)?
        .into_iter()
        .filter(|(_, kind)| matches!(kind, EntryKind::File | EntryKind::Outside))
        .filter_map(|(name, _)| name.strip_suffix(".yaml").map(str::to_string))
        .filter(|name| !name.is_empty() && !name.starts_with('.'))
        .collect();
    envs.sort();
    Ok(envs)
}

/// Builds one environment of the tree at `root` into `out`, unless it is up to date
/// there and `opts.force` is off. `placement` says where outputs may not go; the
/// environment's own inputs are added to it before anything is written.
pub(crate) fn build_env(
    root: &Path,
    env: &str,
    out: &Path,
    opts: &EnvOptions,
    placement: &Placement,
) -> EnvReport {
    let mut report = EnvReport::failed(env, out, Vec::new());
    let loaded = match load(&WorkDir::new(root), env) {
        Ok(l) => l,
        Err(Fatal(d)) => {
            report.diagnostics.push(*d);
            return report;
        }
    };
    report.inputs = input_digests(&loaded);
    report.branch = deploy_branch(None, Some(&loaded), env);
    let mut placement = placement.clone();
    for rel in report.inputs.keys() {
        placement.input(root, rel);
    }
    if let Err(d) = placement.check(&[(env, out)]) {
        report.diagnostics.push(*d);
        return report;
    }
    if !opts.force
        && let Some((id, files)) = up_to_date(out, &report.inputs)
    {
        if let Err(e) = tidy(out) {
            report.diagnostics.push(e.diagnostic(out));
            return report;
        }
        report.status = Status::Skipped;
        report.build_id = Some(id);
        validate_into(&mut report, &files, opts);
        return report;
    }
    let mut compiled = compile_loaded(loaded);
    report.diagnostics = std::mem::take(&mut compiled.diagnostics);
    match compiled.build {
        None if crate::codes::refused(&report.diagnostics) => {}
        None => report.status = Status::Invalid,
        Some(build) => {
            report.status = Status::Built;
            if validate_into(&mut report, &build.rendered.files, opts) {
                match write_tree(out, &build.rendered.files) {
                    Ok(_) => report.build_id = Some(build.rendered.build_id),
                    Err(e) => {
                        report.status = Status::Failed;
                        report.diagnostics.push(e.diagnostic(out));
                    }
                }
            }
        }
    }
    if !report.diagnostics.is_empty() {
        report.files = compiled.loaded.files;
    }
    report
}

/// With `opts.validate`, validates `files` (the tree about to be written, or the one
/// kept) into `report`: the count, or the violations, which make the environment invalid
/// (a schema store that cannot be read makes it failed). Whether the tree may stand.
fn validate_into(
    report: &mut EnvReport,
    files: &BTreeMap<String, Vec<u8>>,
    opts: &EnvOptions,
) -> bool {
    let Some(store) = &opts.validate else {
        return true;
    };
    match crate::validate::gate(files, store) {
        Ok(n) => {
            report.validated = Some(n);
            true
        }
        Err(diags) => {
            report.status = if crate::codes::refused(&diags) {
                Status::Failed
            } else {
                Status::Invalid
            };
            report.build_id = None;
            report.diagnostics.extend(diags);
            false
        }
    }
}

/// Builds `envs` of the tree at `root` in parallel on the current rayon pool, each into
/// `out_for(env)`. `on_done` sees each report as it finishes (for progress); the
/// reports come back in the order of `envs`.
pub(crate) fn build_all(
    root: &Path,
    envs: &[String],
    out_for: impl Fn(&str) -> PathBuf + Sync,
    opts: &EnvOptions,
    placement: &Placement,
    on_done: impl Fn(&EnvReport) + Sync,
) -> Vec<EnvReport> {
    envs.par_iter()
        .map(|env| {
            let report = build_env(root, env, &out_for(env), opts, placement);
            on_done(&report);
            report
        })
        .collect()
}

/// The build id and files of the tree in `out` when its lock records exactly `inputs`
/// and this gcc build (version and fingerprint: another build of the same version may
/// write other bytes) and every file matches the lock; `None` when anything differs or
/// is missing.
pub(crate) fn up_to_date(
    out: &Path,
    inputs: &BTreeMap<String, String>,
) -> Option<(String, BTreeMap<String, Vec<u8>>)> {
    let lock = crate::lock::Lock::parse(&std::fs::read(out.join(LOCK_FILE)).ok()?).ok()?;
    if lock.gcc_version != GCC_VERSION || lock.gcc_build != GCC_BUILD || &lock.inputs != inputs {
        return None;
    }
    let files = read_tree(out).ok()?;
    let v = verify_files(&files, None);
    v.ok().then_some((v.computed_build_id, files))
}

/// Counts by status, for the closing line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Tally {
    /// Built and written.
    pub built: usize,
    /// Up to date, left alone.
    pub skipped: usize,
    /// Inputs with errors.
    pub invalid: usize,
    /// Unreadable or unwritable.
    pub failed: usize,
}

impl Tally {
    /// Counts `reports`.
    pub fn of(reports: &[EnvReport]) -> Self {
        let mut t = Self::default();
        for r in reports {
            match r.status {
                Status::Built => t.built += 1,
                Status::Skipped => t.skipped += 1,
                Status::Invalid => t.invalid += 1,
                Status::Failed => t.failed += 1,
            }
        }
        t
    }
}

/// One report as JSON: name, status, output, build id, diagnostics.
pub fn report_json(r: &EnvReport) -> serde_json::Value {
    serde_json::json!({
        "environment": r.env,
        "status": r.status,
        "out": r.out.display().to_string(),
        "build_id": r.build_id,
        "validated": r.validated,
        "diagnostics": diag::report_json(&r.files, &r.diagnostics)["diagnostics"],
    })
}

/// `gcc build --all` and its options.
#[derive(Debug, Clone, Default)]
pub(crate) struct FleetRequest {
    /// The source root (`-C`).
    pub root: PathBuf,
    /// The directory holding one `<env>/` per environment (default: `out` under the root).
    pub out: Option<PathBuf>,
    /// How each environment is built (`--force`, `--validate`).
    pub opts: EnvOptions,
    /// Worker threads (default: one per core).
    pub jobs: Option<usize>,
    /// Publish after building (`--commit`).
    pub publish: Option<FleetPublish>,
}

/// `build --all --commit` options.
#[derive(Debug, Clone, Default)]
pub(crate) struct FleetPublish {
    /// Publish environments whose inputs have uncommitted changes.
    pub allow_dirty: bool,
    /// The repository holding the deploy branches (default: the inputs').
    pub repo: Option<PathBuf>,
}

/// A fleet checked and ready to build.
#[derive(Debug)]
pub struct Prepared {
    req: FleetRequest,
    base: PathBuf,
    placement: Placement,
    /// The environments that will be built, in order.
    pub todo: Vec<String>,
    refused: Vec<EnvReport>,
    provenance: BTreeMap<String, Provenance>,
}

/// The fleet built (and published).
#[derive(Debug)]
pub struct FleetBuilt {
    /// One report per environment, in environment order.
    pub reports: Vec<EnvReport>,
    /// What was published, by environment.
    pub published: BTreeMap<String, Published>,
    /// The source each publish records, by environment.
    pub provenance: BTreeMap<String, Provenance>,
}

/// Finds the environments and checks, before anything is built, that their outputs go
/// where gcc may write and, with `--commit`, the publish gate: an environment whose
/// inputs are dirty or whose branch is not its own is refused on its own; two sharing a
/// branch refuse the fleet.
pub(crate) fn prepare(req: FleetRequest) -> Outcome<Prepared> {
    let root = &req.root;
    let envs = match environments(&WorkDir::new(root)) {
        Ok(envs) if !envs.is_empty() => envs,
        Ok(_) | Err(_) => {
            return Err(Box::new(
                Diagnostic::error(
                    NO_ENVIRONMENTS,
                    format!("no environments under {}", root.join(ENVIRONMENTS_DIR).display()),
                )
                .help("--all builds every environments/<ENV>.yaml of the root; pass -C <DIR> to point at another checkout"),
            ));
        }
    };
    let base = req.out.clone().unwrap_or_else(|| root.join("out"));
    let mut placement = Placement::for_root(root);
    if let Some(repo) = req.publish.as_ref().and_then(|p| p.repo.as_ref()) {
        placement.repository(repo);
    }
    let outs: Vec<(String, PathBuf)> = envs.iter().map(|e| (e.clone(), base.join(e))).collect();
    let named: Vec<(&str, &Path)> = outs
        .iter()
        .map(|(e, d)| (e.as_str(), d.as_path()))
        .collect();
    placement.check(&named)?;
    let (provenance, refused) = match &req.publish {
        Some(p) => {
            let gate = fleet_gate(root, &envs, p.allow_dirty, p.repo.as_deref())?;
            let refused = gate
                .refused
                .into_iter()
                .map(|(env, d)| EnvReport::failed(&env, &base.join(&env), vec![d]))
                .collect::<Vec<_>>();
            (gate.provenance, refused)
        }
        None => (BTreeMap::new(), Vec::new()),
    };
    let todo: Vec<String> = envs
        .iter()
        .filter(|e| !refused.iter().any(|r| &r.env == *e))
        .cloned()
        .collect();
    Ok(Prepared {
        req,
        base,
        placement,
        todo,
        refused,
        provenance,
    })
}

/// Builds the prepared fleet on `jobs` threads (`on_done` sees each report as it
/// finishes), then publishes every built or up-to-date environment, one after another.
pub fn run(p: Prepared, on_done: impl Fn(&EnvReport) + Sync) -> Outcome<FleetBuilt> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(p.req.jobs.unwrap_or(0))
        .build()
        .map_err(|e| {
            Box::new(Diagnostic::error(
                crate::load::IO,
                format!("cannot start worker threads: {e}"),
            ))
        })?;
    let root = &p.req.root;
    let on_done = &on_done;
    let mut reports = pool.install(|| {
        build_all(
            root,
            &p.todo,
            |env| p.base.join(env),
            &p.req.opts,
            &p.placement,
            on_done,
        )
    });
    reports.extend(p.refused);
    reports.sort_by(|a, b| a.env.cmp(&b.env));
    let published = match &p.req.publish {
        Some(publish) => {
            let repo = publish.repo.clone().unwrap_or_else(|| root.clone());
            publish_all(&repo, &mut reports, &p.provenance)
        }
        None => BTreeMap::new(),
    };
    Ok(FleetBuilt {
        reports,
        published,
        provenance: p.provenance,
    })
}

/// Publishes every built or up-to-date environment, one after another (a git repository
/// is not shared between threads); a failure marks that environment failed.
fn publish_all(
    repo: &Path,
    reports: &mut [EnvReport],
    provenance: &BTreeMap<String, Provenance>,
) -> BTreeMap<String, Published> {
    let mut published = BTreeMap::new();
    for r in reports
        .iter_mut()
        .filter(|r| matches!(r.status, Status::Built | Status::Skipped))
    {
        let prov = provenance.get(&r.env).cloned().unwrap_or_default();
        match publish_one(repo, r, &prov) {
            Ok(outcome) => {
                published.insert(r.env.clone(), outcome);
            }
            Err(d) => {
                r.status = Status::Failed;
                r.diagnostics.push(*d);
            }
        }
    }
    published
}

/// Commits the tree in `r.out` (just built, or verified against its lock) to the
/// environment's deploy branch.
fn publish_one(repo: &Path, r: &EnvReport, prov: &Provenance) -> Outcome<Published> {
    let files = read_tree(&r.out).map_err(|e| {
        Box::new(Diagnostic::error(
            crate::load::IO,
            format!("cannot read back {}: {e}", r.out.display()),
        ))
    })?;
    let id = r.build_id.as_deref().unwrap_or_default();
    let deploy = Deploy::open(repo, &r.env, &r.branch)?;
    Ok(publish_tree(&deploy, &r.env, &files, id, prov)?.outcome)
}
