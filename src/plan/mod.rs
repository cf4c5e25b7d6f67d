//! Stage 3, plan: decides everything the emitters write, as plain data.
//!
//! Which components run (services enabled by the environment plus what they require,
//! and the infrastructure they need), their chart versions and images, replicas per
//! profile, node labels and OVN annotations from roles and interfaces, failure
//! domains, database and queue accounts, storage classes, address pools, the Secrets
//! the cluster must provide, and the HA proof. Architecture invariant: emitters only
//! translate a [`Plan`]; no decision is taken after this stage.

mod data;
mod decisions;
pub(crate) mod dhcp;
pub(crate) mod edge;
pub(crate) mod ha;
mod infra;
mod openstack;
pub(crate) mod ovirt;
pub mod placement;
mod provider;
mod quorum;
mod storage;
pub mod trace;
pub mod values;
mod waves;

pub use dhcp::{DhcpFamily, DhcpPlan, DhcpSubnet, Reservation, plan as dhcp_plan};
pub use edge::{EdgePlan, PublicEndpoint, TlsPlan};
pub use ovirt::{AffinityGroup, OvirtNic, OvirtPlan, OvirtVm};
pub use placement::Placement;
pub use waves::Stage;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::catalog::{self, AntiAffinity, Catalog, Reason};
use crate::diag::{Diagnostic, Label};
use crate::load::Loaded;
use crate::model::{Loc, Model, Profile, Provider, Target};

/// Code: a quorum service cannot keep a majority when one machine is lost.
pub(crate) const HA_UNPROVABLE: &str = "gcc::plan::ha_unprovable";
/// Code: no node may host a component.
pub(crate) const UNPLACEABLE: &str = "gcc::plan::unplaceable";
/// Code: a service (or one it requires) has no chart for its release.
pub(crate) const NO_CHART: &str = "gcc::plan::no_chart";
/// Code: the environment's `values` put a literal where a Secret belongs.
pub(crate) const SECRET_LITERAL: &str = "gcc::plan::secret_literal";
/// Code: a chart template gcc renders in the chart's place was copied from another
/// version of the chart than the build pins.
pub(crate) const REPLACED_TEMPLATE: &str = "gcc::plan::replaced_template";
/// A service that keeps its data on a NAS export has no NFS storage to use.
pub(crate) const NO_STORE: &str = "gcc::plan::no_store";
/// Code: two NAS exports with a purpose the build stores data of.
pub(crate) const EXPORT_PURPOSE_DOUBLED: &str = "gcc::plan::export_purpose_doubled";
/// Code: a NAS export nothing of the environment uses.
pub(crate) const UNUSED_EXPORT: &str = "gcc::plan::unused_export";
/// The storage class of backups (DESIGN: `general`, `general-multi-attach`, `backups`).
pub(crate) const BACKUPS_CLASS: &str = "backups";
/// Code: a VIP pool that no node announcing it has an interface on.
pub(crate) const UNANNOUNCED: &str = "gcc::plan::unannounced";

/// Node label carrying a node's physical machine (its failure domain).
pub(crate) const MACHINE_LABEL: &str = "topology.gcc.cloud/machine";
/// Node label carrying the machine's rack, when the inventory names one.
pub(crate) const RACK_LABEL: &str = "topology.gcc.cloud/rack";
/// The namespace of every OpenStack service.
pub(crate) const OPENSTACK_NAMESPACE: &str = "openstack";
/// Name of the MariaDB cluster object (and of its Services' prefix).
pub(crate) const MARIADB_CLUSTER: &str = "mariadb-cluster";
/// Name of the RabbitmqCluster object.
pub(crate) const RABBITMQ_CLUSTER: &str = "rabbitmq";
/// Namespace of the Flux sources.
pub(crate) const FLUX_NAMESPACE: &str = "flux-system";
/// Where Argo CD runs and its Applications and AppProjects live.
pub(crate) const ARGOCD_NAMESPACE: &str = "argocd";

/// Default HPA maximum of an API deployment in `base` (the minimum is
/// [`Profile::BASE_MIN_REPLICAS`]).
pub(crate) const HPA_MAX: u64 = 6;
/// HPA CPU and memory utilisation target, percent.
pub(crate) const HPA_UTILIZATION: u64 = 80;

/// Which kind of component a Helm release is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// Infrastructure (operators, CNI, storage, memcached).
    Infrastructure,
    /// An OpenStack service.
    Openstack,
}

