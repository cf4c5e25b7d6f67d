//! Fleet builds: every environment of a tree, in parallel, each one on its own.
//!
//! One environment's failure never stops the others. An environment is skipped (unless
//! forced) when its output's `gcc.lock.json` records the same input digests and gcc
//! version as now, and the tree still matches that lock byte for byte: an edited or
//! half-deleted output is rebuilt, never trusted.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::compile::{compile_loaded, input_digests};
use crate::diag::{self, Diagnostic, Files};
use crate::load::{Fatal, load};
use crate::ops::outdir::{Placement, read_tree, tidy, write_tree};
use crate::origin::deploy_branch;
use crate::render::{GCC_VERSION, LOCK_FILE};
use crate::source::{EntryKind, Source, WorkDir};
use crate::verify::verify_files;

/// The directory environments live in.
pub const ENVIRONMENTS_DIR: &str = "environments";

/// What happened to one environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Compiled and written.
    Built,
    /// Inputs and gcc version unchanged since the build in the output directory.
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
/// there and `force` is off. `placement` says where outputs may not go; the
/// environment's own inputs are added to it before anything is written.
pub fn build_env(
    root: &Path,
    env: &str,
    out: &Path,
    force: bool,
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
    if !force && let Some(id) = up_to_date(out, &report.inputs) {
        if let Err(e) = tidy(out) {
            report.diagnostics.push(e.diagnostic(out));
            return report;
        }
        report.status = Status::Skipped;
        report.build_id = Some(id);
        return report;
    }
    let mut compiled = compile_loaded(loaded);
    report.diagnostics = std::mem::take(&mut compiled.diagnostics);
    match compiled.build {
        None if crate::compile::refused(&report.diagnostics) => {}
        None => report.status = Status::Invalid,
        Some(build) => match write_tree(out, &build.rendered.files) {
            Ok(()) => {
                report.status = Status::Built;
                report.build_id = Some(build.rendered.build_id);
            }
            Err(e) => report.diagnostics.push(e.diagnostic(out)),
        },
    }
    if !report.diagnostics.is_empty() {
        report.files = compiled.loaded.files;
    }
    report
}

/// Builds `envs` of the tree at `root` in parallel on the current rayon pool, each into
/// `out_for(env)`. `on_done` sees each report as it finishes (for progress); the
/// reports come back in the order of `envs`.
pub fn build_all(
    root: &Path,
    envs: &[String],
    out_for: impl Fn(&str) -> PathBuf + Sync,
    force: bool,
    placement: &Placement,
    on_done: impl Fn(&EnvReport) + Sync,
) -> Vec<EnvReport> {
    envs.par_iter()
        .map(|env| {
            let report = build_env(root, env, &out_for(env), force, placement);
            on_done(&report);
            report
        })
        .collect()
}

/// The build id of the tree in `out` when its lock records exactly `inputs` and this gcc
/// version and every file matches the lock; `None` when anything differs or is missing.
pub fn up_to_date(out: &Path, inputs: &BTreeMap<String, String>) -> Option<String> {
    let lock = crate::lock::Lock::parse(&std::fs::read(out.join(LOCK_FILE)).ok()?).ok()?;
    if lock.gcc_version != GCC_VERSION || &lock.inputs != inputs {
        return None;
    }
    let files = read_tree(out).ok()?;
    let v = verify_files(&files, None);
    v.ok().then_some(v.computed_build_id)
}

/// Counts by status, for the closing line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
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
        "diagnostics": diag::report_json(&r.files, &r.diagnostics)["diagnostics"],
    })
}
