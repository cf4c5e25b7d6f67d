//! `gcc rehearse`: each release of a tree rendered by real Helm against its pinned chart
//! from a local chart directory, then checked by [`crate::rehearse::check`].
//!
//! The side effects are running `helm` and reading the chart directory. Helm reads its
//! values on stdin and gets homes that do not exist, so it neither reads the user's
//! repositories nor writes a cache: nothing outside the process changes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rayon::prelude::*;
use serde_json::Value;

use crate::catalog::Rehearsal;
use crate::diag::Diagnostic;
use crate::rehearse::{Claimed, Findings, Release, Rendering, Tree, check, schema_violation};
use crate::validate::{Schemas, Verdict};

/// Where the charts and Helm are.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Directory of charts: `<chart>@<version>/<chart>/` (unpacked) or
    /// `<chart>-<version>.tgz` (what `helm pull` writes).
    pub charts: PathBuf,
    /// The Helm binary.
    pub helm: PathBuf,
    /// JSON Schemas to validate every rendered object against (the `gcc validate`
    /// layout), if any.
    pub schemas: Option<PathBuf>,
}

/// A finished rehearsal: the tree (its files, for labels), its releases and the findings.
pub struct Rehearsed {
    /// The tree, parsed.
    pub tree: Tree,
    /// Its releases, in tree order.
    pub releases: Vec<Release>,
    /// Status per release and every finding.
    pub findings: Findings,
    /// Rendered objects validated against a schema, and the `apiVersion/kind`s that have
    /// none (with how many objects), when schemas were given.
    pub schemas: Option<(usize, BTreeMap<String, usize>)>,
}

/// The chart of `chart` at `version` in `dir`, or why there is none.
pub fn find_chart(dir: &Path, chart: &str, version: &str) -> Result<PathBuf, String> {
    // Names from the tree become paths: nothing outside the chart directory is named.
    for (what, name) in [("chart", chart), ("version", version)] {
        if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']) {
            return Err(format!(
                "{what} `{name}` is not a name the chart directory can hold"
            ));
        }
    }
    let unpacked = dir.join(format!("{chart}@{version}")).join(chart);
    if unpacked.join("Chart.yaml").is_file() {
        return Ok(unpacked);
    }
    let packed = dir.join(format!("{chart}-{version}.tgz"));
    if packed.is_file() {
        return Ok(packed);
    }
    Err(format!(
        "neither {} nor {} exists",
        unpacked.display(),
        packed.display()
    ))
}

