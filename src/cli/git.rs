//! The verbs that read or write git: `build` (with `--source-ref` / `--commit`), `pin`,
//! `pins`, `rollback`, `verify`, `diff`. Each calls one op (`ops::build`, `ops::deploy`)
//! and prints what it returns, as text or JSON, with its exit code.

use serde_json::{Value, json};

use super::{
    BuildArgs, Ctx, DeployArgs, DiffArgs, DiffFormat, EXIT_INVALID, EXIT_OK, EXIT_USAGE, Format,
    PinArgs, PinsArgs, RollbackArgs, VerifyArgs, count, err, out, print_diagnostics, print_invalid,
    print_warnings, report_fatal,
};
use crate::diag;
use crate::diff;
use crate::ops;
use crate::ops::build::{BuildFailure, PublishTo};
use crate::ops::deploy::{At, Branch, DiffSide, Failure, PinTarget, Rebuild, SideFailure};
use crate::publish::{self, Published, short, utc};
use crate::render::{GCC_BUILD, GCC_VERSION};
use crate::report;
use crate::verify::{self, MISMATCH, Verification};

/// Where the deploy branch of `env` is, from `-C` and `--repo`/`--branch`.
fn at<'a>(ctx: &'a Ctx<'_>, env: &'a str, args: &'a DeployArgs) -> At<'a> {
    At {
        root: &ctx.cli.root,
        env,
        repo: args.repo.as_deref(),
        branch: args.branch.as_deref(),
    }
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

fn note_branch(ctx: &Ctx<'_>, b: &Branch) {
    note_stripped(ctx, b.stripped_from.as_deref(), &b.name);
}

/// Prints why an op did nothing and returns its exit code.
fn failed(ctx: &Ctx<'_>, f: &Failure) -> u8 {
    match f {
        Failure::Refused(d) => ctx.fail(d, EXIT_USAGE),
        Failure::Unverified(d, v) => {
            if let Some(v) = v {
                print_verification(ctx, v);
            }
            ctx.fail(d, EXIT_INVALID)
        }
    }
}

/// The schemas `--validate` checks against: `--schemas DIR`, else those compiled in.
pub(super) fn validation_store(a: &BuildArgs) -> Option<crate::validate::Store> {
    a.validate.then(|| match &a.schemas {
        Some(d) => crate::validate::Store::Dir(d.clone()),
        None => crate::validate::Store::Embedded,
    })
}

/// What `--validate` checked against, for the summary.
pub(super) fn store_name(a: &BuildArgs) -> String {
    match &a.schemas {
        Some(d) => format!("the schemas in {}", d.display()),
        None => "gcc's schemas".into(),
    }
}

pub(super) fn cmd_build(ctx: &Ctx<'_>, a: &BuildArgs) -> u8 {
    // clap requires an environment unless --all, which the caller handles.
    let env = a.env.as_deref().unwrap_or_default();
    let publish = a.commit.then(|| PublishTo {
        allow_dirty: a.allow_dirty,
        repo: a.repo.clone(),
        branch: a.branch.clone(),
    });
    let store = validation_store(a);
    let req = ops::build::BuildRequest {
        root: &ctx.cli.root,
        env,
        out: a.out.as_deref(),
        source_ref: a.source_ref.as_deref(),
        publish: publish.as_ref(),
        validate: store.as_ref(),
    };
    let built = match ops::build::build(&req) {
        Ok(b) => b,
        Err(BuildFailure::Refused(d)) => return ctx.fail(&d, EXIT_USAGE),
        Err(BuildFailure::Violations(diags)) => {
            return print_diagnostics(&diags, ctx.format, ctx.color);
        }
        Err(BuildFailure::Invalid(compiled)) => {
            return print_invalid(&compiled, ctx.format, ctx.color);
        }
    };
    let (compiled, build) = (&built.compiled, &built.build);
    let shown = built.out.display().to_string();
    match ctx.format {
        Format::Json => {
            let mut v = report::summary_json(&build.plan, &build.rendered, &shown, built.unchanged);
            v["diagnostics"] =
                diag::report_json(&compiled.loaded.files, &compiled.diagnostics)["diagnostics"]
                    .clone();
            if let Some(p) = &built.published {
                let mut pj = json!(p.outcome);
                pj["branch"] = json!(p.branch);
                pj["provenance"] = json!(p.provenance);
                v["publish"] = pj;
            }
            if let Some(n) = built.validated {
                v["validated"] = json!(n);
            }
            out(&format!("{v}\n"));
        }
        Format::Text => {
            print_warnings(compiled, ctx.color);
            out(&report::summary_text(
                &build.plan,
                &build.rendered,
                &shown,
                built.unchanged,
            ));
            if let Some(n) = built.validated {
                out(&format!(
                    "validated {n} objects against {}: no violation\n",
                    store_name(a)
                ));
            }
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

pub(super) fn cmd_pin(ctx: &Ctx<'_>, a: &PinArgs) -> u8 {
    let env = a.env.as_str();
    let target = match (&a.build, &a.git_ref) {
        (Some(id), _) => PinTarget::Build(id),
        (None, Some(rev)) => PinTarget::Rev(rev),
        (None, None) => PinTarget::Tip,
    };
    let (pin, branch) = match ops::deploy::pin(&at(ctx, env, &a.deploy), &a.name, target, a.force) {
        Ok(x) => x,
        Err(d) => return ctx.fail(&d, EXIT_USAGE),
    };
    note_branch(ctx, &branch);
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

pub(super) fn cmd_pins(ctx: &Ctx<'_>, a: &PinsArgs) -> u8 {
    let env = a.env.as_str();
    let p = match ops::deploy::pins(&at(ctx, env, &a.deploy), a.limit) {
        Ok(x) => x,
        Err(d) => return ctx.fail(&d, EXIT_USAGE),
    };
    note_branch(ctx, &p.branch);
    let branch = &p.branch.name;
    match ctx.format {
        Format::Json => out(&format!(
            "{}\n",
            json!({
                "environment": env,
                "branch": branch,
                "pins": p.pins,
                "builds": p.builds(),
                "other_commits": p.others(),
                "diagnostics": diag::report_json(&diag::Files::default(), &p.warnings)["diagnostics"],
            })
        )),
        Format::Text => {
            if !p.warnings.is_empty() {
                err(&diag::render_text(
                    &diag::Files::default(),
                    &p.warnings,
                    ctx.color,
                ));
            }
            let mut text = String::new();
            let mut rows = vec![vec![
                "PIN".to_string(),
                "BUILD".into(),
                "COMMIT".into(),
                "TIME".into(),
                "SOURCE".into(),
            ]];
            for pin in &p.pins {
                rows.push(build_row(pin.name.clone(), &pin.build));
            }
            text.push_str(&if p.pins.is_empty() {
                format!("no pins for {env} (gcc pin {env} <name>)\n")
            } else {
                table(&rows)
            });
            text.push('\n');
            let mut rows = vec![vec![
                "#".to_string(),
                "BUILD".into(),
                "COMMIT".into(),
                "TIME".into(),
                "SOURCE".into(),
            ]];
            let mut n = 0;
            for e in &p.log {
                rows.push(match e {
                    publish::Entry::Build(b) => {
                        n += 1;
                        build_row((n - 1).to_string(), b)
                    }
                    publish::Entry::Other(o) => vec![
                        "-".into(),
                        "-".into(),
                        short(&o.commit).to_string(),
                        utc(o.time),
                        format!("not made by gcc: \"{}\" by {}", o.summary, o.author),
                    ],
                });
            }
            if p.log.is_empty() {
                text.push_str(&format!("no builds on {branch} yet\n"));
            } else {
                text.push_str(&format!("builds on {branch}, newest first:\n"));
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

pub(super) fn cmd_rollback(ctx: &Ctx<'_>, a: &RollbackArgs) -> u8 {
    let (env, to) = (a.env.as_str(), a.to.as_str());
    let r = match ops::deploy::rollback(&at(ctx, env, &a.deploy), to) {
        Ok(r) => r,
        Err(f) => return failed(ctx, &f),
    };
    note_branch(ctx, &r.branch);
    match ctx.format {
        Format::Json => out(&format!(
            "{}\n",
            json!({"environment": env, "branch": r.branch.name, "to": r.to, "publish": r.published, "verified_files": r.files})
        )),
        Format::Text => {
            out(&format!(
                "verified build {} at commit {}: {} match gcc.lock.json\n",
                short(&r.to.build_id),
                short(&r.to.commit),
                count(r.files.saturating_sub(1), "file")
            ));
            out(&match &r.published {
                Published::Committed { commit, .. } => format!(
                    "rolled back {env} to build {} ({to}): commit {} on {}\n",
                    short(&r.to.build_id),
                    short(commit),
                    r.branch.name
                ),
                Published::UpToDate { commit } => format!(
                    "{} is already at build {} (commit {}); nothing committed\n",
                    r.branch.name,
                    short(&r.to.build_id),
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

pub(super) fn cmd_verify(ctx: &Ctx<'_>, a: &VerifyArgs) -> u8 {
    let env = a.env.as_str();
    let r = match ops::deploy::verify(&at(ctx, env, &a.deploy), a.git_ref.as_deref(), a.rebuild) {
        Ok(r) => r,
        Err(f) => return failed(ctx, &f),
    };
    note_branch(ctx, &r.branch);
    let v = &r.verification;
    match ctx.format {
        Format::Json => out(&format!(
            "{}\n",
            json!({
                "environment": env,
                "commit": r.commit,
                "ok": r.ok(),
                "files": r.files,
                "verification": v,
                "rebuild": r.rebuild.as_ref().map(rebuild_json),
            })
        )),
        Format::Text => {
            if v.ok() {
                out(&format!(
                    "verified {env} commit {}: build {}, {} match gcc.lock.json\n",
                    short(&r.commit),
                    short(&v.computed_build_id),
                    count(r.files.saturating_sub(1), "file")
                ));
            } else {
                err(&format!(
                    "error[{MISMATCH}]: commit {} does not match its gcc.lock.json\n",
                    short(&r.commit)
                ));
                print_verification(ctx, v);
            }
            match &r.rebuild {
                Some(b) if b.ok() => out(&rebuild_text(env, b, r.files)),
                Some(b) => err(&rebuild_text(env, b, r.files)),
                None => {}
            }
        }
    }
    if r.ok() { EXIT_OK } else { EXIT_INVALID }
}

fn rebuild_json(r: &Rebuild) -> Value {
    match r {
        Rebuild::Impossible(why) => json!({"ok": false, "problem": why}),
        Rebuild::Rebuilt {
            source,
            build_id,
            published_by,
            published_build,
            files,
        } => json!({
            "ok": r.ok(),
            "source_commit": source,
            "build_id": build_id,
            "published_by": published_by,
            "published_build": published_build,
            "rebuilt_by": GCC_VERSION,
            "rebuilt_build": GCC_BUILD,
            "files": files,
        }),
    }
}

/// The first digits of a fingerprint, or `unknown` when none was recorded.
fn short_or_unknown(fingerprint: &str) -> &str {
    if fingerprint.is_empty() {
        "unknown"
    } else {
        short(fingerprint)
    }
}

fn rebuild_text(env: &str, r: &Rebuild, published_files: usize) -> String {
    let (source, published_by, published_build, files) = match r {
        Rebuild::Impossible(why) => return format!("error[{MISMATCH}]: cannot rebuild: {why}\n"),
        Rebuild::Rebuilt {
            source,
            published_by,
            published_build,
            files,
            ..
        } => (source, published_by, published_build, files),
    };
    let mut text = if files.is_empty() {
        format!(
            "rebuilt {env} from source commit {}: identical, byte for byte ({} with the lock)\n",
            short(source),
            count(published_files, "file")
        )
    } else {
        format!(
            "error[{MISMATCH}]: the rebuild from source commit {} differs from the published tree\n{}",
            short(source),
            tree_diff_lines(files)
        )
    };
    if !files.is_empty() && (published_by != GCC_VERSION || published_build != GCC_BUILD) {
        text.push_str(&format!(
            "  note: published by gcc {published_by} (build {}), rebuilt by gcc {GCC_VERSION} \
             (build {}); another build of gcc writes another lock, and its outputs may \
             legitimately differ\n",
            short_or_unknown(published_build),
            short(GCC_BUILD)
        ));
    }
    text
}

/// Prints what a side of a diff brings (warnings, a branch note) or why there is none.
/// A side of a diff, its warnings printed; with its compile when it was built from inputs.
fn side(ctx: &Ctx<'_>, got: Result<DiffSide, SideFailure>) -> Result<DiffSide, u8> {
    match got {
        Ok(s) => {
            if let Some(c) = &s.compiled
                && ctx.format == Format::Text
            {
                print_warnings(c, ctx.color);
            }
            if let Some(b) = &s.branch {
                note_branch(ctx, b);
            }
            Ok(s)
        }
        Err(SideFailure::Fatal(d)) => Err(report_fatal(&d, ctx.format, ctx.color)),
        // An input that does not compile is an error here: exit 1 means "differs".
        Err(SideFailure::Invalid(c)) => {
            print_invalid(&c, ctx.format, ctx.color);
            Err(EXIT_USAGE)
        }
        Err(SideFailure::Refused(d)) => Err(ctx.fail(&d, EXIT_USAGE)),
    }
}

/// The diff of two sides, each changed Helm value naming the input line that set it.
fn compare(env: &str, from: &DiffSide, to: &DiffSide) -> diff::Diff {
    let mut d = diff::diff(env, &from.side, &to.side);
    crate::explain::annotate(
        &mut d,
        from.compiled.as_deref().map(|c| &c.loaded),
        to.compiled.as_deref().map(|c| &c.loaded),
    );
    d
}

/// `gcc diff`; `paint` colours the text format.
pub(super) fn cmd_diff(ctx: &Ctx<'_>, opts: &DiffArgs, paint: bool) -> u8 {
    let markdown_only = opts.title.is_some()
        || opts.comment_id.is_some()
        || opts.max_bytes != diff::MARKDOWN_MAX_BYTES;
    if markdown_only && opts.format != DiffFormat::Markdown {
        err(
            "error: --title, --comment-id and --max-bytes shape a markdown comment: add --format markdown\n",
        );
        return EXIT_USAGE;
    }
    if opts.all {
        return cmd_diff_all(ctx, opts, paint);
    }
    // clap requires an environment unless --all.
    let env = opts.env.as_deref().unwrap_or_default();
    let at = at(ctx, env, &opts.deploy);
    // The two sides are independent (each compiles or reads its own tree): get both at once.
    let (from, to) = rayon::join(
        || match &opts.from {
            Some(spec) => ops::deploy::diff_side(&at, spec),
            None => ops::deploy::diff_tip(&at),
        },
        || ops::deploy::diff_side(&at, &opts.to),
    );
    let from = match side(ctx, from) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let to = match side(ctx, to) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut d = compare(env, &from, &to);
    let (from, to) = (from.side, to.side);
    if opts.rendered {
        let stage = match super::rehearse::stage(ctx, opts.charts.as_deref(), &opts.helm, None) {
            Ok((stage, _)) => stage,
            Err(code) => return code,
        };
        ops::rehearse::render_diff(&mut d, &from, &to, &stage);
    }
    match opts.format {
        DiffFormat::Text => out(&diff::text(&d, paint)),
        DiffFormat::Markdown => out(&diff::markdown_with(&d, &markdown_options(opts))),
        DiffFormat::Json => out(&format!("{}\n", diff::json(&d))),
    }
    if opts.exit_code && !d.identical {
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}

fn markdown_options(opts: &DiffArgs) -> diff::MarkdownOptions {
    diff::MarkdownOptions {
        title: opts.title.clone(),
        comment_id: opts.comment_id.clone(),
        max_bytes: opts.max_bytes,
    }
}

/// `gcc diff --all`: each environment diffed; one that cannot be is reported on stderr
/// and counted failed (exit 2), the others still shown.
fn cmd_diff_all(ctx: &Ctx<'_>, opts: &DiffArgs, paint: bool) -> u8 {
    let envs = match ops::deploy::diff_all(
        &ctx.cli.root,
        opts.deploy.repo.as_deref(),
        opts.from.as_deref(),
        &opts.to,
    ) {
        Ok(e) => e,
        Err(d) => return ctx.fail(&d, EXIT_USAGE),
    };
    let stage = if opts.rendered {
        match super::rehearse::stage(ctx, opts.charts.as_deref(), &opts.helm, None) {
            Ok((stage, _)) => Some(stage),
            Err(code) => return code,
        }
    } else {
        None
    };
    // Sides report on stderr as text, whatever the format: stdout holds one document.
    let quiet = Ctx {
        format: Format::Text,
        ..*ctx
    };
    let diffs: Vec<(String, Option<diff::Diff>)> = envs
        .into_iter()
        .map(|e| {
            let d = match e.sides {
                Ok((f, t)) => side(&quiet, Ok(f))
                    .and_then(|f| Ok((f, side(&quiet, Ok(t))?)))
                    .ok()
                    .map(|(f, t)| {
                        let mut d = compare(&e.env, &f, &t);
                        if let Some(stage) = &stage {
                            ops::rehearse::render_diff(&mut d, &f.side, &t.side, stage);
                        }
                        d
                    }),
                Err(failure) => {
                    err(&format!("== {}\n", e.env));
                    let _ = side(&quiet, Err(failure));
                    None
                }
            };
            (e.env, d)
        })
        .collect();
    let failed = diffs.iter().filter(|(_, d)| d.is_none()).count();
    let differ = diffs
        .iter()
        .filter(|(_, d)| d.as_ref().is_some_and(|d| !d.identical))
        .count();
    let risks: usize = diffs
        .iter()
        .filter_map(|(_, d)| d.as_ref())
        .map(|d| d.risks.len())
        .sum();
    let summary = format!(
        "{}: {differ} differ, {} identical, {failed} failed; {}\n",
        count(diffs.len(), "environment"),
        diffs.len() - differ - failed,
        count(risks, "risk")
    );
    match opts.format {
        DiffFormat::Text => {
            let mut s = String::new();
            for (env, d) in &diffs {
                if let Some(d) = d {
                    s.push_str(&format!("== {env}\n{}\n", diff::text(d, paint)));
                }
            }
            s.push_str(&summary);
            out(&s);
        }
        DiffFormat::Markdown => {
            let shown: Vec<&diff::Diff> = diffs.iter().filter_map(|(_, d)| d.as_ref()).collect();
            out(&diff::markdown_all(
                &shown,
                &summary,
                &markdown_options(opts),
            ));
        }
        DiffFormat::Json => {
            let envs: Vec<Value> = diffs
                .iter()
                .map(|(env, d)| match d {
                    Some(d) => json!({"environment": env, "status": if d.identical { "identical" } else { "differs" }, "diff": diff::json(d)}),
                    None => json!({"environment": env, "status": "failed", "diff": null}),
                })
                .collect();
            out(&format!(
                "{}\n",
                json!({
                    "environments": envs,
                    "summary": {"environments": diffs.len(), "differ": differ, "identical": diffs.len() - differ - failed, "failed": failed, "risks": risks},
                })
            ));
        }
    }
    if failed > 0 {
        EXIT_USAGE
    } else if opts.exit_code && differ > 0 {
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}
