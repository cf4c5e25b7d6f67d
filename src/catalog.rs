//! The service catalog: which components gcc knows how to deploy, and with what.
//!
//! The data lives in `catalog/*.yaml`, compiled into the binary. Every fact there comes
//! from `../shared/reference/` (Genestack's own charts, versions, secrets and
//! conventions); `tests/catalog.rs` cross-checks the two. The check stage uses the
//! service names; the plan stage uses the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// True when `name` is a service an environment may enable under `services:`.
pub(crate) fn is_service(name: &str) -> bool {
    Catalog::get().services.contains_key(name)
}

/// The embedded catalog sources, by file name (hashed into every build's lock).
pub(crate) const SOURCES: [(&str, &str); 4] = [
    (
        "catalog/infrastructure.yaml",
        include_str!("../catalog/infrastructure.yaml"),
    ),
    (
        "catalog/releases.yaml",
        include_str!("../catalog/releases.yaml"),
    ),
    (
        "catalog/services.yaml",
        include_str!("../catalog/services.yaml"),
    ),
    (
        "catalog/templates/skyline/deployment.yaml",
        include_str!("../catalog/templates/skyline/deployment.yaml"),
    ),
];

/// The text of a chart template gcc ships (`templates/...`, under `catalog/`).
pub fn template(name: &str) -> Option<&'static str> {
    SOURCES
        .iter()
        .find(|(file, _)| file.strip_prefix("catalog/") == Some(name))
        .map(|(_, text)| *text)
}

/// One MariaDB database a service owns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// Object name (`nova-api`).
    pub name: String,
    /// Database name in MariaDB (`nova_api`).
    pub database: String,
}

pub(crate) use crate::model::SecretRef;

/// An API users reach through the Gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicApi {
    /// The chart's endpoint type (`identity`, `compute_novnc_proxy`).
    pub endpoint: String,
    /// Its port's name under `endpoints.<endpoint>.port` (`api`).
    pub port: String,
    /// The first label of its public host name (default: the service's name).
    pub host: Option<String>,
    /// The Service the chart renders for it.
    pub backend: Backend,
    /// The values path of the origins the service accepts requests from (Django's
    /// CSRF_TRUSTED_ORIGINS): set to the public URL.
    pub origins: Option<String>,
    /// Values the chart needs once it is served over https through the Gateway.
    #[serde(default)]
    pub values: serde_json::Map<String, serde_json::Value>,
}

/// A Service and port a chart renders.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// Service name.
    pub service: String,
    /// Service port.
    pub port: u16,
}

/// A Deployment that scales, and the `component` pod label openstack-helm gives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiDeployment {
    /// Deployment name (`nova-api-osapi`).
    pub deployment: String,
    /// Its pods' `component` label (`os-api`).
    pub component: String,
    /// Its key under the chart's `pod.replicas` (`osapi`).
    pub replicas: String,
    /// The PodDisruptionBudget the chart renders for it, if any.
    #[serde(default)]
    pub chart_pdb: Option<ChartPdb>,
}

impl ApiDeployment {
    /// The values path of its replica count (`pod.replicas.osapi`).
    pub(crate) fn replicas_path(&self) -> String {
        format!("pod.replicas.{}", self.replicas)
    }
}

/// One of a chart's templates that gcc renders in its place: the chart's switch for it
/// off, gcc's copy (the same objects plus what the chart's cannot render) in the chart's
/// `extraObjects`, which the chart passes through Helm's `tpl`. Both controllers render
/// it as part of the chart, so no post-render step is needed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replacement {
    /// The `manifests.*` switch of the chart's template.
    pub manifest: String,
    /// The chart's template (`templates/deployment.yaml`).
    pub chart_file: String,
    /// gcc's copy, a [`template`] name (`templates/skyline/deployment.yaml`).
    pub template: String,
    /// The chart version it was copied from.
    pub chart_version: String,
}

/// What to do with a chart's own PodDisruptionBudget of a scaling Deployment, so that the
/// Deployment has exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ChartPdb {
    /// Turn it off with this `manifests.*` switch; gcc writes its own (`maxUnavailable: 1`).
    Off(String),
    /// Keep it: it already says `maxUnavailable: 1` and cannot be switched off (its
    /// template leaves a lone `...` that Helm cannot parse); gcc writes none.
    Kept,
}

