//! Command-line interface: parses arguments, calls the library, prints, picks the exit code.
//!
//! Architecture invariant: no pipeline logic here; each verb is a few lines that call
//! library functions and print what they return.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod build_all;
mod git;
mod rehearse;
mod shim;

use crate::compile::{Build, Compiled, compile};
use crate::diag::{self, Diagnostic, Files};
use crate::load::{Fatal, load};
use crate::report;
use crate::schema::SchemaKind;
use crate::source::{Source, WorkDir};
use crate::validate::validate_tree;

/// Exit code: everything is valid.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: the inputs are invalid (diagnostics say why).
pub(crate) const EXIT_INVALID: u8 = 1;
/// Exit code: usage or I/O error (unknown environment, unreadable directory).
pub(crate) const EXIT_USAGE: u8 = 2;

const EXAMPLES: &str = "\
Examples:
  gcc build prod                  compile environments/prod.yaml into out/prod/
  gcc build prod --format json    the same, with the summary as JSON on stdout
  gcc build prod --commit         ... and commit the tree to the deploy branch gcc/prod
  gcc build prod --source-ref v1  compile the inputs as they are at git revision v1
  gcc build --all                 every environment, in parallel; unchanged ones are skipped
  gcc build --all --commit        ... then publish each to its own deploy branch
  gcc pin prod good               pin the deploy branch tip as gcc/prod/good
  gcc rollback prod --to good     re-publish the pinned build's bytes as a new commit
  gcc verify prod --rebuild       check the tip against its lock and its source commit
  gcc diff prod                   what would change: the deploy branch tip → the working directory
  gcc diff prod --from src:origin/main --to src:HEAD --format markdown   a PR comment
  gcc rehearse prod --charts ../shared/charts   render every release with Helm and check it
  gcc versions prod --format markdown   the component version table for a wiki or PR
  gcc validate out/prod                               check every object against gcc's schemas
  gcc check prod                  check environments/prod.yaml and its inventory
  gcc check prod --format json    the same, one JSON object for CI and editors
  gcc -C ../site-b check aio      run against another checkout
  gcc schema inventory > inventory.schema.json

