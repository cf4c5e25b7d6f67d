//! The verbs that read or write git: `build` (with `--source-ref` / `--commit`), `pin`,
//! `pins`, `rollback`, `verify`. Each calls `origin`, `publish` and `verify` and prints.

use std::path::{Path, PathBuf};

use git2::Oid;
use serde_json::{Value, json};

use super::{
    Ctx, DeployArgs, DiffFormat, EXIT_INVALID, EXIT_OK, EXIT_USAGE, Format, compile_or_report,
    count, err, out, print_invalid, print_warnings,
};
use crate::compile::compile;
use crate::diag::{self, Diagnostic};
use crate::diff;
use crate::load::{Fatal, load};
use crate::ops;
use crate::ops::build::{BuildFailure, PublishTo};
use crate::origin::{SourceRepo, deploy_branch};
use crate::publish::{
    self, Deploy, Outcome, Published, commit_files, rollback_message, short, utc,
};
use crate::render::GCC_VERSION;
use crate::report;
use crate::source::{Source, WorkDir};
use crate::verify::{self, MISMATCH, Verification, compare, verify_files};

/// The deploy branch of `env` in `args.repo` (default: the repository of the inputs),
/// named by `--branch`, else by the working directory's environment file.
fn open_deploy(ctx: &Ctx<'_>, env: &str, args: &DeployArgs) -> Outcome<Deploy> {
    let loaded = load(&WorkDir::new(&ctx.cli.root), env).ok();
    let branch = deploy_branch(args.branch.as_deref(), loaded.as_ref(), env);
    let repo: PathBuf = args.repo.clone().unwrap_or_else(|| ctx.cli.root.clone());
    let deploy = Deploy::open(&repo, env, &branch)?;
    note_stripped(ctx, deploy.stripped_from(), deploy.branch());
    Ok(deploy)
}

/// Says, in text mode, that a `refs/heads/` prefix was dropped from a branch name.
fn note_stripped(ctx: &Ctx<'_>, asked: Option<&str>, name: &str) {
    if ctx.format == Format::Text
        && let Some(asked) = asked
    {
        err(&format!(
            "note: `{asked}` is read as the branch name `{name}` (refs/heads/ dropped)\n"
        ));
    }
}

pub(super) fn cmd_build(
    ctx: &Ctx<'_>,
    env: &str,
    out_dir: Option<&Path>,
    source_ref: Option<&str>,
    publish: Option<&PublishTo>,
) -> u8 {
    let req = ops::build::BuildRequest {
        root: &ctx.cli.root,
        env,
        out: out_dir,
        source_ref,
        publish,
    };
    let built = match ops::build::build(&req) {
        Ok(b) => b,
        Err(BuildFailure::Refused(d)) => return ctx.fail(&d, EXIT_USAGE),
        Err(BuildFailure::Invalid(compiled)) => {
            return print_invalid(&compiled, ctx.format, ctx.color);
        }
    };
    let (compiled, build) = (&built.compiled, &built.build);
    let shown = built.out.display().to_string();
    match ctx.format {
        Format::Json => {
            let mut v = report::summary_json(&build.plan, &build.rendered, &shown);
            v["diagnostics"] =
                diag::report_json(&compiled.loaded.files, &compiled.diagnostics)["diagnostics"]
                    .clone();
            if let Some(p) = &built.published {
                let mut pj = json!(p.outcome);
                pj["branch"] = json!(p.branch);
                pj["provenance"] = json!(p.provenance);
                v["publish"] = pj;
            }
            out(&format!("{v}\n"));
        }
        Format::Text => {
            print_warnings(compiled, ctx.color);
            out(&report::summary_text(&build.plan, &build.rendered, &shown));
            if let Some(p) = &built.published {
                note_stripped(ctx, p.stripped_from.as_deref(), &p.branch);
                out(&publish_line(
                    env,
                    &p.branch,
                    &build.rendered.build_id,
                    &p.outcome,
                ));
            }
        }
    }
    EXIT_OK
}

pub(super) fn publish_line(env: &str, branch: &str, build_id: &str, p: &Published) -> String {
    match p {
        Published::Committed { commit, parent } => format!(
            "published {env} build {} to {branch}: commit {}{}\n",
            short(build_id),
            short(commit),
            parent
                .as_deref()
                .map(|p| format!(" (parent {})", short(p)))
                .unwrap_or_else(|| " (new branch)".into()),
        ),
        Published::UpToDate { commit } => format!(
            "{branch} is up to date: commit {} already has build {}; nothing committed\n",
            short(commit),
            short(build_id)
        ),
    }
}