/// What the catalog knows about one OpenStack service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceEntry {
    /// Services it cannot run without.
    pub requires: Vec<String>,
    /// Infrastructure components it needs.
    pub infra: Vec<String>,
    /// MariaDB databases, owned by a user named after the service.
    #[serde(default)]
    pub databases: Vec<Database>,
    /// The chart's `endpoints.*` entries that point at MariaDB (default `oslo_db`).
    #[serde(default = "oslo_db")]
    pub db_endpoints: Vec<String>,
    /// Whether it has a RabbitMQ user and vhost.
    pub vhost: bool,
    /// Deployments that scale (HPA + PDB).
    pub api: Vec<ApiDeployment>,
    /// The chart's own `manifests.*` switches gcc turns off (ingress, test pods, the
    /// Jobs operators replace, what the cloud does not use), as the pinned chart's
    /// values.yaml names them.
    pub manifests_off: Vec<String>,
    /// The chart renders helm-toolkit's pod anti-affinity (`pod.affinity.anti.*`); a chart
    /// that does not gets none from gcc either (Helm would ignore it).
    #[serde(default = "yes")]
    pub anti_affinity: bool,
    /// The chart's templates gcc renders in their place.
    #[serde(default)]
    pub replace: Vec<Replacement>,
    /// Its place in the services' install order: `first` (every other service waits for
    /// it: keystone, whose catalog the others register in) or `last` (it waits for every
    /// other service: skyline, the dashboard over all of them).
    #[serde(default)]
    pub order: Option<Order>,
    /// Its pods wait for Jobs the chart makes Helm post-install/post-upgrade hooks
    /// (openstack-helm's `helm3_hook: true`, the default: `db-sync`, `ks-user`, ...).
    /// Helm runs those hooks only after its wait for the release's resources, so the
    /// release is installed without that wait (`gcc rehearse` proves which need it).
    #[serde(default = "yes")]
    pub waits_on_hooks: bool,
    /// The chart's `dependencies.static.<key>.jobs` lists that name a Job gcc turns off
    /// ([`ServiceEntry::jobs_off`]), as the pinned chart's values.yaml has them.
    #[serde(default)]
    pub job_deps: BTreeMap<String, Vec<String>>,
    /// The chart's endpoints this cloud runs nothing behind for the service (ceilometer
    /// keeps its samples in gnocchi: no MariaDB, no MongoDB); no pod waits for them.
    #[serde(default)]
    pub endpoints_off: Vec<String>,
    /// The chart's `dependencies.static.<key>.services` lists that name an
    /// [`ServiceEntry::endpoints_off`] entry, as the pinned chart's values.yaml has them.
    #[serde(default)]
    pub service_deps: BTreeMap<String, Vec<ServiceDep>>,
    /// How its chart reaches kube-ovn's OVN databases.
    #[serde(default)]
    pub ovn: Option<OvnClient>,
    /// Values paths that take the comma list of the inventory's physical networks
    /// (`physnet1,...`, one per provider subnet).
    #[serde(default)]
    pub physnets: Vec<String>,
    /// Where the chart takes a bootstrap script that creates the provider networks
    /// (Neutron's external network and subnet on each provider subnet).
    #[serde(default)]
    pub provider_networks: Option<ProviderNetworks>,
    /// The service keeps its data on a NAS export of one purpose (glance's image store):
    /// the plan picks the storage class, this says where the chart takes it.
    #[serde(default)]
    pub nas_store: Option<NasStore>,
    /// The chart's `endpoints.*` entries that point at the PostgreSQL cluster.
    #[serde(default)]
    pub postgres_endpoints: Vec<String>,
    /// Objects its chart mounts whether or not it reads them.
    #[serde(default)]
    pub stand_ins: Vec<StandIn>,
    /// The APIs users reach through the Gateway.
    #[serde(default)]
    pub public: Vec<PublicApi>,
    /// Values every deployment of the service gets (Genestack's base-helm-configs), the
    /// first layer of its values.
    #[serde(default)]
    pub values: serde_json::Map<String, serde_json::Value>,
    /// The chart's `images.tags` keys by the image they run: a [`Catalog::fixed_images`]
    /// name, or a Genestack service image tagged for the service's release.
    pub images: BTreeMap<String, Vec<String>>,
    /// Values paths taken from Secrets.
    pub secrets: Vec<SecretRef>,
}