Exit codes: 0 ok, 1 invalid input or failed verification (diagnostics on stderr),
2 usage, I/O or git error (a publish that lost a race, a dirty source, an unknown pin), or
an input file gcc refuses to read (over 16 MiB, binary, not UTF-8, CRLF, an alias bomb,
nesting deeper than 64).";

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
    /// When to colour diagnostics: auto (a terminal, unless NO_COLOR is set and not empty or
    /// TERM=dumb; FORCE_COLOR or CLICOLOR_FORCE force it), always, never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Colour choice for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour on a terminal (NO_COLOR, TERM=dumb, FORCE_COLOR and CLICOLOR_FORCE honoured).
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl Color {
    /// Whether to colour what goes to `stream`.
    fn on(self, stream: &impl anstream::stream::RawStream) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => auto_color(stream),
        }
    }
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
    /// DHCP/VIP pools, roles against the profile, services and storage; then plans in
    /// memory, so what `build` would refuse (the HA proof, a release with no chart, a
    /// NAS store with no export) is refused here too. Writes nothing.
    #[command(
        after_help = "Examples:\n  gcc check prod                   check environments/prod.yaml and its inventory\n  gcc check prod --format json     the same as one JSON object, for CI and editors\n  gcc -C ../site-b check aio       another checkout"
    )]
    Check(CheckArgs),
    /// Compile an environment (or, with --all, every one) into manifests under out/<ENV>/.
    ///
    /// Runs check, then plans (services and what they require, replicas per profile,
    /// node labels, the HA proof), emits Flux or Argo CD objects (the `target:` of the environment) and writes the tree atomically:
    /// the old tree stays untouched if anything fails. Prints the build id, object
    /// counts, the HA proof and the Secrets the cluster must provide.
    #[command(
        after_help = "Examples:\n  gcc build prod                   write out/prod/ and print the summary\n  gcc build prod --out deploy/prod   another output directory\n  gcc build prod --commit          and publish it on the deploy branch gcc/prod\n  gcc build --all                  every environment, in parallel\n  gcc build --all --validate       ... each tree checked against gcc's schemas first"
    )]
    Build(BuildArgs),
    /// Pin a published build: an annotated tag gcc/<ENV>/<NAME> on its deploy commit.
    ///
    /// Pins the deploy branch tip unless --build or --ref names another build. Flux or
    /// Argo CD may track a pin; `gcc rollback --to <NAME>` returns to it.
    #[command(
        after_help = "Examples:\n  gcc pin prod good                tag the deploy branch tip gcc/prod/good\n  gcc pin prod before-upgrade --build 5f2c9e1a   pin an earlier build by its id"
    )]
    Pin(PinArgs),
    /// List the pins and the recent builds of an environment.
    #[command(after_help = "Examples:\n  gcc pins prod\n  gcc pins prod --format json")]
    Pins(PinsArgs),
    /// Re-publish an earlier build's exact bytes as a new commit on the deploy branch.
    ///
    /// The target is verified against its lock first and refused if anything differs.
    /// History is never rewritten: Flux or Argo CD simply apply the new tip.
    #[command(
        after_help = "Examples:\n  gcc rollback prod --to good      re-publish the pinned build\n  gcc rollback prod --to 5f2c9e1a   or a build by its id"
    )]
    Rollback(RollbackArgs),
    /// Check a deploy commit against its gcc.lock.json (and, with --rebuild, its inputs).
    ///
    /// Recomputes every file hash and the build id. --rebuild also compiles the inputs
    /// at the recorded Source-Commit (from git objects) and compares the trees byte for
    /// byte. Exit 1 lists the files that differ, are missing or are extra.
    #[command(
        after_help = "Examples:\n  gcc verify prod                  the tip against its lock\n  gcc verify prod --rebuild        and against its inputs, rebuilt from the recorded commit"
    )]
    Verify(VerifyArgs),
    /// Compare two builds object by object, with risky changes called out first.
    ///
    /// Each side is a published build (a deploy ref, a pin or a build id), `src:<REV>`
    /// (the inputs at a source revision, compiled from git objects, no checkout), or
    /// `work` (the working directory). For a pull request:
    /// `gcc diff prod --from src:origin/main --to src:HEAD --format markdown`.
    #[command(
        after_help = "Examples:\n  gcc diff prod                    the deploy branch tip -> the working directory\n  gcc diff prod --from src:origin/main --to src:HEAD --format markdown   a PR comment\n  gcc diff prod --from good --exit-code   exit 1 when anything differs from the pin\n  gcc diff --all --from src:origin/main --to src:HEAD   every environment, one summary\n  gcc diff prod --from src:origin/main --to src:HEAD --rendered --charts ../charts   what the charts render\n  gcc diff prod --from src:origin/main --to src:HEAD --format markdown --comment-id prod --max-bytes 60000   one comment, updated per push"
    )]
    Diff(DiffArgs),
    /// Render every release with real Helm against its pinned chart, and check the result.
    ///
    /// Builds the environment in memory (or reads --tree), composes each HelmRelease's or
    /// Application's values as its controller does (Secrets become placeholders), runs
    /// `helm template` with the chart from --charts, and reports what would not come up: a
    /// pod waiting for a Job, Service, DaemonSet or pod nothing renders, an object with two
    /// owners, a values path the chart does not have, an Argo CD placeholder Helm mangled.
    /// Releases whose chart is not in the directory are listed as not rehearsed.
    #[command(
        after_help = "Examples:\n  gcc rehearse prod --charts ../shared/charts\n  gcc rehearse prod --charts ../shared/charts --schemas ../shared/schemas --format json"
    )]
    Rehearse(rehearse::RehearseArgs),
    /// Print the component version table: release, chart version and images.
    #[command(
        after_help = "Examples:\n  gcc versions prod\n  gcc versions prod --format markdown   for a wiki page or a PR"
    )]
    Versions(VersionsArgs),
    /// Draw where the quorum members run: racks, machines, oVirt hosts, VMs and nodes.
    ///
    /// Each member of MariaDB, RabbitMQ, PostgreSQL, memcached, OVN central and etcd is
    /// marked on the node the HA proof puts it, and under each machine what its loss
    /// leaves of every quorum. When the proof fails (profile base), the picture is still
    /// drawn: the machine whose loss breaks a quorum is red, with the members it shares,
    /// and gcc exits 1. SVG is drawn by gcc (no Graphviz needed; `gcc build` writes the
    /// same picture to site/placement.svg); dot is for Graphviz; json for tools.
    #[command(after_help = "Examples:
  gcc graph prod > placement.svg
  gcc graph prod --format dot | dot -Tpng -o placement.png
  gcc graph prod --format json | jq .quorums")]
    Graph(GraphArgs),
    /// Say where each value of an emitted object comes from, layer by layer.
    ///
    /// The object is `kind/namespace/name` (`kind/name` when cluster-scoped) or its file in
    /// the tree; the field a dotted path (or a prefix of one). For a release's Helm values
    /// each field names the layer that set it and every layer it overrode: the catalog
    /// (file and line), a profile rule, the inventory, the environment's `values`
    /// (file:line:col) or a plan decision with its inputs. Without a field, one line per
    /// leaf of the object.
    #[command(after_help = "Examples:
  gcc explain prod HelmRelease/openstack/nova spec.values.pod.replicas.api
  gcc explain prod HelmRelease/openstack/nova spec.values.conf.nova.DEFAULT
  gcc explain prod 5-services/openstack/helmrelease-keystone.yaml
  gcc explain prod HelmRelease/openstack/nova --format json")]
    Explain(ExplainArgs),
    /// Validate every object of a rendered tree against JSON Schemas.
    ///
    /// Without --schemas, against the schemas compiled into gcc (every kind it writes, at
    /// the versions the catalog pins). A schema directory uses the kubeconform/datree
    /// layout: `kubernetes/<version>-standalone-strict/` for built-in kinds,
    /// `<group>/<kind>_<version>.json` for CRDs.
    #[command(
        after_help = "Examples:\n  gcc validate out/prod\n  gcc validate out/prod --schemas ../shared/schemas\n  gcc validate out/prod --format json | jq .violations"
    )]
    Validate(ValidateArgs),
    /// Print the JSON Schema of an input file (for editors and yaml-language-server).
    #[command(
        after_help = "Examples:\n  gcc schema inventory > schema/inventory.schema.json\n  gcc schema environment > schema/environment.schema.json"
    )]
    Schema(SchemaArgs),
    /// Print this tool's version: package, source commit, compiler and catalog digest.
    ///
    /// `gcc --version` prints the package version alone; where another gcc (the GNU C
    /// compiler) is on PATH, a bare `gcc --version` is a build system's probe and goes to
    /// it, so scripts that mean this tool use `gcc version`.
    #[command(
        after_help = "Examples:\n  gcc version\n  gcc version --format json | jq -r .git_commit"
    )]
    Version(VersionArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(
        after_help = "Examples:\n  gcc completions bash > ~/.local/share/bash-completion/completions/gcc\n  gcc completions zsh > ~/.zfunc/_gcc\n  gcc completions fish > ~/.config/fish/completions/gcc.fish"
    )]
    Completions(CompletionsArgs),
    /// Print a man page (roff): gcc(1), or gcc-<command>(1) for one command.
    #[command(
        after_help = "Examples:\n  gcc man > ~/.local/share/man/man1/gcc.1\n  gcc man build > ~/.local/share/man/man1/gcc-build.1\n  gcc man | man -l -"
    )]
    Man(ManArgs),
    /// Start a new input repository: the all-in-one example, the input schemas editors
    /// read, .gitattributes, .gitignore and a CI workflow. Writes nothing if any exists.
    #[command(
        after_help = "Examples:\n  gcc init my-cloud    # then: cd my-cloud && git init && gcc build aio\n  gcc init             # into the current directory"
    )]
    Init(InitArgs),
}