/// An HPA for one Deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Autoscaler {
    /// Deployment name.
    pub deployment: String,
    /// Pod `component` label.
    pub component: String,
    /// gcc writes its PodDisruptionBudget (false: the chart's own is kept).
    pub pdb: bool,
    /// minReplicas.
    pub min: u64,
    /// maxReplicas.
    pub max: u64,
}

/// One image a release runs, and where its reference comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedImage {
    /// Full image reference.
    pub image: String,
    /// Where the reference comes from.
    pub from: ImageFrom,
}

/// Where an image reference comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFrom {
    /// The catalog: a recorded pin, a fixed image, or what an infrastructure chart renders.
    Catalog,
    /// Genestack's registry convention (no recorded pin for the release).
    Convention,
    /// The environment's `values` (`images.tags.<key>`).
    Environment,
}

/// One Helm release.
#[derive(Debug, Clone, Serialize)]
pub struct Component {
    /// Release name.
    pub name: String,
    /// Helm waits for the release's resources before it runs the post-install hooks
    /// (false for a chart whose pods wait for those hooks: the wait could never end).
    pub helm_wait: bool,
    /// Infrastructure or OpenStack.
    pub tier: Tier,
    /// Namespace.
    pub namespace: String,
    /// Chart name.
    pub chart: String,
    /// Repository name.
    pub repository: String,
    /// Repository URL.
    pub repository_url: String,
    /// Pinned chart version.
    pub version: String,
    /// Where the version comes from (Genestack ref, `catalog` or `environment`).
    pub version_from: String,
    /// OpenStack release of its images (OpenStack services only).
    pub release: Option<String>,
    /// The images it runs, in order.
    pub images: Vec<PlannedImage>,
    /// Why it runs.
    pub reason: Why,
    /// Releases that must be ready first.
    pub depends_on: Vec<String>,
    /// Install wave: 0 for components with no dependencies, then one more than the
    /// deepest dependency.
    pub wave: u32,
    /// Fully merged values, without secrets.
    pub values: Map<String, Value>,
    /// Values filled from Secrets.
    pub secrets: Vec<catalog::SecretRef>,
    /// HPAs (and PDBs) for its scaling Deployments.
    pub autoscalers: Vec<Autoscaler>,
}

/// Why a component runs. Written (plan JSON) as words: `infrastructure`, `enabled`,
/// `required by nova → placement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Infrastructure the services need.
    Infrastructure,
    /// Listed under the environment's `services:`.
    Enabled,
    /// Required by these services, the enabled one first.
    Required(Vec<String>),
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Infrastructure => f.write_str("infrastructure"),
            Why::Enabled => f.write_str("enabled"),
            Why::Required(by) => write!(f, "required by {}", by.join(" → ")),
        }
    }
}