/// How a chart reaches kube-ovn's OVN databases (NB and SB, over TLS when kube-ovn serves
/// it): where its `[ovn]` options go, and where its pods mount what they need.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OvnClient {
    /// Values paths of the oslo `[ovn]` sections that get the connections and certificates.
    pub sections: Vec<String>,
    /// The Secret with kube-ovn's client certificate (`cacert`, `cert`, `key`).
    pub tls_secret: String,
    /// Where it is mounted.
    pub certs: String,
    /// `pod.mounts.<component>.<container>` entries that mount it.
    pub mounts: Vec<String>,
    /// A generated `ovn.ini` some containers read last, replaced by gcc's.
    #[serde(default)]
    pub ini: Option<OvnIni>,
    /// A writable directory (an emptyDir) the same containers get at this path: the
    /// provider driver's socket directory (octavia's `/var/run/octavia`).
    #[serde(default)]
    pub run_dir: Option<String>,
}

/// A file with the `[ovn]` section, mounted over the one a chart generates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OvnIni {
    /// ConfigMap name (gcc appends a content hash).
    pub config_map: String,
    /// The path the containers read.
    pub path: String,
    /// `pod.mounts.<component>.<container>` entries that mount it.
    pub mounts: Vec<String>,
}

/// Where a service keeps its store on a NAS export: in the chart's own claim (`class` and
/// `size`: where the chart takes its storage class and size), or in a claim gcc writes and
/// the chart's pods mount (`claim`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NasStore {
    /// The export purpose it needs.
    pub purpose: crate::model::ExportPurpose,
    /// Values path of the storage class name of the chart's claim.
    #[serde(default)]
    pub class: Option<String>,
    /// Values path of its requested size (the export's capacity).
    #[serde(default)]
    pub size: Option<String>,
    /// A ReadWriteMany claim gcc writes, for a chart that has none.
    #[serde(default)]
    pub claim: Option<Claim>,
}

/// A ReadWriteMany claim gcc writes for a service, and where its pods mount it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Claim (and volume) name.
    pub name: String,
    /// Requested size.
    pub size: String,
    /// Where the containers mount it.
    pub path: String,
    /// `pod.mounts.<component>.<container>` entries that mount it.
    pub mounts: Vec<String>,
}

/// An object a chart mounts in its pods whether or not it reads it (gnocchi's Ceph client
/// files with the file driver): gcc writes an empty one, so the pods can start.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StandIn {
    /// `ConfigMap` or `Secret`.
    pub kind: StandInKind,
    /// Object name.
    pub name: String,
    /// Values path where the chart takes the name.
    pub path: String,
    /// Its keys (the files the pods mount), each with its text.
    pub data: BTreeMap<String, String>,
}

/// The kinds a [`StandIn`] may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum StandInKind {
    /// A ConfigMap.
    ConfigMap,
    /// A Secret (with no secret in it: every key is empty).
    Secret,
}

/// One entry of a chart's `dependencies.static.<key>.services` list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceDep {
    /// Endpoint class (`internal`).
    pub endpoint: String,
    /// Endpoint type (`oslo_db`, `identity`).
    pub service: String,
}

fn oslo_db() -> Vec<String> {
    vec!["oslo_db".into()]
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServicesFile {
    services: BTreeMap<String, ServiceEntry>,
}

/// Chart and image pins of one Genestack ref.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartSet {
    /// Genestack ref (`release-2025.4.1`).
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Commit of that ref.
    pub commit: String,
    /// OpenStack release of its images.
    pub release: String,
    /// Chart versions by service.
    pub charts: BTreeMap<String, String>,
    /// Images (`name:tag`) by service.
    pub images: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleasesFile {
    fixed_images: BTreeMap<String, String>,
    openstack_releases: BTreeMap<String, String>,
    chart_sets: Vec<ChartSet>,
}

/// One Helm infrastructure component.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Namespace it is installed in.
    pub namespace: String,
    /// Chart name.
    pub chart: String,
    /// Repository name (key of `repositories`).
    pub repository: String,
    /// Chart version.
    pub version: String,
    /// The images its chart renders with these values, for the version table (`gcc
    /// rehearse` proves the list).
    #[serde(default)]
    pub images: Vec<String>,
    /// Components that must be ready first.
    #[serde(default)]
    pub after: Vec<String>,
    /// Default values.
    #[serde(default)]
    pub values: serde_json::Map<String, serde_json::Value>,
    /// Values the plan computes from the profile and the inventory, and where they go.
    #[serde(default)]
    pub planned: Vec<PlannedValue>,
    /// The pod anti-affinity across machines it gets in `base` (helm-toolkit's
    /// `pod.affinity.anti`).
    #[serde(default)]
    pub anti_affinity: Option<AntiAffinity>,
    /// The API groups whose CRDs the chart installs (with the values gcc gives it):
    /// objects of these groups can be applied once the release is ready.
    #[serde(default)]
    pub crds: Vec<String>,
    /// It is the cluster's network plugin: installed before the GitOps controller, whose
    /// pods need it (`bootstrap/install.sh`).
    #[serde(default)]
    pub cni: bool,
}