/// `gcc check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Environment name: environments/<ENV>.yaml.
    pub env: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `gcc build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Environment name: environments/<ENV>.yaml.
    #[arg(required_unless_present = "all")]
    pub env: Option<String>,
    /// Build every environments/*.yaml, in parallel; one failing environment does not
    /// stop the others. Skips environments whose inputs are unchanged since the build
    /// in their output directory (same input digests and gcc version in its
    /// gcc.lock.json, tree intact), unless --force.
    /// With --commit, each built or up-to-date environment is then published to its
    /// own deploy branch.
    #[arg(long, conflicts_with_all = ["env", "source_ref", "branch"])]
    pub all: bool,
    /// With --all: rebuild every environment, even an up-to-date one.
    #[arg(long, requires = "all")]
    pub force: bool,
    /// With --all: how many environments to build at once (default: one per core).
    #[arg(long, short = 'j', value_name = "N", requires = "all")]
    pub jobs: Option<usize>,
    /// Output directory (default: out/<ENV> under the root). With --all, the
    /// directory that holds one <ENV>/ per environment (default: out).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Validate every object against the schemas compiled into gcc (or --schemas) before
    /// the tree is written, as `gcc validate` does; a violation writes nothing (exit 1).
    /// With --all, up-to-date trees are validated too.
    #[arg(long)]
    pub validate: bool,
    /// With --validate: a schema directory laid out like kubeconform's instead of the
    /// schemas compiled into gcc (see `gcc validate --help`).
    #[arg(long, value_name = "DIR", requires = "validate")]
    pub schemas: Option<PathBuf>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Compile the inputs as they are at this git revision, read from the object
    /// database (no checkout; the work tree is not looked at).
    #[arg(long, value_name = "REV")]
    pub source_ref: Option<String>,
    /// Also commit the output tree to the deploy branch (see `gcc pins`). Refused
    /// when the inputs have uncommitted changes, unless --allow-dirty.
    #[arg(long)]
    pub commit: bool,
    /// With --commit: publish uncommitted inputs; the commit says `Source-Dirty: true`.
    #[arg(long, requires = "commit")]
    pub allow_dirty: bool,
    /// With --commit: the repository holding the deploy branch (default: the
    /// repository of the inputs).
    #[arg(long, value_name = "PATH", requires = "commit")]
    pub repo: Option<PathBuf>,
    /// With --commit: the deploy branch (default: publish.branch, else gcc/<ENV>).
    #[arg(long, value_name = "NAME", requires = "commit")]
    pub branch: Option<String>,
}

/// `gcc pin`.
#[derive(Debug, Args)]
pub struct PinArgs {
    /// Environment name.
    pub env: String,
    /// Pin name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// The build to pin, by build id (at least 7 hex digits).
    #[arg(long, value_name = "ID", conflicts_with = "git_ref")]
    pub build: Option<String>,
    /// The build to pin, by git revision of the deploy commit.
    #[arg(long = "ref", value_name = "REV")]
    pub git_ref: Option<String>,
    /// Move an existing pin.
    #[arg(long)]
    pub force: bool,
    /// Where the deploy branch is.
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `gcc pins`.
#[derive(Debug, Args)]
pub struct PinsArgs {
    /// Environment name.
    pub env: String,
    /// How many recent builds to show.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Where the deploy branch is.
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `gcc rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Environment name.
    pub env: String,
    /// A pin name, a build id (7+ hex digits) or a deploy commit.
    #[arg(long, value_name = "TARGET")]
    pub to: String,
    /// Where the deploy branch is.
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `gcc verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Environment name.
    pub env: String,
    /// The deploy commit (a pin, build id or revision; default: the branch tip).
    #[arg(long = "ref", value_name = "REV")]
    pub git_ref: Option<String>,
    /// Also rebuild from the source commit and compare.
    #[arg(long)]
    pub rebuild: bool,
    /// Where the deploy branch is.
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `gcc diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Environment name.
    #[arg(required_unless_present = "all")]
    pub env: Option<String>,
    /// Diff every environment either side holds, one section each, and one summary line;
    /// one that is new or removed shows everything it adds or removes, one never
    /// published is compared with nothing.
    #[arg(long, conflicts_with_all = ["env", "branch"])]
    pub all: bool,
    /// The old side (default: the deploy branch tip).
    #[arg(long, value_name = "REF")]
    pub from: Option<String>,
    /// The new side.
    #[arg(long, value_name = "REF", default_value = "work")]
    pub to: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Exit 1 when anything differs (0 when identical, 2 on error).
    #[arg(long)]
    pub exit_code: bool,
    /// Also render every differing HelmRelease or Application on both sides with Helm
    /// (as `gcc rehearse` does) and diff what they render to: Deployments, ConfigMaps,
    /// Jobs, with the same field paths and risk rules. A release whose chart is not in
    /// the chart directory is marked not rendered.
    #[arg(long)]
    pub rendered: bool,
    /// With --rendered: the chart directory (default: charts/ under the root), as for
    /// `gcc rehearse`.
    #[arg(long, value_name = "DIR", requires = "rendered")]
    pub charts: Option<PathBuf>,
    /// With --rendered: the Helm binary.
    #[arg(long, value_name = "PATH", default_value = "helm")]
    pub helm: PathBuf,
    /// With --format markdown: the comment's heading (default: `gcc diff <ENV>`).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// With --format markdown: a hidden marker `<!-- gcc-diff:<ID> -->` on the first line,
    /// so a CI step can find and update its comment instead of adding one per push
    /// (letters, digits, `.`, `_`, `-`).
    #[arg(long, value_name = "ID", value_parser = comment_id)]
    pub comment_id: Option<String>,
    /// With --format markdown: the most bytes the whole comment may take (risks
    /// included); what does not fit is counted in a closing line.
    #[arg(long, value_name = "N", default_value_t = crate::diff::MARKDOWN_MAX_BYTES,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1024..))]
    pub max_bytes: usize,
    /// Where the deploy branch is.
    #[command(flatten)]
    pub deploy: DeployArgs,
}

