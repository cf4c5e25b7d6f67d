//! `gcc build --all`: the fleet, in parallel, with progress and one closing summary;
//! with `--commit`, each environment then published to its own deploy branch.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::git::publish_line;
use super::{BuildArgs, Ctx, EXIT_INVALID, EXIT_OK, EXIT_USAGE, Format, count, err, out};
use crate::diag;
use crate::ops::fleet::{self, EnvReport, FleetBuilt, FleetPublish, FleetRequest, Status, Tally};

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

pub(super) fn cmd_build_all(ctx: &Ctx<'_>, a: &BuildArgs) -> u8 {
    let req = FleetRequest {
        root: ctx.cli.root.clone(),
        out: a.out.clone(),
        opts: fleet::EnvOptions {
            force: a.force,
            validate: super::git::validation_store(a),
        },
        jobs: a.jobs,
        publish: a.commit.then(|| FleetPublish {
            allow_dirty: a.allow_dirty,
            repo: a.repo.clone(),
        }),
    };
    let prepared = match fleet::prepare(req) {
        Ok(p) => p,
        Err(d) => return ctx.fail(&d, EXIT_USAGE),
    };
    let progress = Progress::new(prepared.todo.len(), ctx);
    let built = fleet::run(prepared, |r| progress.done(r));
    progress.finish();
    let FleetBuilt {
        reports,
        published,
        provenance,
    } = match built {
        Ok(b) => b,
        Err(d) => return ctx.fail(&d, EXIT_USAGE),
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
            let checked: Vec<usize> = reports.iter().filter_map(|r| r.validated).collect();
            if !checked.is_empty() {
                out(&format!(
                    "validated {} objects of {} against {}: no violation\n",
                    checked.iter().sum::<usize>(),
                    count(checked.len(), "tree"),
                    super::git::store_name(a)
                ));
            }
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
