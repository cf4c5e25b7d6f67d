//! `gcc rehearse`: parse, call [`crate::ops::rehearse`], print.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use super::{Ctx, EXIT_INVALID, EXIT_OK, EXIT_USAGE, Format, compile_or_report, err, out};
use crate::diag::{self, Diagnostic};
use crate::ops::outdir::read_tree;
use crate::ops::rehearse::{Rehearsed, Stage, helm_version, rehearse};
use crate::rehearse::{NOT_REHEARSED, Status};
use crate::source::WorkDir;

/// Arguments of `gcc rehearse`.
#[derive(Debug, Args)]
pub struct RehearseArgs {
    /// Environment name: environments/<ENV>.yaml, built in memory (nothing is written).
    #[arg(required_unless_present = "tree", conflicts_with = "tree")]
    pub env: Option<String>,
    /// Rehearse a tree `gcc build` wrote (for example out/prod) instead of building one.
    #[arg(long, value_name = "DIR")]
    pub tree: Option<PathBuf>,
    /// Chart directory: <chart>@<version>/<chart>/ folders or the <chart>-<version>.tgz
    /// files `helm pull` writes (default: charts/ under the root).
    #[arg(long, value_name = "DIR")]
    pub charts: Option<PathBuf>,
    /// Also validate every rendered object against the JSON Schemas in DIR (the layout
    /// of `gcc validate --schemas`).
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// The Helm binary (Helm v4, as Flux's helm-controller renders).
    #[arg(long, value_name = "PATH", default_value = "helm")]
    pub helm: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The chart directory (`charts`, default charts/ under the root) and Helm, checked: the
/// stage and Helm's version, or the exit code of a refusal already printed.
pub(super) fn stage(
    ctx: &Ctx<'_>,
    charts: Option<&Path>,
    helm: &Path,
    schemas: Option<&Path>,
) -> Result<(Stage, String), u8> {
    let stage = Stage {
        charts: charts.map_or_else(|| ctx.cli.root.join("charts"), Path::to_path_buf),
        helm: helm.to_path_buf(),
        schemas: schemas.map(Path::to_path_buf),
    };
    if !stage.charts.is_dir() {
        let d = Diagnostic::error(
            crate::rehearse::BAD_TREE,
            format!("no chart directory {}", stage.charts.display()),
        )
        .help("pass --charts DIR: a directory of `helm pull` .tgz files or <chart>@<version>/<chart>/ folders");
        return Err(ctx.fail(&d, EXIT_USAGE));
    }
    match helm_version(&stage) {
        Ok(v) => Ok((stage, v)),
        Err(e) => {
            let d = Diagnostic::error(crate::rehearse::HELM_FAILED, e)
                .help("install Helm v4 (../shared/charts/README.md says how on a fresh machine) or pass --helm PATH");
            Err(ctx.fail(&d, EXIT_USAGE))
        }
    }
}

pub(super) fn cmd_rehearse(ctx: &Ctx<'_>, args: &RehearseArgs) -> u8 {
    let (stage, helm) = match stage(
        ctx,
        args.charts.as_deref(),
        &args.helm,
        args.schemas.as_deref(),
    ) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (what, files, claimed) = match (&args.env, &args.tree) {
        (_, Some(dir)) => match read_tree(dir) {
            Ok(f) => (dir.display().to_string(), f, None),
            Err(e) => {
                err(&format!("error: cannot read {}: {e}\n", dir.display()));
                return EXIT_USAGE;
            }
        },
        (Some(env), None) => {
            match compile_or_report(&WorkDir::new(&ctx.cli.root), env, ctx.format, ctx.color) {
                Ok((_, build)) => {
                    let claimed = crate::report::claimed_images(&build.plan);
                    (env.clone(), build.rendered.files, Some(claimed))
                }
                Err(code) => return code,
            }
        }
        (None, None) => unreachable!("clap requires ENV or --tree"),
    };
    let r = rehearse(&files, &stage, claimed.as_ref());
    print(ctx, &what, &helm, &r);
    if diag::error_count(&r.findings.diagnostics) > 0 {
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}

fn print(ctx: &Ctx<'_>, what: &str, helm: &str, r: &Rehearsed) {
    let diags = &r.findings.diagnostics;
    let statuses = r.releases.iter().zip(&r.findings.status);
    match ctx.format {
        Format::Json => {
            let releases: Vec<_> = statuses
                .map(|(rel, s)| {
                    let (status, objects, why) = match s {
                        Status::Rehearsed(n) => ("rehearsed", Some(*n), None),
                        Status::NotRehearsed(why) => ("not_rehearsed", None, Some(why)),
                        Status::Failed => ("failed", None, None),
                    };
                    json!({
                        "file": rel.file, "name": rel.name, "namespace": rel.namespace,
                        "chart": rel.chart, "version": rel.version, "status": status,
                        "objects": objects, "why": why,
                    })
                })
                .collect();
            let mut report = diag::report_json(&r.tree.files, diags);
            report["rehearsed"] = json!(what);
            report["helm"] = json!(helm);
            report["releases"] = json!(releases);
            if let Some((validated, missing)) = &r.schemas {
                report["schemas"] = json!({ "validated": validated, "without_schema": missing });
            }
            out(&format!("{report}\n"));
        }
        Format::Text => {
            // The not-rehearsed list is printed below as one line each, not as warnings.
            let findings: Vec<Diagnostic> = diags
                .iter()
                .filter(|d| d.code != NOT_REHEARSED)
                .cloned()
                .collect();
            err(&diag::render_text(&r.tree.files, &findings, ctx.color));
            let mut rehearsed = 0;
            let mut skipped = Vec::new();
            for (rel, s) in statuses {
                match s {
                    Status::Rehearsed(_) => rehearsed += 1,
                    Status::NotRehearsed(why) => skipped.push(format!(
                        "  {} ({} {}): {why}\n",
                        rel.name, rel.chart, rel.version
                    )),
                    Status::Failed => {}
                }
            }
            let errors = diag::error_count(diags);
            let warnings = findings.iter().filter(|d| !d.is_error()).count();
            out(&format!(
                "{what}: {} of {} releases rehearsed with {helm}, {}{}\n",
                rehearsed,
                r.releases.len(),
                super::count(errors, "finding"),
                if warnings == 0 {
                    String::new()
                } else {
                    format!(", {}", super::count(warnings, "warning"))
                }
            ));
            if let Some((validated, missing)) = &r.schemas {
                let kinds: Vec<String> =
                    missing.iter().map(|(k, n)| format!("{k} ({n})")).collect();
                out(&format!(
                    "{validated} rendered objects validated against their schemas{}\n",
                    if kinds.is_empty() {
                        String::new()
                    } else {
                        format!("; no schema for {}", kinds.join(", "))
                    }
                ));
            }
            if !skipped.is_empty() {
                out(&format!("not rehearsed (no chart):\n{}", skipped.concat()));
            }
        }
    }
}