impl Serialize for Why {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A Kubernetes node's labels and annotations.
#[derive(Debug, Clone, Serialize)]
pub struct NodePlan {
    /// Node name.
    pub name: String,
    /// Physical machine.
    pub machine: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

/// One MariaDB database and its grant.
#[derive(Debug, Clone, Serialize)]
pub struct DatabasePlan {
    /// Owning service (also the user name).
    pub service: String,
    /// Object name.
    pub name: String,
    /// Database name.
    pub database: String,
}

/// The Secret with the MariaDB password of a service's user (key `password`).
pub(crate) fn db_password_secret(user: &str) -> String {
    format!("{user}-db-password")
}

/// The Secret with the RabbitMQ credentials of a service's user (`username`, `password`).
pub(crate) fn mq_password_secret(vhost: &str) -> String {
    format!("{vhost}-rabbitmq-password")
}

/// The MariaDB cluster.
#[derive(Debug, Clone, Serialize)]
pub struct MariadbPlan {
    /// Replicas.
    pub replicas: usize,
    /// Asynchronous replication with a primary and promotable replicas.
    pub replication: bool,
    /// Databases.
    pub databases: Vec<DatabasePlan>,
    /// Users (one per service).
    pub users: Vec<String>,
    /// The scheduled backup, when a storage class named `backups` exists.
    pub backup: Option<BackupPlan>,
    /// Whether a `primary` MetalLB pool exists for its LoadBalancer services.
    pub load_balancer: bool,
    /// Server image.
    pub image: String,
    /// Volume size per replica.
    pub storage: String,
}

/// MariaDB's scheduled backup.
#[derive(Debug, Clone, Serialize)]
pub struct BackupPlan {
    /// Storage class of its volume.
    pub class: String,
    /// Schedule (cron).
    pub cron: String,
    /// Volume size.
    pub storage: String,
}

/// The RabbitMQ cluster.
#[derive(Debug, Clone, Serialize)]
pub struct RabbitmqPlan {
    /// Replicas.
    pub replicas: usize,
    /// Services with a user and vhost.
    pub vhosts: Vec<String>,
    /// Whether a `primary` MetalLB pool exists.
    pub load_balancer: bool,
    /// Server image.
    pub image: String,
    /// Volume size per replica.
    pub storage: String,
}

/// One StorageClass.
#[derive(Debug, Clone, Serialize)]
pub struct StoragePlan {
    /// Class name.
    pub name: String,
    /// Provider.
    pub provider: Provider,
    /// Cluster default.
    pub default: bool,
    /// NFS server and path.
    pub nfs: Option<(String, String)>,
    /// Longhorn replicas.
    pub replicas: Option<u64>,
    /// Volumes outlive their claims (`reclaimPolicy: Retain`): a service's store gcc adds.
    pub retain: bool,
}

/// One MetalLB pool.
#[derive(Debug, Clone, Serialize)]
pub struct PoolPlan {
    /// Pool name.
    pub name: String,
    /// Subnet it lies in.
    pub subnet: String,
    /// `start-end`.
    pub range: String,
    /// The labels of the nodes that announce it (MetalLB's L2Advertisement selector).
    pub announced_by: BTreeMap<String, String>,
}

/// The node label of worker nodes (the role `worker`).
pub const WORKER_LABEL: (&str, &str) = ("node-role.kubernetes.io/worker", "worker");

/// A Secret the cluster must provide.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct RequiredSecret {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Keys read from it.
    pub keys: BTreeSet<String>,
    /// Who creates it.
    pub provided_by: ProvidedBy,
}

/// Who creates a Secret the build reads. Written (lock, JSON) as words: `you`,
/// `you, as a copy of <namespace>/<name>`, or the operator's name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProvidedBy {
    /// The operator of the cluster.
    You,
    /// The operator of the cluster, copying a Secret that exists elsewhere
    /// (`<namespace>/<name>`).
    YouCopying(String),
    /// A Kubernetes operator of the build (`rabbitmq-operator`, `postgres-operator`).
    Operator(String),
}

impl std::fmt::Display for ProvidedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProvidedBy::You => f.write_str("you"),
            ProvidedBy::YouCopying(from) => write!(f, "you, as a copy of {from}"),
            ProvidedBy::Operator(name) => f.write_str(name),
        }
    }
}

impl std::str::FromStr for ProvidedBy {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "you" => ProvidedBy::You,
            _ => match s.strip_prefix("you, as a copy of ") {
                Some(from) => ProvidedBy::YouCopying(from.to_string()),
                None => ProvidedBy::Operator(s.to_string()),
            },
        })
    }
}

impl Serialize for ProvidedBy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ProvidedBy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(s.parse().unwrap_or(ProvidedBy::You))
    }
}

/// The PostgreSQL cluster.
#[derive(Debug, Clone, Serialize)]
pub struct PostgresPlan {
    /// Cluster name (also its primary's Service).
    pub name: String,
    /// Instances.
    pub replicas: usize,
    /// Services that keep data in it.
    pub services: Vec<String>,
    /// The operator's team id.
    pub team: String,
    /// PostgreSQL major version.
    pub version: String,
    /// Volume size per instance, for the profile.
    pub storage: String,
    /// Server parameters, for the profile.
    pub parameters: BTreeMap<String, String>,
}

/// A ReadWriteMany claim gcc writes for a service's store.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimPlan {
    /// Claim name.
    pub name: String,
    /// Storage class.
    pub class: String,
    /// Requested size.
    pub size: String,
}

/// A ConfigMap with an `[ovn]` section (`ovn.ini`) for a service's containers.
#[derive(Debug, Clone, Serialize)]
pub struct OvnIniPlan {
    /// ConfigMap name (content-hashed).
    pub name: String,
    /// The file.
    pub text: String,
}