/// Parses `--comment-id`.
fn comment_id(s: &str) -> Result<String, String> {
    if crate::diff::valid_comment_id(s) {
        Ok(s.to_string())
    } else {
        Err("use letters, digits, `.`, `_` and `-` (no `--`), at most 100".into())
    }
}

/// `gcc versions`.
#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// Environment name: environments/<ENV>.yaml.
    pub env: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
}

/// `gcc explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Environment name: environments/<ENV>.yaml.
    pub env: String,
    /// The object: kind/namespace/name, kind/name, or its file in the tree.
    pub object: String,
    /// A field of it, as a dotted path (or a prefix of one).
    pub field: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `gcc graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Environment name: environments/<ENV>.yaml.
    pub env: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Svg)]
    pub format: GraphFormat,
}

/// What `gcc graph` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// SVG, drawn by gcc.
    Svg,
    /// Graphviz dot.
    Dot,
    /// The placement as JSON.
    Json,
}

/// `gcc validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The rendered tree (for example out/prod).
    pub dir: PathBuf,
    /// Directory of JSON Schemas (kubeconform/datree layout). Without it, the schemas
    /// compiled into gcc: every kind it writes, at the versions the catalog pins.
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `gcc schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema.
    #[arg(value_enum)]
    pub kind: SchemaArg,
}

/// `gcc completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `gcc init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory (created if missing), relative to -C (default: that directory).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// `gcc man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// A command (build, diff, ...); without it, gcc's own page.
    pub command: Option<String>,
}