pub(super) fn cmd_pin(
    ctx: &Ctx<'_>,
    env: &str,
    name: &str,
    build: Option<&str>,
    git_ref: Option<&str>,
    force: bool,
    args: &DeployArgs,
) -> u8 {
    let result = open_deploy(ctx, env, args).and_then(|deploy| {
        let commit = match (build, git_ref) {
            (Some(id), _) => deploy.resolve_build_id(id)?,
            (None, Some(rev)) => deploy.resolve_rev(rev)?,
            (None, None) => deploy.require_tip()?,
        };
        deploy.pin(name, commit, force)
    });
    match result {
        Err(d) => ctx.fail(&d, EXIT_USAGE),
        Ok(pin) => {
            match ctx.format {
                Format::Json => out(&format!("{}\n", json!(pin))),
                Format::Text => out(&format!(
                    "pinned {env} build {} (commit {}) as gcc/{env}/{}\n",
                    short(&pin.build.build_id),
                    short(&pin.build.commit),
                    pin.name
                )),
            }
            EXIT_OK
        }
    }
}

pub(super) fn cmd_pins(ctx: &Ctx<'_>, env: &str, limit: usize, args: &DeployArgs) -> u8 {
    let result = open_deploy(ctx, env, args)
        .and_then(|deploy| Ok((deploy.pins()?, deploy.history(limit)?, deploy)));
    let (pins, builds, deploy) = match result {
        Ok(x) => x,
        Err(d) => return ctx.fail(&d, EXIT_USAGE),
    };
    match ctx.format {
        Format::Json => out(&format!(
            "{}\n",
            json!({"environment": env, "branch": deploy.branch(), "pins": pins, "builds": builds})
        )),
        Format::Text => {
            let mut rows = vec![vec![
                "PIN".to_string(),
                "BUILD".into(),
                "COMMIT".into(),
                "TIME".into(),
                "SOURCE".into(),
            ]];
            for p in &pins {
                rows.push(build_row(p.name.clone(), &p.build));
            }
            let mut text = if pins.is_empty() {
                format!("no pins for {env} (gcc pin {env} <name>)\n")
            } else {
                table(&rows)
            };
            text.push('\n');
            let mut rows = vec![vec![
                "#".to_string(),
                "BUILD".into(),
                "COMMIT".into(),
                "TIME".into(),
                "SOURCE".into(),
            ]];
            for (i, b) in builds.iter().enumerate() {
                rows.push(build_row(i.to_string(), b));
            }
            if builds.is_empty() {
                text.push_str(&format!("no builds on {} yet\n", deploy.branch()));
            } else {
                text.push_str(&format!("builds on {}, newest first:\n", deploy.branch()));
                text.push_str(&table(&rows));
            }
            out(&text);
        }
    }
    EXIT_OK
}

fn build_row(first: String, b: &publish::Build) -> Vec<String> {
    let mut source = b
        .source_commit
        .as_deref()
        .map(|c| short(c).to_string())
        .unwrap_or_else(|| "-".into());
    if b.source_dirty {
        source.push_str(" (dirty)");
    }
    if let Some(to) = &b.rollback_to {
        source.push_str(&format!(" rollback to {}", short(to)));
    }
    vec![
        first,
        short(&b.build_id).to_string(),
        short(&b.commit).to_string(),
        utc(b.time),
        source,
    ]
}

/// Left-aligned columns separated by two spaces.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.len()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut s = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, cell)| format!("{cell:<w$}", w = widths[i]))
            .collect();
        s.push_str(line.join("  ").trim_end());
        s.push('\n');
    }
    s
}

pub(super) fn cmd_rollback(ctx: &Ctx<'_>, env: &str, to: &str, args: &DeployArgs) -> u8 {
    let deploy = match open_deploy(ctx, env, args) {
        Ok(d) => d,
        Err(d) => return ctx.fail(&d, EXIT_USAGE),
    };
    let target = deploy
        .resolve(to)
        .and_then(|c| Ok((c, deploy.build(c)?, commit_files(deploy.repo(), c)?)));
    let (commit, build, files) = match target {
        Ok(x) => x,
        Err(d) => return ctx.fail(&d, EXIT_USAGE),
    };
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
            "`gcc verify {env} --ref {}` shows every difference",
            short(&build.commit)
        ));
        print_verification(ctx, &v);
        return ctx.fail(&d, EXIT_INVALID);
    }
    let tree = match deploy.repo().find_commit(commit).map(|c| c.tree_id()) {
        Ok(t) => t,
        Err(e) => return ctx.fail(&Diagnostic::error(publish::GIT, e.to_string()), EXIT_USAGE),
    };
    let published = match deploy.publish(tree, &rollback_message(env, &build, to)) {
        Ok(p) => p,
        Err(d) => return ctx.fail(&d, EXIT_USAGE),
    };
    match ctx.format {
        Format::Json => out(&format!(
            "{}\n",
            json!({"environment": env, "branch": deploy.branch(), "to": build, "publish": published, "verified_files": files.len()})
        )),
        Format::Text => {
            out(&format!(
                "verified build {} at commit {}: {} match gcc.lock.json\n",
                short(&build.build_id),
                short(&build.commit),
                count(files.len().saturating_sub(1), "file")
            ));
            out(&match &published {
                Published::Committed { commit, .. } => format!(
                    "rolled back {env} to build {} ({to}): commit {} on {}\n",
                    short(&build.build_id),
                    short(commit),
                    deploy.branch()
                ),
                Published::UpToDate { commit } => format!(
                    "{} is already at build {} (commit {}); nothing committed\n",
                    deploy.branch(),
                    short(&build.build_id),
                    short(commit)
                ),
            });
        }
    }
    EXIT_OK
}

