//! Command-line interface: parses arguments, calls the library, prints, picks the exit code.
//!
//! Architecture invariant: no pipeline logic here; each verb is a few lines that call
//! library functions and print what they return.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::check::{Checked, check};
use crate::compile::{Build, Compiled, compile};
use crate::diag::{self, Diagnostic, Files};
use crate::load::{Fatal, load};
use crate::render::write_tree;
use crate::report;
use crate::schema::SchemaKind;
use crate::source::WorkDir;
use crate::validate::validate_tree;

/// Exit code: everything is valid.
pub const EXIT_OK: u8 = 0;
/// Exit code: the inputs are invalid (diagnostics say why).
pub const EXIT_INVALID: u8 = 1;
/// Exit code: usage or I/O error (unknown environment, unreadable directory).
pub const EXIT_USAGE: u8 = 2;

const EXAMPLES: &str = "\
Examples:
  gcc build prod                  compile environments/prod.yaml into out/prod/
  gcc build prod --format json    the same, with the summary as JSON on stdout
  gcc versions prod --format markdown   the component version table for a wiki or PR
  gcc validate out/prod --schemas ../shared/schemas   check every object against upstream schemas
  gcc check prod                  check environments/prod.yaml and its inventory
  gcc check prod --format json    the same, one JSON object for CI and editors
  gcc -C ../site-b check aio      run against another checkout
  gcc schema inventory > inventory.schema.json

Exit codes: 0 valid, 1 invalid input (diagnostics on stderr), 2 usage or I/O error.";

/// gcc, the GitOps Cloud Compiler: inventory + environment in, Kubernetes manifests out.
#[derive(Debug, Parser)]
#[command(name = "gcc", version, after_help = EXAMPLES)]
#[command(long_about = "gcc, the GitOps Cloud Compiler.\n\n\
Reads environments/<env>.yaml and the inventory it names (inventory/<name>.yaml, or every \
YAML file under inventory/<name>/), checks them, and compiles them into Kubernetes \
manifests that Flux or Argo CD apply. gcc never talks to a cluster.")]
pub struct Cli {
    /// Directory holding environments/ and inventory/ (default: the current directory).
    #[arg(
        short = 'C',
        long = "root",
        global = true,
        value_name = "DIR",
        default_value = "."
    )]
    pub root: PathBuf,
    /// When to colour diagnostics: auto (a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Colour choice for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour on a terminal, unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Output format of a verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: diagnostics rendered like rustc, on stderr.
    Text,
    /// For machines: one JSON object on stdout (documented in README.md).
    Json,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load and check an environment and its inventory; report every problem at once.
    ///
    /// Checks the YAML itself (duplicate keys, tabs, alias bombs, YAML 1.1 booleans and
    /// octals), the schema (unknown keys, types), references, addresses, MACs, subnets,
    /// DHCP/VIP pools, roles against the profile, services and storage.
    Check {
        /// Environment name: environments/<ENV>.yaml.
        env: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Compile an environment into Kubernetes manifests under out/<ENV>/.
    ///
    /// Runs check, then plans (services and what they require, replicas per profile,
    /// node labels, the HA proof), emits Flux objects and writes the tree atomically:
    /// the old tree stays untouched if anything fails. Prints the build id, object
    /// counts, the HA proof and the Secrets the cluster must provide.
    Build {
        /// Environment name: environments/<ENV>.yaml.
        env: String,
        /// Output directory (default: out/<ENV> under the root).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Output format of the summary.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the component version table: release, chart version and images.
    Versions {
        /// Environment name: environments/<ENV>.yaml.
        env: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TableFormat::Text)]
        format: TableFormat,
    },
    /// Validate every object of a rendered tree against JSON Schemas.
    ///
    /// The schema directory uses the kubeconform/datree layout: kubernetes/<version>-
    /// standalone-strict/ for built-in kinds, <group>/<kind>_<version>.json for CRDs.
    Validate {
        /// The rendered tree (for example out/prod).
        dir: PathBuf,
        /// Directory of JSON Schemas.
        #[arg(long, value_name = "DIR")]
        schemas: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the JSON Schema of an input file (for editors and yaml-language-server).
    Schema {
        /// Which schema.
        #[arg(value_enum)]
        kind: SchemaArg,
    },
}

/// Output format of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// Aligned columns.
    Text,
    /// A markdown table.
    Markdown,
    /// A JSON array.
    Json,
}

/// Which input schema to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaArg {
    /// inventory/<name>.yaml
    Inventory,
    /// environments/<name>.yaml
    Environment,
}

/// Runs the CLI with the process arguments.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    ExitCode::from(run(&cli))
}

/// Runs one parsed command and returns its exit code.
pub fn run(cli: &Cli) -> u8 {
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    match &cli.command {
        Command::Check { env, format } => cmd_check(cli, env, *format, color),
        Command::Build { env, out, format } => cmd_build(cli, env, out.as_deref(), *format, color),
        Command::Versions { env, format } => cmd_versions(cli, env, *format, color),
        Command::Validate {
            dir,
            schemas,
            format,
        } => cmd_validate(dir, schemas, *format),
        Command::Schema { kind } => {
            let kind = match kind {
                SchemaArg::Inventory => SchemaKind::Inventory,
                SchemaArg::Environment => SchemaKind::Environment,
            };
            out(kind.text());
            EXIT_OK
        }
    }
}