/// `gcc version`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Where an environment's deploy branch lives.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// The repository holding the deploy branch (default: the repository of the inputs).
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// The deploy branch (default: the environment's publish.branch, else gcc/<ENV>).
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
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

/// Output format of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// For a terminal: coloured when stdout is one (honours NO_COLOR and --color).
    Text,
    /// For a pull-request comment: summary table, risks, one <details> per object.
    Markdown,
    /// For machines: the shape documented in README.md.
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
    // A C compiler's call, made to this binary because it is named gcc: hand it on.
    let command = <Cli as clap::CommandFactory>::command();
    let verbs: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
    if let Some(code) = shim::forward(&verbs) {
        return ExitCode::from(code);
    }
    // The command built above parses too (building it is a visible part of a short run).
    let parsed = command.try_get_matches().and_then(|mut m| {
        <Cli as clap::FromArgMatches>::from_arg_matches_mut(&mut m)
            .map_err(|e| e.format(&mut <Cli as clap::CommandFactory>::command()))
    });
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    ExitCode::from(run(&cli))
}

/// `--color auto` for a stream: anstream's detection (NO_COLOR set and not empty turns
/// colour off, CLICOLOR_FORCE on, TERM=dumb off, else colour on a terminal), plus
/// FORCE_COLOR (set and not empty) to force it, as force-color.org asks.
fn auto_color(stream: &impl anstream::stream::RawStream) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("FORCE_COLOR") && !set("NO_COLOR") {
        return true;
    }
    !matches!(
        anstream::AutoStream::choice(stream),
        anstream::ColorChoice::Never
    )
}