/// A chart value the plan computes, and the values path it goes to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedValue {
    /// Values path (dotted).
    pub path: String,
    /// What the plan writes there.
    pub fact: Fact,
    /// Written only in this profile (absent: in every profile).
    #[serde(default)]
    pub profile: Option<crate::model::Profile>,
}

/// The values paths of a chart's bootstrap Job, which runs a script with admin
/// credentials once the service is up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderNetworks {
    /// The switch that turns the Job on (`bootstrap.enabled`).
    pub enabled: String,
    /// The script it runs (`bootstrap.script`).
    pub script: String,
}

/// A fact of the plan a chart value can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fact {
    /// The profile's quorum: members of each quorum service (3 in `base`, 1 in `aio`).
    Quorum,
    /// Whether the profile is highly available (`base`).
    Ha,
    /// The node label that names each node's physical machine (the failure domain).
    MachineLabel,
    /// The addresses of OVN central's members (the control-plane nodes), comma-separated.
    OvnCentral,
    /// The cluster's pod network (the inventory's `cluster.pod_cidr`).
    PodCidr,
    /// The cluster's service network (`cluster.service_cidr`).
    ServiceCidr,
    /// kube-ovn's join network (`cluster.join_cidr`).
    JoinCidr,
    /// The NAS export for backups, as `nfs://<address>:<path>` (not written when the
    /// inventory has none).
    BackupTarget,
}

impl Fact {
    /// Whether the value counts the members of a quorum (a number, or OVN central's
    /// addresses): fewer than the profile's quorum loses it with one machine.
    pub(crate) fn counts_quorum(self) -> bool {
        matches!(self, Fact::Quorum | Fact::OvnCentral)
    }
}

/// How strongly pods of one kind keep apart across machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AntiAffinity {
    /// Preferred: the scheduler spreads them when it can.
    Preferred,
    /// Required: never two on one machine (a quorum's members).
    Required,
}

impl AntiAffinity {
    /// helm-toolkit's `pod.affinity.anti.type` for it.
    pub(crate) fn helm_toolkit_type(self) -> &'static str {
        match self {
            AntiAffinity::Preferred => "preferredDuringSchedulingIgnoredDuringExecution",
            AntiAffinity::Required => "requiredDuringSchedulingIgnoredDuringExecution",
        }
    }
}

/// A service's place in the services' install order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Every other service waits for it.
    First,
    /// It waits for every other service.
    Last,
}

/// Plain manifests applied from a URL.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Remote {
    /// Namespace.
    pub namespace: String,
    /// Version.
    pub version: String,
    /// Manifest URL.
    pub url: String,
    /// The API groups whose CRDs the manifests install.
    #[serde(default)]
    pub crds: Vec<String>,
    /// The API groups of other objects the manifests hold (installed by releases before).
    #[serde(default)]
    pub uses: Vec<String>,
}

/// Settings of the MariaDB cluster gcc writes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MariadbDefaults {
    /// Server image.
    pub image: String,
    /// Volume size per replica.
    pub storage: String,
    /// Backup volume size.
    pub backup_storage: String,
    /// Backup schedule.
    pub backup_cron: String,
}

/// Settings of the PostgreSQL cluster gcc writes (postgres-operator's `postgresql`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresDefaults {
    /// Cluster name (also its primary's Service).
    pub name: String,
    /// The operator's team id (`teamId`, required; the operator checks it as the name's
    /// prefix only with `enable_team_id_clustername_prefix`, off by default).
    pub team: String,
    /// PostgreSQL major version.
    pub version: String,
    /// Per profile: volume size and server parameters.
    pub base: PostgresProfile,
    /// The `aio` settings.
    pub aio: PostgresProfile,
}

/// Volume size and server parameters of the PostgreSQL cluster in one profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresProfile {
    /// Volume size per instance.
    pub storage: String,
    /// `postgresql.parameters`.
    pub parameters: BTreeMap<String, String>,
}

