//! `gcc build --all`: the fleet, in parallel, with progress and one closing summary;
//! with `--commit`, each environment then published to its own deploy branch.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::git::publish_line;
use super::{Ctx, EXIT_INVALID, EXIT_OK, EXIT_USAGE, Format, err, out};
use crate::diag::{self, Diagnostic};
use crate::fleet::{self, EnvReport, Status, Tally};
use crate::ops::build::{fleet_gate, publish_tree};
use crate::ops::outdir::{Placement, read_tree};
use crate::publish::{Deploy, Outcome, Provenance, Published};
use crate::source::WorkDir;

/// `build --all --commit` options.
pub(super) struct FleetPublish {
    /// Publish environments whose inputs have uncommitted changes.
    pub allow_dirty: bool,
    /// The repository holding the deploy branches (default: the inputs').
    pub repo: Option<PathBuf>,
}

/// `build --all` options.
pub(super) struct FleetArgs<'a> {
    /// The directory holding one `<env>/` per environment.
    pub out: Option<&'a Path>,
    /// Rebuild up-to-date environments too.
    pub force: bool,
    /// Worker threads (default: one per core).
    pub jobs: Option<usize>,
    /// Publish after building.
    pub publish: Option<FleetPublish>,
}

/// Code: the tree has no environments/ directory or no environment in it.
pub const NO_ENVIRONMENTS: &str = "gcc::build::no_environments";

/// Where each finished environment is announced: a bar on a terminal, else one line each.
enum Progress {
    Bar(ProgressBar),
    Lines { done: AtomicUsize, total: usize },
    Quiet,
}

impl Progress {
    fn new(total: usize, ctx: &Ctx<'_>) -> Self {
        if ctx.format == Format::Json {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total as u64);
            let style = ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                done: AtomicUsize::new(0),
                total,
            }
        }
    }

    fn done(&self, r: &EnvReport) {
        match self {
            Progress::Bar(bar) => {
                bar.set_message(format!("{} {}", r.env, status_word(r.status)));
                bar.inc(1);
            }
            Progress::Lines { done, total } => {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                let id = r.build_id.as_deref().map(|i| &i[..12.min(i.len())]);
                err(&format!(
                    "[{n}/{total}] {}: {}{}\n",
                    r.env,
                    status_word(r.status),
                    id.map(|i| format!(" {i}")).unwrap_or_default()
                ));
            }
            Progress::Quiet => {}
        }
    }

    fn finish(self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Built => "built",
        Status::Skipped => "up to date",
        Status::Invalid => "invalid",
        Status::Failed => "failed",
    }
}

pub(super) fn cmd_build_all(ctx: &Ctx<'_>, args: &FleetArgs<'_>) -> u8 {
    let root = &ctx.cli.root;
    let envs = match fleet::environments(&WorkDir::new(root)) {
        Ok(envs) if !envs.is_empty() => envs,
        Ok(_) | Err(_) => {
            let d = Diagnostic::error(
                NO_ENVIRONMENTS,
                format!("no environments under {}", root.join(fleet::ENVIRONMENTS_DIR).display()),
            )
            .help("--all builds every environments/<ENV>.yaml of the root; pass -C <DIR> to point at another checkout");
            return ctx.fail(&d, EXIT_USAGE);
        }
    };
    let base = args.out.map_or_else(|| root.join("out"), Path::to_path_buf);
    let mut placement = Placement::for_root(root);
    if let Some(repo) = args.publish.as_ref().and_then(|p| p.repo.as_ref()) {
        placement.repository(repo);
    }
    let outs: Vec<(String, PathBuf)> = envs.iter().map(|e| (e.clone(), base.join(e))).collect();
    let named: Vec<(&str, &Path)> = outs
        .iter()
        .map(|(e, d)| (e.as_str(), d.as_path()))
        .collect();
    if let Err(d) = placement.check(&named) {
        return ctx.fail(&d, EXIT_USAGE);
    }
    let (provenance, refused) = match &args.publish {
        Some(p) => match fleet_gate(&ctx.cli.root, &envs, p.allow_dirty, p.repo.as_deref()) {
            Ok(gate) => (
                gate.provenance,
                gate.refused
                    .into_iter()
                    .map(|(env, d)| EnvReport::failed(&env, &base.join(&env), vec![d]))
                    .collect::<Vec<_>>(),
            ),
            Err(d) => return ctx.fail(&d, EXIT_USAGE),
        },
        None => (BTreeMap::new(), Vec::new()),
    };
    let todo: Vec<String> = envs
        .iter()
        .filter(|e| !refused.iter().any(|r| &r.env == *e))
        .cloned()
        .collect();
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
    {
        Ok(p) => p,
        Err(e) => {
            err(&format!("error: cannot start worker threads: {e}\n"));
            return EXIT_USAGE;
        }
    };
    let progress = Progress::new(todo.len(), ctx);
    let mut reports = pool.install(|| {
        fleet::build_all(
            root,
            &todo,
            |env| base.join(env),
            args.force,
            &placement,
            |r| progress.done(r),
        )
    });
    progress.finish();
    reports.extend(refused);
    reports.sort_by(|a, b| a.env.cmp(&b.env));
    let published = match &args.publish {
        Some(p) => {
            let repo = p.repo.clone().unwrap_or_else(|| root.clone());
            publish_all(&repo, &mut reports, &provenance)
        }
        None => BTreeMap::new(),
    };
    let tally = Tally::of(&reports);
    match ctx.format {
        Format::Json => {
            let envs: Vec<_> = reports
                .iter()
                .map(|r| {
                    let mut v = fleet::report_json(r);
                    if let Some(p) = published.get(&r.env) {
                        let mut pj = json!(p);
                        pj["branch"] = json!(r.branch);
                        pj["provenance"] = json!(provenance.get(&r.env));
                        v["publish"] = pj;
                    }
                    v
                })
                .collect();
            out(&format!(
                "{}\n",
                json!({ "environments": envs, "summary": tally })
            ));
        }
        Format::Text => {
            for r in reports.iter().filter(|r| !r.diagnostics.is_empty()) {
                err(&format!("== {} ({})\n", r.env, status_word(r.status)));
                err(&diag::render_text(&r.files, &r.diagnostics, ctx.color));
            }
            for r in &reports {
                if let (Some(p), Some(id)) = (published.get(&r.env), &r.build_id) {
                    out(&publish_line(&r.env, &r.branch, id, p));
                }
            }
            out(&summary_text(&reports, tally));
        }
    }
    if tally.failed > 0 {
        EXIT_USAGE
    } else if tally.invalid > 0 {
        EXIT_INVALID
    } else {
        EXIT_OK
    }
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

fn summary_text(reports: &[EnvReport], t: Tally) -> String {
    let mut s = format!(
        "{} environments: {} built, {} up to date, {} invalid, {} failed\n",
        reports.len(),
        t.built,
        t.skipped,
        t.invalid,
        t.failed
    );
    for status in [Status::Invalid, Status::Failed] {
        let names: Vec<&str> = reports
            .iter()
            .filter(|r| r.status == status)
            .map(|r| r.env.as_str())
            .collect();
        if !names.is_empty() {
            s.push_str(&format!("{}: {}\n", status_word(status), names.join(", ")));
        }
    }
    s
}