/// Prints the failures of a verification on stderr (text only).
fn print_verification(ctx: &Ctx<'_>, v: &Verification) {
    if ctx.format != Format::Text {
        return;
    }
    err(&tree_diff_lines(&v.files));
    for p in &v.problems {
        err(&format!("  {p}\n"));
    }
}

fn tree_diff_lines(d: &verify::TreeDiff) -> String {
    let mut s = String::new();
    for (label, paths) in [
        ("changed", &d.differ),
        ("missing", &d.missing),
        ("extra", &d.extra),
    ] {
        for p in paths {
            s.push_str(&format!("  {label}: {p}\n"));
        }
    }
    s
}

pub(super) fn cmd_verify(
    ctx: &Ctx<'_>,
    env: &str,
    git_ref: Option<&str>,
    rebuild: bool,
    args: &DeployArgs,
) -> u8 {
    let deploy = match open_deploy(ctx, env, args) {
        Ok(d) => d,
        Err(d) => return ctx.fail(&d, EXIT_USAGE),
    };
    let target = match git_ref {
        Some(r) => deploy.resolve(r),
        None => deploy.require_tip(),
    }
    .and_then(|c| Ok((c, commit_files(deploy.repo(), c)?)));
    let (commit, files) = match target {
        Ok(x) => x,
        Err(d) => return ctx.fail(&d, EXIT_USAGE),
    };
    let build = deploy.build(commit);
    if let Err(d) = &build
        && d.code == publish::FOREIGN_BRANCH
    {
        return ctx.fail(d, EXIT_INVALID);
    }
    let claimed = build.as_ref().ok().map(|b| b.build_id.as_str());
    let v = verify_files(&files, claimed);
    let mut ok = v.ok();
    let rebuilt = rebuild.then(|| rebuild_and_compare(ctx, env, build.as_ref().ok(), &files));
    ok &= rebuilt.as_ref().is_none_or(|r| r.ok);
    let c = commit.to_string();
    match ctx.format {
        Format::Json => out(&format!(
            "{}\n",
            json!({
                "environment": env,
                "commit": c,
                "ok": ok,
                "files": files.len(),
                "verification": v,
                "rebuild": rebuilt.as_ref().map(|r| &r.json),
            })
        )),
        Format::Text => {
            if v.ok() {
                out(&format!(
                    "verified {env} commit {}: build {}, {} match gcc.lock.json\n",
                    short(&c),
                    short(&v.computed_build_id),
                    count(files.len().saturating_sub(1), "file")
                ));
            } else {
                err(&format!(
                    "error[{MISMATCH}]: commit {} does not match its gcc.lock.json\n",
                    short(&c)
                ));
                print_verification(ctx, &v);
            }
            match &rebuilt {
                Some(r) if r.ok => out(&r.text),
                Some(r) => err(&r.text),
                None => {}
            }
        }
    }
    if ok { EXIT_OK } else { EXIT_INVALID }
}

struct Rebuild {
    ok: bool,
    text: String,
    json: Value,
}

