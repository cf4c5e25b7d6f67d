//! `gcc build --all`: the fleet, in parallel, with progress and one closing summary.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::{Ctx, EXIT_INVALID, EXIT_OK, EXIT_USAGE, Format, err, out};
use crate::diag::{self, Diagnostic};
use crate::fleet::{self, EnvReport, Status, Tally};
use crate::source::WorkDir;

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

pub(super) fn cmd_build_all(
    ctx: &Ctx<'_>,
    out_dir: Option<&Path>,
    force: bool,
    jobs: Option<usize>,
) -> u8 {
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
    let base = out_dir.map_or_else(|| root.join("out"), Path::to_path_buf);
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
    {
        Ok(p) => p,
        Err(e) => {
            err(&format!("error: cannot start worker threads: {e}\n"));
            return EXIT_USAGE;
        }
    };
    let progress = Progress::new(envs.len(), ctx);
    let reports = pool.install(|| {
        fleet::build_all(
            root,
            &envs,
            |env| base.join(env),
            force,
            |r| progress.done(r),
        )
    });
    progress.finish();
    let tally = Tally::of(&reports);
    match ctx.format {
        Format::Json => {
            let v = json!({
                "environments": reports.iter().map(fleet::report_json).collect::<Vec<_>>(),
                "summary": tally,
            });
            out(&format!("{v}\n"));
        }
        Format::Text => {
            for r in reports.iter().filter(|r| !r.diagnostics.is_empty()) {
                err(&format!("== {} ({})\n", r.env, status_word(r.status)));
                err(&diag::render_text(&r.files, &r.diagnostics, ctx.color));
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