fn helm(stage: &Stage) -> Command {
    let mut cmd = Command::new(&stage.helm);
    // Homes that do not exist: no user repositories, plugins or cache are read or written.
    for var in ["HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"] {
        cmd.env(var, "/nonexistent/gcc-rehearse");
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `cmd`, feeding `input` on stdin; stdout, or stderr as the error.
fn run(mut cmd: Command, input: &[u8]) -> Result<String, String> {
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    // Write on a thread: a large render fills stdout before Helm has read all its input.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    let _ = writer.join();
    if out.status.success() {
        String::from_utf8(out.stdout).map_err(|_| "Helm wrote output that is not UTF-8".into())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The chart's default values.
fn defaults(stage: &Stage, chart: &Path) -> Result<Value, String> {
    let text = if chart.is_dir() {
        std::fs::read_to_string(chart.join("values.yaml"))
            .map_err(|e| format!("{}: {e}", chart.join("values.yaml").display()))?
    } else {
        let mut cmd = helm(stage);
        cmd.args(["show", "values"]).arg(chart);
        run(cmd, b"")?
    };
    let v: Option<Value> =
        serde_saphyr::from_str(&text).map_err(|e| format!("the chart's values.yaml: {e}"))?;
    Ok(v.unwrap_or(Value::Null))
}

/// Renders one release as its controller would (`helm template`, tests skipped, CRDs
/// included: Flux installs both the chart's templates and its crds/).
pub fn render(stage: &Stage, r: &Release) -> Rendering {
    let chart = match find_chart(&stage.charts, &r.chart, &r.version) {
        Ok(c) => c,
        Err(why) => return Rendering::NoChart(why),
    };
    let defaults = match defaults(stage, &chart) {
        Ok(d) => d,
        Err(e) => return Rendering::Failed(e),
    };
    let mut cmd = helm(stage);
    cmd.args(["template", &r.name])
        .arg(&chart)
        .args(["--namespace", &r.namespace])
        .args(["--values", "-", "--skip-tests", "--include-crds"]);
    // JSON is YAML to Helm.
    match run(cmd, r.values.to_string().as_bytes()) {
        Ok(manifests) => Rendering::Rendered {
            manifests,
            defaults,
        },
        Err(e) => Rendering::Failed(e),
    }
}

/// Rehearses a built tree: every release rendered (in parallel), then checked; `claimed`,
/// when the plan is known, is what `gcc versions` prints for each release.
pub fn rehearse(
    files: &BTreeMap<String, Vec<u8>>,
    stage: &Stage,
    claimed: Option<&Claimed>,
) -> Rehearsed {
    let mut tree = Tree::new(files);
    let (releases, bad) = tree.releases();
    tree.diagnostics.extend(bad);
    let renders: Vec<Rendering> = releases.par_iter().map(|r| render(stage, r)).collect();
    let mut findings = check(&tree, &releases, &renders, Rehearsal::get(), claimed);
    let schemas = match &stage.schemas {
        None => None,
        Some(dir) => match validate_rendered(&tree, &releases, &mut findings, dir) {
            Ok(counts) => Some(counts),
            Err(e) => {
                findings
                    .diagnostics
                    .push(Diagnostic::error(crate::rehearse::SCHEMA_VIOLATION, e));
                None
            }
        },
    };
    crate::diag::sort(&mut findings.diagnostics);
    Rehearsed {
        tree,
        releases,
        findings,
        schemas,
    }
}

/// Validates every rendered object against its schema in `dir`; violations become
/// findings. Returns how many were validated and the kinds without a schema.
fn validate_rendered(
    tree: &Tree,
    releases: &[Release],
    findings: &mut Findings,
    dir: &Path,
) -> Result<(usize, BTreeMap<String, usize>), String> {
    let mut schemas = Schemas::new(dir)?;
    let (mut validated, mut missing) = (0, BTreeMap::new());
    for o in &findings.rendered {
        match schemas.check(&o.body)? {
            Verdict::NoSchema => {
                let kind = format!(
                    "{}/{}",
                    o.body["apiVersion"].as_str().unwrap_or_default(),
                    o.key.kind
                );
                *missing.entry(kind).or_insert(0) += 1;
            }
            Verdict::Checked(schema, errors) => {
                validated += 1;
                for (at, message) in errors {
                    findings
                        .diagnostics
                        .push(schema_violation(tree, releases, o, &schema, &at, &message));
                }
            }
        }
    }
    Ok((validated, missing))
}

/// `helm version --short` of the stage's Helm, or why it cannot run.
pub(crate) fn helm_version(stage: &Stage) -> Result<String, String> {
    let mut cmd = helm(stage);
    cmd.args(["version", "--short"]);
    run(cmd, b"")
        .map(|v| v.trim().to_string())
        .map_err(|e| format!("cannot run Helm ({}): {}", stage.helm.display(), e.trim()))
}

/// `gcc diff --rendered`: every HelmRelease or Application that differs in `d`, rendered
/// on both sides (in parallel) as `gcc rehearse` renders it, its objects diffed into
/// `d.rendered`, their risks added to `d`'s. A side without the release renders nothing;
/// a release whose chart is not in the chart directory, or that Helm cannot render, is
/// marked not rendered and stays diffed as a tree object.
pub fn render_diff(
    d: &mut crate::diff::Diff,
    from: &crate::diff::Side,
    to: &crate::diff::Side,
    stage: &Stage,
) {
    let by_file = |files: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Release> {
        Tree::new(files)
            .releases()
            .0
            .into_iter()
            .map(|r| (r.file.clone(), r))
            .collect()
    };
    let (a, b) = (by_file(&from.files), by_file(&to.files));
    let jobs: Vec<_> = d
        .objects
        .iter()
        .filter(|o| matches!(o.key.kind.as_str(), "HelmRelease" | "Application"))
        .map(|o| {
            fn pick<'a>(
                m: &'a BTreeMap<String, Release>,
                f: &Option<String>,
            ) -> Option<&'a Release> {
                f.as_ref().and_then(|f| m.get(f))
            }
            (&o.key, pick(&a, &o.file_from), pick(&b, &o.file_to))
        })
        .filter(|(_, x, y)| x.is_some() || y.is_some())
        .collect();
    let outer = &*d;
    let rendered: Vec<crate::diff::RenderedRelease> = jobs
        .par_iter()
        .map(|(key, x, y)| {
            let sides =
                rendered_objects(stage, *x).and_then(|f| Ok((f, rendered_objects(stage, *y)?)));
            match sides {
                Ok((f, t)) => crate::diff::RenderedRelease {
                    release: (*key).clone(),
                    diff: Some(Box::new(crate::diff::rendered_diff(key, &f, &t, outer))),
                    not_rendered: None,
                },
                Err(why) => crate::diff::RenderedRelease {
                    release: (*key).clone(),
                    diff: None,
                    not_rendered: Some(why),
                },
            }
        })
        .collect();
    d.add_rendered(rendered);
}

/// The objects `release` renders to (none without a release), each naming its namespace.
fn rendered_objects(stage: &Stage, release: Option<&Release>) -> Result<Vec<Value>, String> {
    let Some(r) = release else {
        return Ok(Vec::new());
    };
    match render(stage, r) {
        Rendering::NoChart(why) => Err(format!(
            "chart {} {} not rendered: {why}",
            r.chart, r.version
        )),
        Rendering::Failed(e) => Err(format!(
            "helm template of chart {} {} failed: {}",
            r.chart,
            r.version,
            e.lines().next().unwrap_or_default()
        )),
        Rendering::Rendered { manifests, .. } => {
            let objects = crate::rehearse::parse_stream(
                &manifests,
                &r.namespace,
                crate::rehearse::Owner::Gcc,
                &r.patches,
            )?;
            Ok(objects
                .into_iter()
                .map(|o| {
                    let mut body = o.body;
                    if !o.key.namespace.is_empty() {
                        body["metadata"]["namespace"] = Value::String(o.key.namespace.clone());
                    }
                    body
                })
                .collect())
        }
    }
}