/// Runs one parsed command and returns its exit code.
pub fn run(cli: &Cli) -> u8 {
    let color = cli.color.on(&std::io::stderr());
    let ctx = |format: Format| Ctx { cli, format, color };
    match &cli.command {
        Command::Check(a) => cmd_check(&ctx(a.format), a),
        Command::Build(a) if a.all => build_all::cmd_build_all(&ctx(a.format), a),
        Command::Build(a) => git::cmd_build(&ctx(a.format), a),
        Command::Pin(a) => git::cmd_pin(&ctx(a.format), a),
        Command::Pins(a) => git::cmd_pins(&ctx(a.format), a),
        Command::Rollback(a) => git::cmd_rollback(&ctx(a.format), a),
        Command::Verify(a) => git::cmd_verify(&ctx(a.format), a),
        Command::Diff(a) => {
            let f = if a.format == DiffFormat::Json {
                Format::Json
            } else {
                Format::Text
            };
            let paint = cli.color.on(&std::io::stdout());
            git::cmd_diff(&ctx(f), a, paint)
        }
        Command::Rehearse(a) => rehearse::cmd_rehearse(&ctx(a.format), a),
        Command::Versions(a) => cmd_versions(&ctx(Format::Text), a),
        Command::Graph(a) => cmd_graph(&ctx(Format::Text), a),
        Command::Explain(a) => cmd_explain(&ctx(a.format), a),
        Command::Validate(a) => cmd_validate(a),
        Command::Schema(a) => {
            let kind = match a.kind {
                SchemaArg::Inventory => SchemaKind::Inventory,
                SchemaArg::Environment => SchemaKind::Environment,
            };
            out(kind.text());
            EXIT_OK
        }
        Command::Completions(a) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(a.shell, &mut command, "gcc", &mut script);
            out(&String::from_utf8_lossy(&script));
            EXIT_OK
        }
        // Relative to -C, as every other path gcc reads.
        Command::Init(a) => match crate::ops::init::init(&cli.root.join(&a.dir)) {
            Ok(crate::ops::init::Init::Written(files)) => {
                out(&format!(
                    "wrote {} files to {}: {}\nnext: cd {} && git init && gcc build aio\n",
                    files.len(),
                    a.dir.display(),
                    files.join(", "),
                    a.dir.display()
                ));
                EXIT_OK
            }
            Ok(crate::ops::init::Init::Exists(files)) => {
                err(&format!(
                    "gcc init: {} already holds {}; nothing written (gcc never changes a file it did not write)\n",
                    a.dir.display(),
                    files.join(", ")
                ));
                EXIT_USAGE
            }
            Err(e) => {
                err(&format!("gcc init: {e}; nothing left behind\n"));
                EXIT_USAGE
            }
        },
        Command::Man(a) => {
            let top = <Cli as clap::CommandFactory>::command();
            let (page, title) = match &a.command {
                None => (top, "gcc".to_string()),
                Some(name) => match top.find_subcommand(name) {
                    Some(c) => (
                        c.clone().bin_name(format!("gcc {name}")),
                        format!("gcc-{name}"),
                    ),
                    None => {
                        let known: Vec<String> = top
                            .get_subcommands()
                            .map(|c| c.get_name().to_string())
                            .collect();
                        err(&format!(
                            "gcc man: no command `{name}` (commands: {})\n",
                            known.join(", ")
                        ));
                        return EXIT_USAGE;
                    }
                },
            };
            let mut roff = Vec::new();
            let man = clap_mangen::Man::new(page)
                .title(title)
                .source(format!("gcc {}", env!("CARGO_PKG_VERSION")));
            match man.render(&mut roff) {
                Ok(()) => {
                    out(&String::from_utf8_lossy(&roff));
                    EXIT_OK
                }
                Err(e) => {
                    err(&format!("gcc man: {e}\n"));
                    EXIT_USAGE
                }
            }
        }
        Command::Version(a) => {
            let v = crate::report::version();
            match a.format {
                Format::Json => out(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                )),
                Format::Text => out(&format!(
                    "gcc {} (the GitOps Cloud Compiler)\ncommit {}\n{}\nsource {}\nbuild {}\ncatalog {}\n",
                    v.version, v.git_commit, v.rustc, v.source_digest, v.build, v.catalog_digest
                )),
            }
            EXIT_OK
        }
    }
}