/// Settings of the RabbitMQ cluster gcc writes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RabbitmqDefaults {
    /// Server image.
    pub image: String,
    /// Volume size per replica.
    pub storage: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InfraFile {
    repositories: BTreeMap<String, String>,
    components: BTreeMap<String, Component>,
    remote: BTreeMap<String, Remote>,
    always: Vec<String>,
    mariadb: MariadbDefaults,
    rabbitmq: RabbitmqDefaults,
    postgres: PostgresDefaults,
}

/// The whole catalog.
#[derive(Debug)]
pub struct Catalog {
    /// OpenStack services by name.
    pub services: BTreeMap<String, ServiceEntry>,
    /// OpenStack release → its name (`2024.1` → `Caracal`).
    pub releases: BTreeMap<String, String>,
    /// Images that follow no OpenStack release, by name.
    pub fixed_images: BTreeMap<String, String>,
    /// Chart sets, oldest first.
    pub chart_sets: Vec<ChartSet>,
    /// Chart repositories by name.
    pub repositories: BTreeMap<String, String>,
    /// Helm infrastructure components by name.
    pub components: BTreeMap<String, Component>,
    /// Remote manifests by name.
    pub remote: BTreeMap<String, Remote>,
    /// Components every cloud gets.
    pub always: Vec<String>,
    /// MariaDB cluster settings.
    pub mariadb: MariadbDefaults,
    /// RabbitMQ cluster settings.
    pub rabbitmq: RabbitmqDefaults,
    /// PostgreSQL cluster settings.
    pub postgres: PostgresDefaults,
}

/// Where a service's chart version comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChartChoice {
    /// Chart version.
    pub version: String,
    /// The Genestack ref that pins it.
    pub from_ref: String,
}

/// One image of a service, where its tag comes from, and the chart keys that run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageChoice {
    /// Full image reference.
    pub image: String,
    /// True when the tag follows the registry convention rather than a recorded pin.
    pub by_convention: bool,
    /// The chart's `images.tags` keys set to it.
    pub keys: Vec<String>,
}

/// What `gcc rehearse` knows beyond the charts it renders (`catalog/rehearse.yaml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rehearsal {
    /// Services and pods operators create for custom resources.
    pub services: Vec<ServicesFrom>,
    /// Services every cluster has.
    pub always: Vec<NamedService>,
    /// Values paths below which a chart takes any key.
    pub free_form: Vec<FreeForm>,
}

/// The Services and pods an operator creates for one kind of custom resource.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesFrom {
    /// API group of the resource.
    pub group: String,
    /// Kind of the resource.
    pub kind: String,
    /// The Services, by name pattern.
    pub services: Vec<ProducedService>,
    /// The labels of the pods it runs for the resource (`{name}` the resource's).
    #[serde(default)]
    pub pods: Vec<BTreeMap<String, String>>,
}

/// One Service an operator creates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducedService {
    /// Name, `{name}` the resource's.
    pub name: String,
    /// Created only when one of these pointers of the resource is `true` (always if empty).
    #[serde(default)]
    pub when_any: Vec<String>,
}

/// A Service by namespace and name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedService {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// Free-form values paths of a chart.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeForm {
    /// Chart name, or `*` for every chart.
    pub chart: String,
    /// Dotted paths; `*` matches any one segment, `{chart}` is the chart's name.
    pub paths: Vec<String>,
    /// Where the chart reads them (documentation).
    pub why: String,
}

impl Rehearsal {
    /// The embedded rehearsal knowledge, parsed once.
    pub fn get() -> &'static Rehearsal {
        static REHEARSAL: OnceLock<Rehearsal> = OnceLock::new();
        REHEARSAL.get_or_init(|| compiled("catalog/rehearse.yaml", compiled::REHEARSE))
    }

    /// The free-form paths of `chart`, as segments (`{chart}` filled in).
    pub fn free_form_paths(&self, chart: &str) -> Vec<Vec<String>> {
        self.free_form
            .iter()
            .filter(|f| f.chart == "*" || f.chart == chart)
            .flat_map(|f| f.paths.iter())
            .map(|p| p.split('.').map(|s| s.replace("{chart}", chart)).collect())
            .collect()
    }
}

/// Whether `path` is at or below one of the `free` paths (`*` matches any one segment).
pub fn is_free_form<S: AsRef<str>>(free: &[Vec<String>], path: &[S]) -> bool {
    free.iter().any(|f| {
        f.len() <= path.len() && f.iter().zip(path).all(|(f, p)| f == "*" || f == p.as_ref())
    })
}