/// Everything the emitters need.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Environment name.
    pub env: String,
    /// Profile.
    pub profile: Profile,
    /// Target.
    pub target: Target,
    /// Default OpenStack release.
    pub release: String,
    /// Its name (`Caracal`).
    pub release_name: Option<String>,
    /// Inventory (site) name.
    pub inventory: String,
    /// Helm releases, by name.
    pub components: Vec<Component>,
    /// Remote manifests (RabbitMQ operators), by name.
    pub remote: Vec<(String, catalog::Remote)>,
    /// Nodes.
    pub nodes: Vec<NodePlan>,
    /// MariaDB, when any service needs a database.
    pub mariadb: Option<MariadbPlan>,
    /// RabbitMQ, when any service needs a vhost.
    pub rabbitmq: Option<RabbitmqPlan>,
    /// The public edge (Gateway, routes, certificates), when the environment has a domain.
    pub edge: Option<EdgePlan>,
    /// PostgreSQL, when any service keeps data in it.
    pub postgres: Option<PostgresPlan>,
    /// Claims gcc writes for services' stores.
    pub claims: Vec<ClaimPlan>,
    /// Empty objects charts mount without reading them.
    pub stand_ins: Vec<catalog::StandIn>,
    /// Storage classes.
    pub storage: Vec<StoragePlan>,
    /// The class the data services' volumes use (MariaDB, RabbitMQ, PostgreSQL):
    /// `general` when the environment has it, else the cluster's default.
    pub data_class: Option<String>,
    /// MetalLB pools.
    pub pools: Vec<PoolPlan>,
    /// Secrets the cluster must provide.
    pub secrets: Vec<RequiredSecret>,
    /// ConfigMaps with an `[ovn]` section for OVN clients' containers.
    pub ovn_ini: Vec<OvnIniPlan>,
    /// The HA proof (or, in `aio`, where the single members run).
    pub quorum: Vec<ha::Proof>,
    /// The same, drawn on the inventory: racks, machines, VMs and their members.
    pub placement: Placement,
    /// Namespaces gcc creates.
    pub namespaces: BTreeSet<String>,
    /// Where the cluster pulls the published tree from.
    pub source: SourcePlan,
    /// What must happen before the GitOps controller can run.
    pub bootstrap: BootstrapPlan,
    /// The lab's DHCP servers, when a subnet has a pool to serve.
    pub dhcp: Option<DhcpPlan>,
    /// The lab's VMs in oVirt, when a node or machine is a VM.
    pub ovirt: Option<OvirtPlan>,
}

/// What neither Flux nor Argo CD can do for themselves, done once by hand on the new
/// cluster (`bootstrap/install.sh`): their own pods need a CNI, kube-ovn's OVN central
/// needs its nodes labelled before it can schedule, and the control-plane nodes that
/// carry OpenStack roles must take workloads.
#[derive(Debug, Clone, Serialize)]
pub struct BootstrapPlan {
    /// The CNI release (the catalog's `cni` component), installed with its release's values
    /// before the controller; the controller adopts the release afterwards.
    pub cni: Option<String>,
    /// Control-plane nodes that also run workloads: their NoSchedule taint goes.
    pub untaint: Vec<String>,
    /// The cluster's pod network, for the cluster installer.
    pub pod_cidr: String,
    /// The cluster's service network, for the cluster installer.
    pub service_cidr: String,
    /// What to run once the script has: the GitOps controller's entry point in the tree.
    pub then: String,
}

/// The deploy repository as the cluster's GitOps controller reads it.
#[derive(Debug, Clone, Serialize)]
pub struct SourcePlan {
    /// Repository URL (the environment's `publish.url`, else [`PLACEHOLDER_URL`]).
    pub url: String,
    /// The deploy branch (`publish.branch`, else `gcc/<env>`).
    pub branch: String,
    /// The Secret in `flux-system` with credentials for the URL.
    pub secret: Option<String>,
}

/// The repository URL a tree names when the environment gives none: `.invalid` never
/// resolves (RFC 2606), so the controller says so at once instead of reading another
/// repository.
pub const PLACEHOLDER_URL: &str = "ssh://git@git.invalid/cloud.git";

impl Plan {
    /// The component named `name`.
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }
}

/// The outcome of planning.
#[derive(Debug)]
pub struct Planned {
    /// The plan, when there is no error.
    pub plan: Option<Plan>,
    /// Errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// Where the quorum members go, also when the HA proof refuses (then it shows the
    /// shared machine); `None` when planning stopped before placing them.
    pub placement: Option<Placement>,
    /// Which layer wrote each Helm value, when planned with [`plan_traced`].
    pub provenance: Option<trace::Provenance>,
}