fn cmd_check(cli: &Cli, env: &str, format: Format, color: bool) -> u8 {
    let source = WorkDir::new(&cli.root);
    let loaded = match load(&source, env) {
        Ok(l) => l,
        Err(Fatal(d)) => return report_fatal(&d, format, color),
    };
    let Checked { model, diagnostics } = check(&loaded);
    match format {
        Format::Json => {
            out(&format!(
                "{}\n",
                diag::report_json(&loaded.files, &diagnostics)
            ));
        }
        Format::Text => {
            err(&diag::render_text(&loaded.files, &diagnostics, color));
            if let Some(m) = &model {
                let inv = &m.inventory;
                let machines: std::collections::BTreeSet<&str> =
                    inv.failure_domains().into_values().collect();
                let profile = m.env.profile.as_str();
                out(&format!(
                    "{env}: ok (profile {profile}, inventory {}: {}, {}, {}, {})\n",
                    inv.name,
                    count(inv.nodes.len(), "node"),
                    count(machines.len(), "machine"),
                    count(inv.subnets.len(), "subnet"),
                    count(m.env.services.len(), "service"),
                ));
            }
        }
    }
    if model.is_some() {
        EXIT_OK
    } else {
        EXIT_INVALID
    }
}

/// Compiles `env`; on failure prints the diagnostics and returns the exit code.
fn compile_or_report(
    cli: &Cli,
    env: &str,
    format: Format,
    color: bool,
) -> Result<(Compiled, Build), u8> {
    let source = WorkDir::new(&cli.root);
    let mut compiled = match compile(&source, env) {
        Ok(c) => c,
        Err(Fatal(d)) => return Err(report_fatal(&d, format, color)),
    };
    match compiled.build.take() {
        Some(build) => {
            if format == Format::Text {
                err(&diag::render_text(
                    &compiled.loaded.files,
                    &compiled.diagnostics,
                    color,
                ));
            }
            Ok((compiled, build))
        }
        None => {
            match format {
                Format::Json => out(&format!(
                    "{}\n",
                    diag::report_json(&compiled.loaded.files, &compiled.diagnostics)
                )),
                Format::Text => err(&diag::render_text(
                    &compiled.loaded.files,
                    &compiled.diagnostics,
                    color,
                )),
            }
            Err(EXIT_INVALID)
        }
    }
}

fn cmd_build(cli: &Cli, env: &str, out_dir: Option<&Path>, format: Format, color: bool) -> u8 {
    let (compiled, build) = match compile_or_report(cli, env, format, color) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let dir = out_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cli.root.join("out").join(env));
    if let Err(e) = write_tree(&dir, &build.rendered.files) {
        let d = Diagnostic::error(WRITE_FAILED, format!("cannot write {}: {e}", dir.display()))
            .help("nothing was changed in the output directory; fix the path or its permissions and build again");
        return report_fatal(&d, format, color);
    }
    let shown = dir.display().to_string();
    match format {
        Format::Json => {
            let mut v = report::summary_json(&build.plan, &build.rendered, &shown);
            v["diagnostics"] =
                diag::report_json(&compiled.loaded.files, &compiled.diagnostics)["diagnostics"]
                    .clone();
            out(&format!("{v}\n"));
        }
        Format::Text => out(&report::summary_text(&build.plan, &build.rendered, &shown)),
    }
    EXIT_OK
}

fn cmd_versions(cli: &Cli, env: &str, format: TableFormat, color: bool) -> u8 {
    let f = if format == TableFormat::Json {
        Format::Json
    } else {
        Format::Text
    };
    let (_, build) = match compile_or_report(cli, env, f, color) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let rows = report::versions(&build.plan);
    match format {
        TableFormat::Text => out(&report::versions_text(&rows)),
        TableFormat::Markdown => out(&report::versions_markdown(&rows)),
        TableFormat::Json => out(&format!("{}\n", serde_json::json!(rows))),
    }
    EXIT_OK
}

fn cmd_validate(dir: &Path, schemas: &Path, format: Format) -> u8 {
    let report = match validate_tree(dir, schemas) {
        Ok(r) => r,
        Err(e) => {
            err(&format!("error: {e}\n"));
            return EXIT_USAGE;
        }
    };
    match format {
        Format::Json => out(&format!("{}\n", serde_json::json!(report))),
        Format::Text => {
            for v in &report.violations {
                err(&format!(
                    "{}: {} at `{}`: {}\n",
                    v.file, v.object, v.path, v.message
                ));
            }
            for (k, files) in &report.unvalidated {
                err(&format!(
                    "warning: no schema for {k} ({}, e.g. {})
",
                    count(files.len(), "object"),
                    files[0]
                ));
            }
            out(&format!(
                "{}: {} objects validated, {} violations, {} without a schema\n",
                dir.display(),
                report.validated,
                report.violations.len(),
                report.unvalidated.values().map(Vec::len).sum::<usize>()
            ));
        }
    }
    if report.violations.is_empty() {
        EXIT_OK
    } else {
        EXIT_INVALID
    }
}

/// Code: the output tree could not be written.
pub const WRITE_FAILED: &str = "gcc::build::write_failed";

/// Writes to stdout; a closed pipe (`gcc ... | head`) is not an error worth a panic.
fn out(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// Writes to stderr, ignoring a closed pipe.
fn err(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// `1 node`, `3 nodes`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn report_fatal(d: &Diagnostic, format: Format, color: bool) -> u8 {
    let files = Files::default();
    match format {
        Format::Json => out(&format!(
            "{}\n",
            diag::report_json(&files, std::slice::from_ref(d))
        )),
        Format::Text => err(&diag::render_text(&files, std::slice::from_ref(d), color)),
    }
    EXIT_USAGE
}