impl ServiceEntry {
    /// The names of the Jobs this service's chart no longer renders once its
    /// [`ServiceEntry::manifests_off`] switches are off: openstack-helm names the Job of
    /// switch `job_<what>` `<service>-<what>` with `_` as `-` (`job_db_init_mongodb` →
    /// `ceilometer-db-init-mongodb`).
    pub fn jobs_off(&self, service: &str) -> Vec<String> {
        self.manifests_off
            .iter()
            .filter_map(|m| m.strip_prefix("job_"))
            .map(|what| format!("{service}-{}", what.replace('_', "-")))
            .collect()
    }
}

/// Image registry of Genestack's OpenStack images.
pub(crate) const IMAGE_REGISTRY: &str = "ghcr.io/rackerlabs/genestack-images";

/// The catalog's YAML files as JSON, converted by the build script (`build.rs`), so a run
/// reads JSON instead of parsing YAML.
mod compiled {
    pub(super) const INFRASTRUCTURE: &str =
        include_str!(concat!(env!("OUT_DIR"), "/catalog/infrastructure.json"));
    pub(super) const RELEASES: &str =
        include_str!(concat!(env!("OUT_DIR"), "/catalog/releases.json"));
    pub(super) const SERVICES: &str =
        include_str!(concat!(env!("OUT_DIR"), "/catalog/services.json"));
    pub(super) const REHEARSE: &str =
        include_str!(concat!(env!("OUT_DIR"), "/catalog/rehearse.json"));
}

/// One embedded catalog file, from its compiled JSON.
fn compiled<T: for<'de> Deserialize<'de>>(name: &str, json: &str) -> T {
    match serde_json::from_str(json) {
        Ok(v) => v,
        // Compiled in, and read both ways by a unit test; this cannot fail at run time.
        Err(e) => panic!("embedded {name} is invalid: {e}"),
    }
}

impl Catalog {
    /// The embedded catalog, read once.
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(Catalog::read)
    }

    /// The embedded catalog, read anew (a run reads it once, through [`Catalog::get`]).
    pub fn read() -> Catalog {
        Catalog::from_files(
            compiled(SOURCES[0].0, compiled::INFRASTRUCTURE),
            compiled(SOURCES[1].0, compiled::RELEASES),
            compiled(SOURCES[2].0, compiled::SERVICES),
        )
    }

    fn from_files(infra: InfraFile, releases: ReleasesFile, services: ServicesFile) -> Catalog {
        Catalog {
            services: services.services,
            releases: releases.openstack_releases,
            fixed_images: releases.fixed_images,
            chart_sets: releases.chart_sets,
            repositories: infra.repositories,
            components: infra.components,
            remote: infra.remote,
            always: infra.always,
            mariadb: infra.mariadb,
            rabbitmq: infra.rabbitmq,
            postgres: infra.postgres,
        }
    }

    /// The chart version of `service` for an environment whose release is `env_release`:
    /// the chart set of that release, else the next newer set that has the chart.
    pub(crate) fn chart_for(&self, service: &str, env_release: &str) -> Option<ChartChoice> {
        let start = self
            .chart_sets
            .iter()
            .position(|s| s.release.as_str() >= env_release)
            .unwrap_or(self.chart_sets.len());
        self.chart_sets[start..].iter().find_map(|set| {
            set.charts.get(service).map(|v| ChartChoice {
                version: v.clone(),
                from_ref: set.git_ref.clone(),
            })
        })
    }

    /// The images of `service` at OpenStack release `release`, in name order. A fixed
    /// image is taken as is; a service image takes the first recorded pin whose tag starts
    /// with the release, else a pin whose tag names no release (gnocchi's `4.7-latest`),
    /// else `<registry>/<image>:<release>-latest`.
    pub(crate) fn images_for(&self, service: &str, release: &str) -> Vec<ImageChoice> {
        let Some(entry) = self.services.get(service) else {
            return Vec::new();
        };
        entry
            .images
            .iter()
            .map(|(name, keys)| {
                let (image, by_convention) = match self.fixed_images.get(name) {
                    Some(fixed) => (fixed.clone(), false),
                    None => match self.pinned_tag(name, release) {
                        Some(tag) => (format!("{IMAGE_REGISTRY}/{name}:{tag}"), false),
                        None => (format!("{IMAGE_REGISTRY}/{name}:{release}-latest"), true),
                    },
                };
                ImageChoice {
                    image,
                    by_convention,
                    keys: keys.clone(),
                }
            })
            .collect()
    }

    /// The recorded tag of Genestack image `name` for `release` (see [`Self::images_for`]).
    fn pinned_tag(&self, name: &str, release: &str) -> Option<&str> {
        let prefix = format!("{release}-");
        let tags: Vec<&str> = self
            .chart_sets
            .iter()
            .flat_map(|set| set.images.values().flatten())
            .filter_map(|i| i.split_once(':'))
            .filter(|(n, _)| *n == name)
            .map(|(_, tag)| tag)
            .collect();
        let names_a_release =
            |tag: &str| self.tag_release(tag).is_some() || tag.starts_with("master-");
        tags.iter()
            .find(|t| t.starts_with(&prefix))
            .or_else(|| tags.iter().find(|t| !names_a_release(t)))
            .copied()
    }

    /// The OpenStack release an image tag names (`2024.1-latest` → `2024.1`), if any.
    pub(crate) fn tag_release<'a>(&self, tag: &'a str) -> Option<&'a str> {
        tag.split_once('-')
            .map(|(head, _)| head)
            .filter(|head| self.releases.contains_key(*head))
    }

    /// The name of an OpenStack release (`2024.1` → `Caracal`), if known.
    pub fn release_name(&self, release: &str) -> Option<&str> {
        self.releases.get(release).map(String::as_str)
    }
}