struct Cx<'a> {
    loaded: &'a Loaded,
    model: &'a Model,
    catalog: &'static Catalog,
    diags: Vec<Diagnostic>,
    placement: Option<Placement>,
    /// The values' provenance, when recording (`gcc explain`).
    trace: Option<trace::Provenance>,
}

impl Cx<'_> {
    fn label(&self, at: &Loc, text: impl Into<String>) -> Label {
        self.loaded.label(at, text)
    }
    fn key_label(&self, at: &Loc, text: impl Into<String>) -> Label {
        self.loaded.key_label(at, text)
    }
    fn env_at(&self, ptr: &str) -> Loc {
        Loc::new(self.model.env.file, ptr)
    }
    /// A recorder of values' provenance: on only when planning for `gcc explain`.
    fn recorder(&self) -> trace::Recorder {
        trace::Recorder::new(self.trace.is_some())
    }
    /// Where the nodes holding quorum `service`'s members are written (from the placement
    /// the HA proof made), for the origins of what those members decide.
    fn member_sites(&self, service: &str) -> Vec<Loc> {
        let members = self.placement.iter().flat_map(|p| {
            p.quorums
                .iter()
                .filter(|q| q.service == service)
                .flat_map(|q| q.members.iter())
        });
        members
            .filter_map(|m| self.model.inventory.nodes.iter().find(|n| n.name == m.node))
            .map(|n| n.at.clone())
            .collect()
    }
    /// Keeps the steps of release `name`'s values.
    fn keep(&mut self, name: &str, steps: Vec<trace::Step>) {
        if let Some(t) = self.trace.as_mut() {
            t.values.insert(name.to_string(), steps);
        }
    }
}

/// Plans the build of a checked model.
pub fn plan(loaded: &Loaded, model: &Model) -> Planned {
    plan_with(loaded, model, false)
}

/// Plans as [`plan`] does, recording which layer wrote each Helm value
/// ([`Planned::provenance`]).
pub fn plan_traced(loaded: &Loaded, model: &Model) -> Planned {
    plan_with(loaded, model, true)
}

fn plan_with(loaded: &Loaded, model: &Model, traced: bool) -> Planned {
    let mut cx = Cx {
        loaded,
        model,
        catalog: Catalog::get(),
        diags: Vec::new(),
        placement: None,
        trace: traced.then(trace::Provenance::default),
    };
    let plan = build(&mut cx);
    let mut diagnostics = cx.diags;
    crate::diag::sort(&mut diagnostics);
    let plan = plan.filter(|_| crate::diag::error_count(&diagnostics) == 0);
    Planned {
        plan,
        diagnostics,
        placement: cx.placement,
        provenance: cx.trace,
    }
}

/// What the services use, which decides the data services and quorums the build runs.
struct Uses {
    /// Some service keeps data in MariaDB.
    mariadb: bool,
    /// Some service talks to RabbitMQ.
    rabbitmq: bool,
    /// The services that keep data in PostgreSQL.
    postgres: Vec<String>,
}

impl Uses {
    fn of(catalog: &Catalog, services: &BTreeMap<String, Reason>) -> Uses {
        Uses {
            mariadb: services
                .keys()
                .any(|s| !catalog.services[s].databases.is_empty()),
            rabbitmq: services.keys().any(|s| catalog.services[s].vhost),
            postgres: services
                .keys()
                .filter(|s| !catalog.services[*s].postgres_endpoints.is_empty())
                .cloned()
                .collect(),
        }
    }
}