fn cmd_check(ctx: &Ctx<'_>, a: &CheckArgs) -> u8 {
    let (env, format, color) = (a.env.as_str(), ctx.format, ctx.color);
    let source = WorkDir::new(&ctx.cli.root);
    let loaded = match load(&source, env) {
        Ok(l) => l,
        Err(Fatal(d)) => return report_fatal(&d, format, color),
    };
    let crate::compile::Vetted {
        model, diagnostics, ..
    } = crate::compile::vet(&loaded);
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
                let others = if inv.machines.is_empty() {
                    String::new()
                } else {
                    format!(", {}", count(inv.machines.len(), "other machine"))
                };
                out(&format!(
                    "{env}: ok (profile {profile}, inventory {}: {} on {}{others}, {}, {})\n",
                    inv.name,
                    count(inv.nodes.len(), "node"),
                    count(machines.len(), "physical machine"),
                    count(inv.subnets.len(), "subnet"),
                    count(m.env.services.len(), "service"),
                ));
            }
        }
    }
    if model.is_some() {
        EXIT_OK
    } else {
        invalid_exit(&diagnostics)
    }
}

/// Compiles `env`; on failure prints the diagnostics and returns the exit code.
fn compile_or_report(
    source: &dyn Source,
    env: &str,
    format: Format,
    color: bool,
) -> Result<(Compiled, Build), u8> {
    let mut compiled = match compile(source, env) {
        Ok(c) => c,
        Err(Fatal(d)) => return Err(report_fatal(&d, format, color)),
    };
    match compiled.build.take() {
        Some(build) => {
            if format == Format::Text {
                print_warnings(&compiled, color);
            }
            Ok((compiled, build))
        }
        None => Err(print_invalid(&compiled, format, color)),
    }
}

/// Prints, on stderr, the warnings of inputs that compiled (JSON carries them in its
/// report instead).
fn print_warnings(compiled: &Compiled, color: bool) {
    err(&diag::render_text(
        &compiled.loaded.files,
        &compiled.diagnostics,
        color,
    ));
}

/// Prints diagnostics that refer to no input file; returns the exit code.
fn print_diagnostics(diags: &[Diagnostic], format: Format, color: bool) -> u8 {
    let files = Files::default();
    match format {
        Format::Json => out(&format!("{}\n", diag::report_json(&files, diags))),
        Format::Text => err(&diag::render_text(&files, diags, color)),
    }
    invalid_exit(diags)
}

/// Prints the diagnostics of inputs that did not compile; returns the exit code.
fn print_invalid(compiled: &Compiled, format: Format, color: bool) -> u8 {
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
    invalid_exit(&compiled.diagnostics)
}

/// Exit code of inputs with errors: 2 when one is refused outright (a file gcc will not
/// read, a name that is a path: [`crate::codes::Class::Refused`]), else 1.
fn invalid_exit(diags: &[Diagnostic]) -> u8 {
    if crate::codes::refused(diags) {
        EXIT_USAGE
    } else {
        EXIT_INVALID
    }
}