/// Why a service is enabled: named in the environment, or required by another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Listed under `services:`.
    Enabled,
    /// Required; the chain from an enabled service (`["nova", "placement"]`).
    Required(Vec<String>),
}

/// Closes `enabled` under `requires`. Each added service carries the shortest chain
/// that pulled it in (breadth first, names in order, so the result is deterministic).
/// A required name the catalog does not know is returned as an error with its chain.
pub(crate) fn resolve(
    catalog: &Catalog,
    enabled: &BTreeSet<String>,
) -> Result<BTreeMap<String, Reason>, Vec<String>> {
    let mut out: BTreeMap<String, Reason> = enabled
        .iter()
        .map(|s| (s.clone(), Reason::Enabled))
        .collect();
    let mut queue: std::collections::VecDeque<Vec<String>> =
        enabled.iter().map(|s| vec![s.clone()]).collect();
    while let Some(chain) = queue.pop_front() {
        let Some(last) = chain.last() else { continue };
        let Some(entry) = catalog.services.get(last) else {
            return Err(chain);
        };
        for req in &entry.requires {
            if out.contains_key(req) {
                continue;
            }
            let mut next = chain.clone();
            next.push(req.clone());
            if !catalog.services.contains_key(req) {
                return Err(next);
            }
            out.insert(req.clone(), Reason::Required(next.clone()));
            queue.push_back(next);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed table's 21 services (issue 3).
    const SEED: [&str; 21] = [
        "barbican",
        "blazar",
        "ceilometer",
        "cinder",
        "cloudkitty",
        "designate",
        "freezer",
        "glance",
        "gnocchi",
        "heat",
        "horizon",
        "ironic",
        "keystone",
        "magnum",
        "masakari",
        "neutron",
        "nova",
        "octavia",
        "placement",
        "skyline",
        "zaqar",
    ];

    /// The catalog as the YAML reader reads the source files.
    fn yaml<T: for<'de> Deserialize<'de>>(text: &str) -> T {
        let opts = serde_saphyr::options! { strict_booleans: true };
        serde_saphyr::from_str_with_options(text, opts).unwrap()
    }

    #[test]
    fn the_compiled_catalog_is_the_yaml_catalog() {
        // build.rs turns each YAML file into JSON; reading that JSON must give exactly what
        // reading the YAML gives (a YAML-only coercion, such as a bare number into a string
        // field, would differ here or fail to read).
        let from_yaml =
            Catalog::from_files(yaml(SOURCES[0].1), yaml(SOURCES[1].1), yaml(SOURCES[2].1));
        assert_eq!(format!("{from_yaml:#?}"), format!("{:#?}", Catalog::get()));
        let rehearsal: Rehearsal = yaml(include_str!("../catalog/rehearse.yaml"));
        assert_eq!(
            format!("{rehearsal:#?}"),
            format!("{:#?}", Rehearsal::get())
        );
    }

    #[test]
    fn services_are_the_seed_table() {
        assert!(is_service("nova"));
        assert!(!is_service("novaa"));
        let names: Vec<&str> = Catalog::get().services.keys().map(String::as_str).collect();
        assert_eq!(names, SEED);
    }

    #[test]
    fn catalog_parses_and_covers_every_service() {
        let c = Catalog::get();
        for (name, s) in &c.services {
            for r in &s.requires {
                assert!(c.services.contains_key(r), "{name} requires unknown {r}");
            }
            for i in &s.infra {
                assert!(
                    c.components.contains_key(i)
                        || i == "mariadb-cluster"
                        || i == "rabbitmq-cluster",
                    "{name} needs unknown {i}"
                );
            }
            assert!(c.chart_for(name, "2024.1").is_some(), "{name} has no chart");
        }
        for (name, comp) in &c.components {
            assert!(c.repositories.contains_key(&comp.repository), "{name}");
            for a in &comp.after {
                assert!(c.components.contains_key(a), "{name} after {a}");
            }
        }
    }

    #[test]
    fn rehearsal_knowledge_parses_and_names_kinds_and_paths() {
        let r = Rehearsal::get();
        let kinds: Vec<&str> = r.services.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["MariaDB", "RabbitmqCluster", "postgresql"]);
        assert!(
            r.free_form
                .iter()
                .all(|f| !f.paths.is_empty() && !f.why.is_empty())
        );
    }

    #[test]
    fn chart_falls_forward_to_the_next_set() {
        let c = Catalog::get();
        let k = c.chart_for("keystone", "2024.1").unwrap();
        assert_eq!(k.version, "2024.2.386+13651f45-628a320c");
        assert_eq!(k.from_ref, "release-2025.4.1");
        let s = c.chart_for("skyline", "2024.1").unwrap();
        assert_eq!(s.from_ref, "release-2026.2.0");
        assert_eq!(c.chart_for("keystone", "2026.1").unwrap().from_ref, "main");
        assert!(c.chart_for("keystone", "2099.1").is_none());
    }

    #[test]
    fn images_use_pins_then_the_convention() {
        let c = Catalog::get();
        let m = c.images_for("manila", "2024.1");
        assert!(m.is_empty(), "manila is not a catalog service");
        let image = |choices: &[ImageChoice], key: &str| {
            choices
                .iter()
                .find(|i| i.keys.iter().any(|k| k == key))
                .cloned()
                .unwrap_or_else(|| panic!("no image runs {key}"))
        };
        let n = c.images_for("nova", "2024.1");
        assert_eq!(
            image(&n, "nova_api"),
            ImageChoice {
                image: format!("{IMAGE_REGISTRY}/nova:2024.1-latest"),
                by_convention: false,
                keys: image(&n, "nova_api").keys,
            }
        );
        // Helpers are fixed images, whatever the release.
        let helper = image(&n, "db_init");
        assert_eq!(helper.image, c.fixed_images["openstack-client"]);
        assert!(!helper.by_convention);
        assert_eq!(
            image(&n, "dep_check").image,
            c.fixed_images["kubernetes-entrypoint"]
        );
        // No pin for skyline 2024.2: the convention, marked.
        let s = image(&c.images_for("skyline", "2024.2"), "skyline");
        assert!(s.by_convention);
        assert_eq!(s.image, format!("{IMAGE_REGISTRY}/skyline:2024.2-latest"));
        // A tag that names no release applies to any (gnocchi 4.7).
        let g = image(&c.images_for("gnocchi", "2024.1"), "gnocchi_api");
        assert_eq!(g.image, format!("{IMAGE_REGISTRY}/gnocchi:4.7-latest"));
        assert!(!g.by_convention);
        // Ironic runs three service images; each key runs exactly one image.
        let i = c.images_for("ironic", "2025.1");
        let services: Vec<&str> = i
            .iter()
            .map(|x| x.image.as_str())
            .filter(|x| x.ends_with(":2025.1-latest"))
            .collect();
        assert_eq!(services.len(), 3, "{services:?}");
        let mut keys: Vec<&String> = i.iter().flat_map(|x| &x.keys).collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n, "a key runs two images");
    }

    #[test]
    fn resolve_adds_requirements_with_their_chain() {
        let c = Catalog::get();
        let enabled: BTreeSet<String> = ["nova".to_string()].into();
        let r = resolve(c, &enabled).unwrap();
        assert_eq!(r["nova"], Reason::Enabled);
        assert_eq!(
            r["placement"],
            Reason::Required(vec!["nova".into(), "placement".into()])
        );
        assert!(r.contains_key("keystone"));
        assert!(r.contains_key("neutron"));
        let unknown: BTreeSet<String> = ["nope".to_string()].into();
        assert_eq!(resolve(c, &unknown).unwrap_err(), vec!["nope".to_string()]);
    }
}