fn build(cx: &mut Cx) -> Option<Plan> {
    let env = &cx.model.env;
    let inv = &cx.model.inventory;
    let services = services(cx)?;
    let uses = Uses::of(cx.catalog, &services);
    let (quorum, placement) = quorum::place(cx, &uses);
    cx.placement = Some(placement.clone());
    let replicas = env.profile.quorum();

    // Helm components: the infrastructure, then the services.
    let infra = infra::needed(cx, &services);
    let needed = storage::needed_purposes(cx, &services, &infra);
    storage::check_exports(cx, &needed);
    let nodes = infra::nodes(cx, &infra);
    let mut components: Vec<Component> = Vec::new();
    for name in &infra {
        components.push(infra::component(cx, name, replicas));
    }
    let edge = edge::plan(cx, &services);
    let (openstack, add) = openstack::components(cx, &services, &infra, replicas, edge.as_ref());
    components.extend(openstack);
    waves::assign(&mut components);
    components.sort_by(|a, b| a.name.cmp(&b.name));

    let mariadb = uses.mariadb.then(|| data::mariadb(cx, &services, replicas));
    let postgres = (!uses.postgres.is_empty()).then(|| data::postgres(cx, &uses, replicas));
    let rabbitmq = uses
        .rabbitmq
        .then(|| data::rabbitmq(cx, &services, replicas));
    let mut storage = storage::classes(cx);
    storage.extend(add.store_classes);
    let data_class = storage::data_class(&storage);
    let mut secrets = data::required(
        cx,
        &components,
        mariadb.as_ref(),
        rabbitmq.as_ref(),
        &add.ovn_tls,
    );
    if let Some(edge) = &edge {
        secrets.extend(edge.secrets());
        secrets.sort_by(|a, b| a.name.cmp(&b.name));
    }
    // The RabbitMQ operators come with the cluster that needs them.
    let remote: Vec<(String, catalog::Remote)> = if uses.rabbitmq {
        cx.catalog
            .remote
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    } else {
        Vec::new()
    };
    // Every namespace something is installed in, except kube-system (always there).
    let mut namespaces: BTreeSet<String> = components
        .iter()
        .map(|c| c.namespace.clone())
        .chain(remote.iter().map(|(_, r)| r.namespace.clone()))
        .chain([OPENSTACK_NAMESPACE.to_string()])
        .collect();
    namespaces.remove("kube-system");

    if cx.trace.is_some() {
        decisions::record(cx, &components, &nodes);
    }
    let ovirt = ovirt::plan(inv, env.profile, &quorum);
    Some(Plan {
        env: env.name.clone(),
        profile: env.profile,
        target: env.target,
        release: env.release.clone(),
        release_name: cx.catalog.release_name(&env.release).map(String::from),
        inventory: inv.name.clone(),
        components,
        remote,
        nodes,
        mariadb,
        rabbitmq,
        postgres,
        claims: add.claims,
        stand_ins: add.stand_ins,
        storage,
        data_class,
        pools: storage::pools(cx),
        edge,
        secrets,
        ovn_ini: add.ovn_ini,
        quorum,
        placement,
        namespaces,
        bootstrap: infra::bootstrap(cx, &infra),
        dhcp: dhcp::plan(inv),
        ovirt,
        source: SourcePlan {
            url: env
                .publish
                .url
                .clone()
                .or_else(|| env.publish.git.as_ref().and_then(|g| inv.git_url(g)))
                .unwrap_or_else(|| PLACEHOLDER_URL.to_string()),
            branch: crate::model::default_branch(&env.name, env.publish.branch.as_deref()),
            secret: env.publish.secret.clone(),
        },
    })
}

/// The services the build runs: those the environment enables, and what they require.
fn services(cx: &mut Cx) -> Option<BTreeMap<String, Reason>> {
    let enabled: BTreeSet<String> = cx.model.env.services.keys().cloned().collect();
    match catalog::resolve(cx.catalog, &enabled) {
        Ok(s) => Some(s),
        Err(chain) => {
            let at = cx.env_at(&format!("/services/{}", crate::yaml::escape_ptr(&chain[0])));
            let d = Diagnostic::error(
                NO_CHART,
                format!("`{}` is not in the catalog", chain.join(" → ")),
            )
            .at(cx.key_label(&at, "needed here"));
            cx.diags.push(d);
            None
        }
    }
}

/// A 10-hex-digit content hash for the name of a generated ConfigMap: the first bytes
/// of the sha256 of the data's canonical JSON (keys sorted). A change of content is a
/// change of name, so the pods that mount it roll.
pub(crate) fn content_suffix(data: &Value) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(data).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))[..10].to_string()
}

/// Pod anti-affinity across physical machines (helm-toolkit's `pod.affinity.anti`).
fn anti_affinity(kind: AntiAffinity) -> Map<String, Value> {
    values::from_paths([
        (
            "pod.affinity.anti.type.default",
            json!(kind.helm_toolkit_type()),
        ),
        (
            "pod.affinity.anti.topologyKey.default",
            json!(MACHINE_LABEL),
        ),
        ("pod.affinity.anti.weight.default", json!(10)),
    ])
}