fn cmd_versions(ctx: &Ctx<'_>, a: &VersionsArgs) -> u8 {
    let format = a.format;
    let f = if format == TableFormat::Json {
        Format::Json
    } else {
        Format::Text
    };
    let (_, build) = match compile_or_report(&WorkDir::new(&ctx.cli.root), &a.env, f, ctx.color) {
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

/// `gcc graph`: the picture on stdout, diagnostics on stderr; exit 1 (picture drawn) when
/// the HA proof or anything else refuses the environment.
fn cmd_graph(ctx: &Ctx<'_>, a: &GraphArgs) -> u8 {
    let source = WorkDir::new(&ctx.cli.root);
    let loaded = match load(&source, &a.env) {
        Ok(l) => l,
        Err(Fatal(d)) => return report_fatal(&d, Format::Text, ctx.color),
    };
    let vetted = crate::compile::vet(&loaded);
    err(&diag::render_text(
        &loaded.files,
        &vetted.diagnostics,
        ctx.color,
    ));
    if let Some(p) = &vetted.placement {
        let format = match a.format {
            GraphFormat::Svg => crate::graph::Format::Svg,
            GraphFormat::Dot => crate::graph::Format::Dot,
            GraphFormat::Json => crate::graph::Format::Json,
        };
        out(&crate::graph::draw(p, format));
    }
    if vetted.plan.is_some() {
        EXIT_OK
    } else {
        invalid_exit(&vetted.diagnostics)
    }
}

/// `gcc explain`: the explanation on stdout; an environment that does not build gets its
/// diagnostics (exit 1), an unknown object or field exit 2.
fn cmd_explain(ctx: &Ctx<'_>, a: &ExplainArgs) -> u8 {
    let source = WorkDir::new(&ctx.cli.root);
    let result = match crate::explain::explain(&source, &a.env, &a.object, a.field.as_deref()) {
        Ok(r) => r,
        Err(Fatal(d)) => return report_fatal(&d, ctx.format, ctx.color),
    };
    match result {
        Ok(e) => {
            match ctx.format {
                Format::Json => out(&format!("{}\n", serde_json::json!(e))),
                Format::Text => out(&crate::explain::text(&e, a.field.is_some())),
            }
            EXIT_OK
        }
        Err(crate::explain::Refusal::Invalid(diags, loaded)) => {
            match ctx.format {
                Format::Json => out(&format!("{}\n", diag::report_json(&loaded.files, &diags))),
                Format::Text => err(&diag::render_text(&loaded.files, &diags, ctx.color)),
            }
            invalid_exit(&diags)
        }
        Err(crate::explain::Refusal::NotFound(msg)) => {
            err(&format!("error: {msg}\n"));
            EXIT_USAGE
        }
    }
}

fn cmd_validate(a: &ValidateArgs) -> u8 {
    let (dir, format) = (a.dir.as_path(), a.format);
    let store = match &a.schemas {
        Some(d) => crate::validate::Store::Dir(d.clone()),
        None => crate::validate::Store::Embedded,
    };
    let report = match validate_tree(dir, &store) {
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

/// What every verb needs: the global options and the chosen output.
struct Ctx<'a> {
    cli: &'a Cli,
    format: Format,
    color: bool,
}

impl Ctx<'_> {
    /// Prints one diagnostic (text on stderr, JSON on stdout) and returns `code`.
    fn fail(&self, d: &Diagnostic, code: u8) -> u8 {
        report_fatal(d, self.format, self.color);
        code
    }
}

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
    print_diagnostics(std::slice::from_ref(d), format, color);
    EXIT_USAGE
}

#[cfg(test)]
mod help_tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_verb_has_examples_and_each_parses() {
        // Each `gcc ...` line of a verb's examples (up to a pipe or redirect) is an
        // invocation the parser accepts: examples cannot rot into wrong flags.
        let top = Cli::command();
        let mut checked = 0;
        for verb in top.get_subcommands() {
            let help = verb
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            let examples: Vec<&str> = help
                .lines()
                .filter_map(|l| l.trim_start().strip_prefix("gcc "))
                .collect();
            assert!(
                !examples.is_empty(),
                "`gcc {}` has no examples",
                verb.get_name()
            );
            for e in examples {
                let e = e.split(['|', '>']).next().unwrap_or(e);
                // The command part ends where two spaces start the comment.
                let e = e.split("  ").next().unwrap_or(e);
                let args = std::iter::once("gcc").chain(e.split_whitespace());
                if let Err(err) = Cli::try_parse_from(args) {
                    panic!("example `gcc {e}` does not parse: {err}");
                }
                checked += 1;
            }
        }
        assert!(checked >= 25, "only {checked} examples");
    }
}