/// Compiles the inputs at the build's `Source-Commit` and compares with `files`.
fn rebuild_and_compare(
    ctx: &Ctx<'_>,
    env: &str,
    build: Option<&publish::Build>,
    files: &std::collections::BTreeMap<String, Vec<u8>>,
) -> Rebuild {
    let fail = |why: String| Rebuild {
        ok: false,
        text: format!("error[{MISMATCH}]: cannot rebuild: {why}\n"),
        json: json!({"ok": false, "problem": why}),
    };
    let Some(build) = build else {
        return fail("the commit has no Build-Id trailer, so no recorded source".into());
    };
    if build.source_dirty {
        return fail(
            "it was published from uncommitted inputs (Source-Dirty: true); its source is not in git"
                .into(),
        );
    }
    let Some(source) = &build.source_commit else {
        return fail("the commit records no Source-Commit".into());
    };
    let tree = SourceRepo::discover(&ctx.cli.root).and_then(|repo| {
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
        Err(d) => return fail(d.message),
    };
    let compiled = match compile(&tree, env) {
        Ok(c) => c,
        Err(Fatal(d)) => return fail(d.message),
    };
    let Some(rebuilt) = compiled.build else {
        return fail(format!(
            "the inputs at {} do not compile ({} errors)",
            short(source),
            diag::error_count(&compiled.diagnostics)
        ));
    };
    let d = compare(&rebuilt.rendered.files, files);
    let version = build.gcc_version.as_deref().unwrap_or("unknown");
    let mut text = if d.is_empty() {
        format!(
            "rebuilt {env} from source commit {}: identical, byte for byte ({} with the lock)\n",
            short(source),
            count(files.len(), "file")
        )
    } else {
        format!(
            "error[{MISMATCH}]: the rebuild from source commit {} differs from the published tree\n{}",
            short(source),
            tree_diff_lines(&d)
        )
    };
    if !d.is_empty() && version != GCC_VERSION {
        text.push_str(&format!(
            "  note: published by gcc {version}, rebuilt by gcc {GCC_VERSION}; outputs may legitimately differ\n"
        ));
    }
    Rebuild {
        ok: d.is_empty(),
        text,
        json: json!({
            "ok": d.is_empty(),
            "source_commit": source,
            "build_id": rebuilt.rendered.build_id,
            "published_by": version,
            "rebuilt_by": GCC_VERSION,
            "files": d,
        }),
    }
}

/// `diff` options.
pub(super) struct DiffArgs<'a> {
    pub from: Option<&'a str>,
    pub to: &'a str,
    pub format: DiffFormat,
    pub exit_code: bool,
    pub paint: bool,
}

/// Builds or reads one side of a diff: `work`, `src:<rev>`, or a published build.
fn diff_side(ctx: &Ctx<'_>, env: &str, spec: &str, args: &DeployArgs) -> Result<diff::Side, u8> {
    let compiled = |source: &dyn Source| match compile_or_report(source, env, ctx.format, ctx.color)
    {
        Ok((_, build)) => Ok(build.rendered.files),
        // An input that does not compile is an error here: exit 1 means "differs".
        Err(_) => Err(EXIT_USAGE),
    };
    if spec == "work" {
        let files = compiled(&WorkDir::new(&ctx.cli.root))?;
        return Ok(diff::Side {
            label: "work".into(),
            files,
        });
    }
    if let Some(rev) = spec.strip_prefix("src:") {
        let (tree, prov) = SourceRepo::discover(&ctx.cli.root)
            .and_then(|repo| repo.at(rev))
            .map_err(|d| ctx.fail(&d, EXIT_USAGE))?;
        let files = compiled(&tree)?;
        return Ok(diff::Side {
            label: format!(
                "src:{rev}@{}",
                short(prov.source_commit.as_deref().unwrap_or_default())
            ),
            files,
        });
    }
    let deploy = open_deploy(ctx, env, args).map_err(|d| ctx.fail(&d, EXIT_USAGE))?;
    let commit = deploy.resolve(spec).map_err(|d| ctx.fail(&d, EXIT_USAGE))?;
    let files = commit_files(deploy.repo(), commit).map_err(|d| ctx.fail(&d, EXIT_USAGE))?;
    Ok(diff::Side {
        label: format!("{spec}@{}", short(&commit.to_string())),
        files,
    })
}

pub(super) fn cmd_diff(ctx: &Ctx<'_>, env: &str, opts: &DiffArgs<'_>, args: &DeployArgs) -> u8 {
    let from = match opts.from {
        Some(spec) => diff_side(ctx, env, spec, args),
        None => open_deploy(ctx, env, args)
            .and_then(|deploy| {
                let tip = deploy.require_tip().map_err(|mut d| {
                    d.help = Some(format!(
                        "publish first (gcc build {env} --commit) or name a side: --from src:HEAD"
                    ));
                    d
                })?;
                Ok(diff::Side {
                    label: format!("{}@{}", deploy.branch(), short(&tip.to_string())),
                    files: commit_files(deploy.repo(), tip)?,
                })
            })
            .map_err(|d| ctx.fail(&d, EXIT_USAGE)),
    };
    let from = match from {
        Ok(s) => s,
        Err(code) => return code,
    };
    let to = match diff_side(ctx, env, opts.to, args) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let d = diff::diff(env, &from, &to);
    match opts.format {
        DiffFormat::Text => out(&diff::text(&d, opts.paint)),
        DiffFormat::Markdown => out(&diff::markdown(&d)),
        DiffFormat::Json => out(&format!("{}\n", diff::json(&d))),
    }
    if opts.exit_code && !d.identical {
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}
