//! Stage 3, plan: decides everything the emitters write, as plain data.
//!
//! Which components run (services enabled by the environment plus what they require,
//! and the infrastructure they need), their chart versions and images, replicas per
//! profile, node labels and OVN annotations from roles and interfaces, failure
//! domains, database and queue accounts, storage classes, address pools, the Secrets
//! the cluster must provide, and the HA proof. Architecture invariant: emitters only
//! translate a [`Plan`]; no decision is taken after this stage.

pub mod ha;
pub mod values;
mod waves;

pub use waves::SyncWaves;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::catalog::{self, Catalog, Reason};
use crate::diag::{Diagnostic, Label};
use crate::load::Loaded;
use crate::model::{Loc, Model, Node, Profile, Provider, Role, SubnetPurpose, Target};

/// Code: a quorum service cannot keep a majority when one machine is lost.
pub const HA_UNPROVABLE: &str = "gcc::plan::ha_unprovable";
/// Code: no node may host a component.
pub const UNPLACEABLE: &str = "gcc::plan::unplaceable";
/// Code: a service (or one it requires) has no chart for its release.
pub const NO_CHART: &str = "gcc::plan::no_chart";
/// Code: the environment's `values` put a literal where a Secret belongs.
pub const SECRET_LITERAL: &str = "gcc::plan::secret_literal";
/// Code: a chart template gcc renders in the chart's place was copied from another
/// version of the chart than the build pins.
pub const REPLACED_TEMPLATE: &str = "gcc::plan::replaced_template";
/// A service that keeps its data on a NAS export has no NFS storage to use.
pub const NO_STORE: &str = "gcc::plan::no_store";

/// Node label carrying a node's physical machine (its failure domain).
pub const MACHINE_LABEL: &str = "topology.gcc.cloud/machine";
/// Node label carrying the machine's rack, when the inventory names one.
pub const RACK_LABEL: &str = "topology.gcc.cloud/rack";
/// The namespace of every OpenStack service.
pub const OPENSTACK_NAMESPACE: &str = "openstack";
/// Name of the MariaDB cluster object (and of its Services' prefix).
pub const MARIADB_CLUSTER: &str = "mariadb-cluster";
/// Namespace of the Flux sources.
pub const FLUX_NAMESPACE: &str = "flux-system";
/// Where Argo CD runs and its Applications and AppProjects live.
pub const ARGOCD_NAMESPACE: &str = "argocd";

/// Default HPA maximum of an API deployment in `base` (the minimum is
/// [`Profile::BASE_MIN_REPLICAS`]).
pub const HPA_MAX: u64 = 6;
/// HPA CPU and memory utilisation target, percent.
pub const HPA_UTILIZATION: u64 = 80;

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
pub fn db_password_secret(user: &str) -> String {
    format!("{user}-db-password")
}

/// The Secret with the RabbitMQ credentials of a service's user (`username`, `password`).
pub fn mq_password_secret(vhost: &str) -> String {
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
}

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
    /// Namespaces gcc creates.
    pub namespaces: BTreeSet<String>,
}

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
}

struct Cx<'a> {
    loaded: &'a Loaded,
    model: &'a Model,
    catalog: &'static Catalog,
    diags: Vec<Diagnostic>,
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
}

/// Plans the build of a checked model.
pub fn plan(loaded: &Loaded, model: &Model) -> Planned {
    let mut cx = Cx {
        loaded,
        model,
        catalog: Catalog::get(),
        diags: Vec::new(),
    };
    let plan = build(&mut cx);
    let mut diagnostics = cx.diags;
    crate::diag::sort(&mut diagnostics);
    let plan = plan.filter(|_| crate::diag::error_count(&diagnostics) == 0);
    Planned { plan, diagnostics }
}

fn build(cx: &mut Cx) -> Option<Plan> {
    let env = &cx.model.env;
    let inv = &cx.model.inventory;
    let base = env.profile == Profile::Base;

    // Services: enabled plus required.
    let enabled: BTreeSet<String> = env.services.keys().cloned().collect();
    let services = match catalog::resolve(cx.catalog, &enabled) {
        Ok(s) => s,
        Err(chain) => {
            let at = cx.env_at(&format!("/services/{}", crate::yaml::escape_ptr(&chain[0])));
            let d = Diagnostic::error(
                NO_CHART,
                format!("`{}` is not in the catalog", chain.join(" → ")),
            )
            .at(cx.key_label(&at, "needed here"));
            cx.diags.push(d);
            return None;
        }
    };

    // Quorum services and the HA proof.
    let needs_db = services
        .keys()
        .any(|s| !cx.catalog.services[s].databases.is_empty());
    let needs_mq = services.keys().any(|s| cx.catalog.services[s].vhost);
    let pg_users: Vec<String> = services
        .keys()
        .filter(|s| !cx.catalog.services[*s].postgres_endpoints.is_empty())
        .cloned()
        .collect();
    let mut quorum = Vec::new();
    let mut wanted: Vec<(&str, Eligible, bool)> = Vec::new();
    use ha::Eligible;
    if needs_db {
        wanted.push(("mariadb", Eligible::WorkerOrControl, false));
    }
    if needs_mq {
        wanted.push(("rabbitmq", Eligible::Worker, false));
    }
    if !pg_users.is_empty() {
        wanted.push(("postgres", Eligible::Worker, false));
    }
    wanted.push(("memcached", Eligible::Control, false));
    wanted.push(("ovn-central", Eligible::ControlPlane, true));
    let profile_at = cx.env_at("/profile");
    for (svc, eligible, per_node) in wanted {
        let result = if !inv.nodes.iter().any(|n| eligible.admits(n)) {
            Err(None)
        } else if base {
            ha::prove(inv, svc, Profile::BASE_QUORUM, eligible, per_node).map_err(Some)
        } else {
            ha::place_single(inv, svc, eligible).ok_or(None)
        };
        match result {
            Ok(p) => quorum.push(p),
            Err(Some(refusal)) => {
                let d = refuse(cx, &refusal, &profile_at);
                cx.diags.push(d);
            }
            Err(None) => {
                let d = Diagnostic::error(
                    UNPLACEABLE,
                    format!(
                        "{svc} needs a node with role {}; inventory `{}` has none",
                        eligible.describe(),
                        inv.name
                    ),
                )
                .at(cx.label(&profile_at, format!("profile {}", env.profile.as_str())))
                .help(format!("add role `{}` to a node", eligible.describe()));
                cx.diags.push(d);
            }
        }
    }
    let replicas = env.profile.quorum();

    // Helm components.
    let mut infra: BTreeSet<String> = cx.catalog.always.iter().cloned().collect();
    for s in services.keys() {
        for i in &cx.catalog.services[s].infra {
            if cx.catalog.components.contains_key(i) {
                infra.insert(i.clone());
            }
        }
    }
    for sc in env.storage.values() {
        infra.insert(
            match sc.provider {
                Provider::Nfs => "csi-driver-nfs",
                Provider::Longhorn => "longhorn",
                Provider::Topolvm => "topolvm",
            }
            .to_string(),
        );
    }
    // Close infrastructure under `after`.
    let mut stack: Vec<String> = infra.iter().cloned().collect();
    while let Some(c) = stack.pop() {
        for a in &cx.catalog.components[&c].after {
            if infra.insert(a.clone()) {
                stack.push(a.clone());
            }
        }
    }

    let nodes = plan_nodes(cx, &infra);
    let mut components = Vec::new();
    for name in &infra {
        components.push(infra_component(cx, name, replicas));
    }
    let memcached_replicas = replicas;
    let mut store_classes = Vec::new();
    let mut claims = Vec::new();
    let mut stand_ins = Vec::new();
    let mut ovn_ini = Vec::new();
    let mut ovn_tls = BTreeSet::new();
    // The inventory's physical networks, one per provider subnet.
    let physnets: Vec<String> = (1..=provider_subnets(inv).len())
        .map(|i| format!("physnet{i}"))
        .collect();
    for (name, reason) in &services {
        let entry = &cx.catalog.services[name];
        let store = match &entry.nas_store {
            Some(want) => match nas_store(cx, name, want) {
                Some(s) => Some(s),
                None => {
                    let (at, text) = match reason {
                        Reason::Enabled => (name.as_str(), "enabled here"),
                        Reason::Required(chain) => (chain[0].as_str(), "needs it"),
                    };
                    let at = cx.env_at(&format!("/services/{}", crate::yaml::escape_ptr(at)));
                    let d = Diagnostic::error(
                        NO_STORE,
                        format!(
                            "{name} keeps its data on a NAS export, but the inventory has no export with purpose `{}` and the environment no NFS storage class",
                            want.purpose.as_str()
                        ),
                    )
                    .at(cx.key_label(&at, text))
                    .help(format!(
                        "give a NAS export `purpose: [{}]`, or add a storage class with `provider: nfs`",
                        want.purpose.as_str()
                    ));
                    cx.diags.push(d);
                    None
                }
            },
            None => None,
        };
        // What the plan computes for the service from the inventory: its NAS store, its
        // OVN client, its physical networks.
        let mut layer = Map::new();
        if let (Some(s), Some(want)) = (store, &entry.nas_store) {
            layer = s.values(want);
            if let Some(claim) = &want.claim {
                claims.push(ClaimPlan {
                    name: claim.name.clone(),
                    class: s.class.clone(),
                    size: claim.size.clone(),
                });
            }
            store_classes.extend(s.new_class);
        }
        for st in &entry.stand_ins {
            values::set(&mut layer, &st.path, json!(st.name));
            stand_ins.push(st.clone());
        }
        if let Some(want) = &entry.ovn {
            let (v, ini) = ovn_client(cx, want);
            values::merge(&mut layer, &v);
            ovn_ini.extend(ini);
            ovn_tls.insert(want.tls_secret.clone());
        }
        if !physnets.is_empty() {
            for path in &entry.physnets {
                values::set(&mut layer, path, json!(physnets.join(",")));
            }
        }
        if let Some(c) = openstack_component(
            cx,
            name,
            reason,
            &services,
            &infra,
            memcached_replicas,
            layer,
        ) {
            components.push(c);
        }
    }
    assign_waves(&mut components);
    components.sort_by(|a, b| a.name.cmp(&b.name));

    // Data services.
    let has_primary_pool = inv
        .subnets
        .iter()
        .flat_map(|s| &s.vip_pools)
        .any(|p| p.name.as_deref() == Some("primary"));
    let mariadb = needs_db.then(|| {
        let mut databases = Vec::new();
        let mut users = Vec::new();
        for s in services.keys() {
            let entry = &cx.catalog.services[s];
            if entry.databases.is_empty() {
                continue;
            }
            users.push(s.clone());
            for d in &entry.databases {
                databases.push(DatabasePlan {
                    service: s.clone(),
                    name: d.name.clone(),
                    database: d.database.clone(),
                });
            }
        }
        MariadbPlan {
            replicas,
            replication: env.profile.replicated_mariadb(),
            databases,
            users,
            backup: env.storage.contains_key("backups").then(|| BackupPlan {
                class: "backups".to_string(),
                cron: cx.catalog.mariadb.backup_cron.clone(),
                storage: cx.catalog.mariadb.backup_storage.clone(),
            }),
            load_balancer: has_primary_pool,
            image: cx.catalog.mariadb.image.clone(),
            storage: cx.catalog.mariadb.storage.clone(),
        }
    });
    let postgres = (!pg_users.is_empty()).then(|| {
        let pg = &cx.catalog.postgres;
        let profile = if base { &pg.base } else { &pg.aio };
        PostgresPlan {
            name: pg.name.clone(),
            replicas,
            services: pg_users,
            team: pg.team.clone(),
            version: pg.version.clone(),
            storage: profile.storage.clone(),
            parameters: profile.parameters.clone(),
        }
    });
    let rabbitmq = needs_mq.then(|| RabbitmqPlan {
        replicas,
        vhosts: services
            .keys()
            .filter(|s| cx.catalog.services[*s].vhost)
            .cloned()
            .collect(),
        load_balancer: has_primary_pool,
        image: cx.catalog.rabbitmq.image.clone(),
        storage: cx.catalog.rabbitmq.storage.clone(),
    });

    let mut storage = plan_storage(cx);
    storage.extend(store_classes);
    let data_class = storage
        .iter()
        .find(|s| s.name == "general")
        .or_else(|| storage.iter().find(|s| s.default))
        .map(|s| s.name.clone());
    let pools = inv
        .subnets
        .iter()
        .flat_map(|s| {
            s.vip_pools.iter().enumerate().map(move |(i, p)| PoolPlan {
                name: p
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{}-vip-{}", s.name, i + 1)),
                subnet: s.name.clone(),
                range: format!("{}-{}", p.start, p.end),
            })
        })
        .collect();

    let mut secrets = required_secrets(&components, mariadb.as_ref(), rabbitmq.as_ref());
    // The operators make their superusers' Secrets.
    let pg_superuser = postgres_superuser_secret(&cx.catalog.postgres);
    for s in &mut secrets {
        if s.name == pg_superuser {
            s.provided_by = ProvidedBy::Operator("postgres-operator".into());
        }
    }
    // kube-ovn keeps its TLS certificates in kube-system; the clients' pods mount a copy.
    for name in ovn_tls {
        secrets.push(RequiredSecret {
            namespace: OPENSTACK_NAMESPACE.into(),
            name,
            keys: ["cacert", "cert", "key"].map(String::from).into(),
            provided_by: ProvidedBy::YouCopying("kube-system/kube-ovn-tls".into()),
        });
    }
    secrets.sort_by(|a, b| a.name.cmp(&b.name));
    // The RabbitMQ operators come with the cluster that needs them.
    let remote: Vec<(String, catalog::Remote)> = if needs_mq {
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
        claims,
        stand_ins,
        storage,
        data_class,
        pools,
        secrets,
        ovn_ini,
        quorum,
        namespaces,
    })
}

fn refuse(cx: &Cx, r: &ha::Refusal, profile_at: &Loc) -> Diagnostic {
    let inv = &cx.model.inventory;
    let listing: Vec<String> = r
        .machines
        .iter()
        .map(|(hw, ns)| {
            let names: Vec<&str> = ns.iter().map(|n| n.name.as_str()).collect();
            format!("{hw} ({})", names.join(", "))
        })
        .collect();
    let shared = r
        .machines
        .iter()
        .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)));
    let msg = match shared {
        Some((hw, ns)) if ns.len() > 1 => format!(
            "{} cannot survive the loss of {hw}: its {} members need {} machines, but the {} nodes run on {}: {}",
            r.service,
            r.replicas,
            r.replicas,
            r.eligible.describe(),
            r.machines.len(),
            listing.join("; ")
        ),
        _ => format!(
            "{} needs {} members on distinct machines, but the {} nodes of inventory `{}` run on {}{}",
            r.service,
            r.replicas,
            r.eligible.describe(),
            inv.name,
            r.machines.len(),
            if listing.is_empty() {
                String::new()
            } else {
                format!(": {}", listing.join("; "))
            }
        ),
    };
    let mut d = Diagnostic::error(HA_UNPROVABLE, msg).help(format!(
        "profile `base` keeps a majority of {} only if each member has its own physical machine; give role `{}` to nodes on other machines, or use profile `aio`",
        r.service,
        r.eligible.describe()
    ));
    match shared {
        Some((hw, ns)) if ns.len() > 1 => {
            if let Some((last, rest)) = ns.split_last() {
                d = d.at(cx.label(&last.placement_at(), format!("also on {hw}")));
                for n in rest {
                    d = d.also(cx.label(&n.placement_at(), format!("on {hw}")));
                }
            }
        }
        _ => d = d.at(cx.label(profile_at, "HA profile")),
    }
    d
}

fn plan_nodes(cx: &Cx, infra: &BTreeSet<String>) -> Vec<NodePlan> {
    let inv = &cx.model.inventory;
    let domains = inv.failure_domains();
    let racks: BTreeMap<&str, &str> = inv
        .hardware
        .iter()
        .filter_map(|h| h.rack.as_deref().map(|r| (h.name.as_str(), r)))
        .collect();
    let longhorn = infra.contains("longhorn");
    let provider = provider_subnets(inv);
    let mut out = Vec::new();
    let mut nodes: Vec<&Node> = inv.nodes.iter().collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    for n in nodes {
        let Some(machine) = domains.get(n.name.as_str()) else {
            continue;
        };
        let mut labels = BTreeMap::new();
        let mut put = |k: &str, v: &str| {
            labels.insert(k.to_string(), v.to_string());
        };
        put(MACHINE_LABEL, machine);
        if let Some(rack) = racks.get(machine) {
            put(RACK_LABEL, rack);
        }
        for role in &n.roles {
            match role {
                Role::ControlPlane => put("kube-ovn/role", "master"),
                Role::Worker => put("node-role.kubernetes.io/worker", "worker"),
                Role::OpenstackControl => put("openstack-control-plane", "enabled"),
                Role::Compute => put("openstack-compute-node", "enabled"),
                Role::Network => put("openstack-network-node", "enabled"),
                Role::Storage => put("openstack-storage-node", "enabled"),
            }
        }
        if longhorn && (n.has(Role::Storage) || n.has(Role::ControlPlane)) {
            put("longhorn.io/storage-node", "enabled");
        }
        let mut annotations = BTreeMap::new();
        if n.has(Role::Network) {
            let mut bridges = BTreeSet::new();
            let mut ports = BTreeSet::new();
            let mut mappings = BTreeSet::new();
            for i in &n.interfaces {
                let (Some(bridge), Some(pos)) = (
                    i.bridge.as_deref(),
                    provider.iter().position(|p| *p == i.subnet),
                ) else {
                    continue;
                };
                bridges.insert(bridge.to_string());
                if let Some(iface) = &i.name {
                    ports.insert(format!("{bridge}:{iface}"));
                }
                mappings.insert(format!("physnet{}:{bridge}", pos + 1));
            }
            let mut put = |k: &str, v: String| {
                annotations.insert(format!("ovn.openstack.org/{k}"), v);
            };
            put("int_bridge", "br-int".into());
            put("availability_zones", "az1".into());
            put("gateway", "enabled".into());
            let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(",");
            if !bridges.is_empty() {
                put("bridges", join(&bridges));
                put("mappings", join(&mappings));
            }
            if !ports.is_empty() {
                put("ports", join(&ports));
            }
        }
        out.push(NodePlan {
            name: n.name.clone(),
            machine: machine.to_string(),
            labels,
            annotations,
        });
    }
    out
}

fn infra_component(cx: &Cx, name: &str, replicas: usize) -> Component {
    let c = &cx.catalog.components[name];
    let base = cx.model.env.profile == Profile::Base;
    let mut values = c.values.clone();
    let mut layer = Map::new();
    match name {
        "memcached" => {
            layer = values::from_paths([("pod.replicas.server", json!(replicas))]);
            if base {
                values::merge(
                    &mut layer,
                    &anti_affinity("requiredDuringSchedulingIgnoredDuringExecution"),
                );
            }
        }
        "postgres-operator" if base => {
            // One instance per machine: the operator writes the clusters' pod anti-affinity.
            layer = values::from_paths([
                ("configKubernetes.enable_pod_antiaffinity", json!(true)),
                (
                    "configKubernetes.pod_antiaffinity_topology_key",
                    json!(MACHINE_LABEL),
                ),
            ]);
        }
        "mariadb-operator" => {
            layer = values::from_paths([
                ("ha.enabled", json!(base)),
                ("ha.replicas", json!(replicas)),
            ]);
        }
        "kube-ovn" => {
            // Inventory-derived: OVN central runs on the control-plane nodes.
            let masters: Vec<String> = ovn_central(&cx.model.inventory)
                .iter()
                .map(ToString::to_string)
                .collect();
            // The chart counts MASTER_NODES for the controller's replicas.
            layer = values::from_paths([("MASTER_NODES", json!(masters.join(",")))]);
        }
        _ => {}
    }
    values::merge(&mut values, &layer);
    let repository_url = cx.catalog.repositories[&c.repository].clone();
    Component {
        helm_wait: true,
        name: name.to_string(),
        tier: Tier::Infrastructure,
        namespace: c.namespace.clone(),
        chart: c.chart.clone(),
        repository: c.repository.clone(),
        repository_url,
        version: c.version.clone(),
        version_from: "catalog".into(),
        release: None,
        images: c
            .images
            .iter()
            .map(|i| PlannedImage {
                image: i.clone(),
                from: ImageFrom::Catalog,
            })
            .collect(),
        reason: Why::Infrastructure,
        depends_on: c.after.clone(),
        wave: 0,
        values,
        secrets: Vec::new(),
        autoscalers: Vec::new(),
    }
}

/// A 10-hex-digit content hash for the name of a generated ConfigMap: the first bytes
/// of the sha256 of the data's canonical JSON (keys sorted). A change of content is a
/// change of name, so the pods that mount it roll.
pub fn content_suffix(data: &Value) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(data).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))[..10].to_string()
}

/// Provider subnets, in name order: the physical networks `physnet1`, `physnet2`, ...
fn provider_subnets(inv: &crate::model::Inventory) -> Vec<&str> {
    let mut provider: Vec<&str> = inv
        .subnets
        .iter()
        .filter(|s| s.purpose == Some(SubnetPurpose::Provider))
        .map(|s| s.name.as_str())
        .collect();
    provider.sort_unstable();
    provider
}

/// The addresses kube-ovn's OVN central listens on: its pods run with the host's network
/// on the control-plane nodes (`kube-ovn/role=master`), in node name order.
fn ovn_central(inv: &crate::model::Inventory) -> Vec<std::net::IpAddr> {
    let mut cp: Vec<&Node> = inv
        .nodes
        .iter()
        .filter(|n| n.has(Role::ControlPlane))
        .collect();
    cp.sort_by(|a, b| a.name.cmp(&b.name));
    cp.iter()
        .filter_map(|n| n.interfaces.iter().find_map(|i| i.address))
        .collect()
}

/// What a chart needs to reach kube-ovn's OVN databases: the `[ovn]` options (connections to
/// every OVN central member, so the client finds the raft leader itself; TLS as kube-ovn
/// serves it) written into the catalog's sections, the TLS Secret mounted where they point,
/// and, for charts whose containers read a generated `ovn.ini` last, a ConfigMap with the
/// same section mounted over it.
fn ovn_client(cx: &Cx, want: &catalog::OvnClient) -> (Map<String, Value>, Option<OvnIniPlan>) {
    let ssl = cx
        .catalog
        .components
        .get("kube-ovn")
        .and_then(|c| values::get(&c.values, "networking.ENABLE_SSL"))
        == Some(&Value::Bool(true));
    let scheme = if ssl { "ssl" } else { "tcp" };
    let remotes = |port: u16| {
        ovn_central(&cx.model.inventory)
            .iter()
            .map(|a| match a {
                std::net::IpAddr::V4(a) => format!("{scheme}:{a}:{port}"),
                std::net::IpAddr::V6(a) => format!("{scheme}:[{a}]:{port}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut section: BTreeMap<String, String> = BTreeMap::new();
    section.insert("ovn_nb_connection".into(), remotes(6641));
    section.insert("ovn_sb_connection".into(), remotes(6642));
    if ssl {
        for db in ["nb", "sb"] {
            for (opt, file) in [
                ("private_key", "key"),
                ("certificate", "cert"),
                ("ca_cert", "cacert"),
            ] {
                section.insert(format!("ovn_{db}_{opt}"), format!("{}/{file}", want.certs));
            }
        }
    }
    let mut v = Map::new();
    for path in &want.sections {
        for (k, val) in &section {
            values::set(&mut v, &format!("{path}.{k}"), json!(val));
        }
    }
    let ini = want.ini.as_ref().map(|ini| {
        let text: String = std::iter::once("[ovn]\n".to_string())
            .chain(section.iter().map(|(k, val)| format!("{k} = {val}\n")))
            .collect();
        let name = format!("{}-{}", ini.config_map, content_suffix(&json!(text)));
        OvnIniPlan { name, text }
    });
    // Volumes and mounts per `pod.mounts.<component>.<container>` entry.
    let mut mounts: BTreeMap<&str, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    if ssl {
        for m in &want.mounts {
            let e = mounts.entry(m.as_str()).or_default();
            e.0.push(json!({ "name": "ovn-tls", "secret": { "secretName": want.tls_secret } }));
            e.1.push(json!({ "name": "ovn-tls", "mountPath": want.certs, "readOnly": true }));
        }
    }
    if let Some(dir) = &want.run_dir {
        for m in &want.mounts {
            let e = mounts.entry(m.as_str()).or_default();
            e.0.push(json!({ "name": "ovn-run", "emptyDir": {} }));
            e.1.push(json!({ "name": "ovn-run", "mountPath": dir }));
        }
    }
    if let (Some(want_ini), Some(plan_ini)) = (&want.ini, &ini) {
        for m in &want_ini.mounts {
            let e = mounts.entry(m.as_str()).or_default();
            e.0.push(json!({ "name": "ovn-ini", "configMap": { "name": plan_ini.name } }));
            e.1.push(json!({
                "name": "ovn-ini",
                "mountPath": want_ini.path,
                "subPath": "ovn.ini",
                "readOnly": true,
            }));
        }
    }
    for (path, (volumes, volume_mounts)) in mounts {
        values::set(&mut v, &format!("{path}.volumes"), json!(volumes));
        values::set(
            &mut v,
            &format!("{path}.volumeMounts"),
            json!(volume_mounts),
        );
    }
    (v, ini)
}

/// The fewest replicas of a service's scaling Deployments in `base`: the environment's
/// `autoscale.min`, else its `replicas`, never under [`Profile::BASE_MIN_REPLICAS`].
fn api_floor(svc: Option<&crate::model::Service>) -> u64 {
    let floor = svc
        .and_then(|s| s.replicas)
        .unwrap_or(Profile::BASE_MIN_REPLICAS)
        .max(Profile::BASE_MIN_REPLICAS);
    svc.and_then(|s| s.autoscale)
        .and_then(|a| a.min)
        .unwrap_or(floor)
        .max(Profile::BASE_MIN_REPLICAS)
}

/// The Secret postgres-operator writes with the cluster's superuser password (its
/// `secret_name_template`, `{username}.{cluster}.credentials.{tprkind}.{tprgroup}`).
pub fn postgres_superuser_secret(pg: &catalog::PostgresDefaults) -> String {
    format!("postgres.{}.credentials.postgresql.acid.zalan.do", pg.name)
}

/// The MariaDB Service OpenStack connects to: the primary's when replicated, else the
/// cluster's own (mariadb-operator creates `<name>-primary` only in HA mode).
fn mariadb_service(profile: Profile) -> String {
    if profile.replicated_mariadb() {
        format!("{MARIADB_CLUSTER}-primary")
    } else {
        MARIADB_CLUSTER.to_string()
    }
}

fn anti_affinity(kind: &str) -> Map<String, Value> {
    values::from_paths([
        ("pod.affinity.anti.type.default", json!(kind)),
        (
            "pod.affinity.anti.topologyKey.default",
            json!(MACHINE_LABEL),
        ),
        ("pod.affinity.anti.weight.default", json!(10)),
    ])
}

fn oslo_messaging_rabbit() -> Value {
    json!({
        "amqp_durable_queues": false,
        "heartbeat_rate": 3,
        "heartbeat_timeout_threshold": 60,
        "kombu_reconnect_delay": 0.5,
        "rabbit_ha_queues": false,
        "rabbit_interval_max": 10,
        "rabbit_quorum_queue": true,
        "rabbit_transient_quorum_queue": false,
        "use_queue_manager": false,
    })
}

fn openstack_component(
    cx: &mut Cx,
    name: &str,
    reason: &Reason,
    services: &BTreeMap<String, Reason>,
    infra: &BTreeSet<String>,
    memcached_replicas: usize,
    computed: Map<String, Value>,
) -> Option<Component> {
    let env = &cx.model.env;
    let entry = &cx.catalog.services[name];
    let base = env.profile == Profile::Base;
    let svc = env.services.get(name);
    let release = svc
        .and_then(|s| s.release.clone())
        .unwrap_or_else(|| env.release.clone());
    let svc_at = cx.env_at(&format!("/services/{}", crate::yaml::escape_ptr(name)));
    let reason_text = match reason {
        Reason::Enabled => Why::Enabled,
        Reason::Required(chain) => Why::Required(chain[..chain.len() - 1].to_vec()),
    };

    // Chart version: environment pin, else the catalog's chart set.
    let pin = svc.and_then(|s| {
        s.version
            .clone()
            .or_else(|| s.chart.as_ref().and_then(|c| c.version.clone()))
    });
    let (version, version_from) = match pin {
        Some(v) => (v, "environment".to_string()),
        None => match cx.catalog.chart_for(name, &env.release) {
            Some(c) => (c.version, c.from_ref),
            None => {
                let chain = match reason {
                    Reason::Enabled => name.to_string(),
                    Reason::Required(chain) => chain.join(" → "),
                };
                let (at, text) = match reason {
                    Reason::Enabled => (svc_at.clone(), "enabled here"),
                    Reason::Required(chain) => (
                        cx.env_at(&format!("/services/{}", crate::yaml::escape_ptr(&chain[0]))),
                        "requires it",
                    ),
                };
                let d = Diagnostic::error(
                    NO_CHART,
                    format!(
                        "no chart version of `{name}` for release {} ({chain})",
                        env.release
                    ),
                )
                .at(cx.key_label(&at, text))
                .help(format!(
                    "pin one with `services.{name}.version`, or use a release the catalog knows: {}",
                    cx.catalog
                        .chart_sets
                        .iter()
                        .map(|s| s.release.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                cx.diags.push(d);
                return None;
            }
        },
    };
    let chart_pin = svc.and_then(|s| s.chart.clone());
    let chart = chart_pin
        .as_ref()
        .and_then(|c| c.name.clone())
        .unwrap_or_else(|| name.to_string());
    let (repository, repository_url) = match chart_pin.as_ref().and_then(|c| c.repo.clone()) {
        Some(url) => (repo_name_for(&url), url),
        None => (
            "openstack-helm".to_string(),
            cx.catalog.repositories["openstack-helm"].clone(),
        ),
    };

    // Layer 1: catalog defaults (Genestack conventions): the chart's own switches off,
    // memcached by its StatefulSet.
    let mut v = entry.values.clone();
    for m in &entry.manifests_off {
        values::set(&mut v, &format!("manifests.{m}"), json!(false));
    }
    // The chart's templates gcc renders in their place, through the chart's extraObjects.
    let mut extra = Vec::new();
    for r in &entry.replace {
        values::set(&mut v, &format!("manifests.{}", r.manifest), json!(false));
        extra.push(json!(catalog::template(&r.template).unwrap_or_default()));
        if r.chart_version != version {
            let d = Diagnostic::warning(
                REPLACED_TEMPLATE,
                format!(
                    "gcc renders its copy of {name}'s {} (from chart {}) in place of the chart's, and this build pins {name} {version}",
                    r.chart_file, r.chart_version
                ),
            )
            .at(cx.key_label(&svc_at, "pinned here"))
            .help(format!(
                "`gcc rehearse` with chart {version} shows whether the copy still renders what the chart's template does"
            ));
            cx.diags.push(d);
        }
    }
    if !extra.is_empty() {
        values::set(&mut v, "extraObjects", Value::Array(extra));
    }
    values::set(
        &mut v,
        "endpoints.oslo_cache.statefulset.name",
        json!("memcached-memcached"),
    );
    // The init Jobs turned off above are dropped from every wait list that names them:
    // kubernetes-entrypoint would wait for a Job that is never rendered, for ever.
    let image_choices = cx.catalog.images_for(name, &release);
    for choice in &image_choices {
        for key in &choice.keys {
            values::set(&mut v, &format!("images.tags.{key}"), json!(choice.image));
        }
    }
    let off = entry.jobs_off(name);
    for (key, jobs) in &entry.job_deps {
        let kept: Vec<&String> = jobs.iter().filter(|j| !off.contains(j)).collect();
        if kept.len() != jobs.len() {
            values::set(
                &mut v,
                &format!("dependencies.static.{key}.jobs"),
                json!(kept),
            );
        }
    }
    // Nor does any pod wait for an endpoint nothing runs behind.
    for (key, deps) in &entry.service_deps {
        let kept: Vec<&catalog::ServiceDep> = deps
            .iter()
            .filter(|d| !entry.endpoints_off.contains(&d.service))
            .collect();
        values::set(
            &mut v,
            &format!("dependencies.static.{key}.services"),
            json!(kept),
        );
    }
    // The PostgreSQL cluster's primary Service (postgres-operator names it after the cluster).
    for e in &entry.postgres_endpoints {
        let pg = &cx.catalog.postgres.name;
        values::set(&mut v, &format!("endpoints.{e}.hosts.default"), json!(pg));
        values::set(
            &mut v,
            &format!("endpoints.{e}.host_fqdn_override.default"),
            json!(format!("{pg}.{OPENSTACK_NAMESPACE}.svc.cluster.local")),
        );
    }
    if !entry.databases.is_empty() {
        for e in &entry.db_endpoints {
            values::set(
                &mut v,
                &format!("endpoints.{e}.hosts.default"),
                json!(mariadb_service(env.profile)),
            );
            values::set(
                &mut v,
                &format!("endpoints.{e}.host_fqdn_override.default"),
                json!(format!(
                    "{}.{OPENSTACK_NAMESPACE}.svc.cluster.local",
                    mariadb_service(env.profile)
                )),
            );
        }
    }
    if entry.vhost {
        values::merge(
            &mut v,
            &values::from_paths([
                (
                    "endpoints.oslo_messaging.hosts.default",
                    json!("rabbitmq-nodes"),
                ),
                (
                    "endpoints.oslo_messaging.host_fqdn_override.default",
                    json!("rabbitmq.openstack.svc.cluster.local"),
                ),
                ("endpoints.oslo_messaging.path", json!(format!("/{name}"))),
            ]),
        );
        values::set(
            &mut v,
            &format!("conf.{name}.oslo_messaging_rabbit"),
            oslo_messaging_rabbit(),
        );
    }
    // What the plan computed from the inventory (see the caller).
    values::merge(&mut v, &computed);
    // Layer 2: profile.
    if base {
        // One PodDisruptionBudget per scaling Deployment: the chart's own goes where gcc
        // writes one (see Autoscaler::pdb).
        for a in &entry.api {
            if let Some(catalog::ChartPdb::Off(switch)) = &a.chart_pdb {
                values::set(&mut v, &format!("manifests.{switch}"), json!(false));
            }
            // Start at the autoscaler's floor, with the chart's resource requests on: an
            // HPA's Utilization target is computed against them.
            values::set(
                &mut v,
                &format!("pod.replicas.{}", a.replicas),
                json!(api_floor(svc)),
            );
        }
        if !entry.api.is_empty() {
            values::set(&mut v, "pod.resources.enabled", json!(true));
        }
    }
    if base && entry.anti_affinity {
        values::merge(
            &mut v,
            &anti_affinity("preferredDuringSchedulingIgnoredDuringExecution"),
        );
    }
    // Layer 3: inventory-derived.
    values::set(
        &mut v,
        "endpoints.oslo_cache.statefulset.replicas",
        json!(memcached_replicas),
    );
    // Layer 4: the environment's values, then secrets out. The environment may wire
    // more paths from Secrets; where it names a catalogued path, its Secret wins.
    let declared: &[catalog::SecretRef] = svc.map_or(&[], |s| &s.secrets);
    let secret_refs: Vec<catalog::SecretRef> = entry
        .secrets
        .iter()
        .filter(|c| !declared.iter().any(|d| d.path == c.path))
        .chain(declared)
        .cloned()
        .collect();
    if let Some(s) = svc {
        for sref in &secret_refs {
            if let Some(lit) = values::get(&s.values, &sref.path).filter(|v| !v.is_null()) {
                let ptr = format!(
                    "{}/values/{}",
                    svc_at.ptr,
                    sref.path
                        .split('.')
                        .map(crate::yaml::escape_ptr)
                        .collect::<Vec<_>>()
                        .join("/")
                );
                let kind = if lit.is_string() {
                    "a literal string"
                } else {
                    "a literal value"
                };
                let d = Diagnostic::error(
                    SECRET_LITERAL,
                    format!(
                        "`{}` of {name} takes a secret, but the environment gives it {kind}",
                        sref.path
                    ),
                )
                .at(cx.label(&cx.env_at(&ptr), "secret written in the input"))
                .help(format!(
                    "remove it: gcc fills it from Secret `{}/{}` key `{}` through valuesFrom",
                    OPENSTACK_NAMESPACE, sref.secret, sref.key
                ));
                cx.diags.push(d);
            }
        }
        values::merge(&mut v, &s.values);
    }
    for sref in &secret_refs {
        values::remove(&mut v, &sref.path);
    }

    // Autoscalers.
    let autoscalers = if base {
        let min = api_floor(svc);
        let max = svc
            .and_then(|s| s.autoscale)
            .and_then(|a| a.max)
            .unwrap_or(HPA_MAX)
            .max(min);
        entry
            .api
            .iter()
            .map(|a| Autoscaler {
                deployment: a.deployment.clone(),
                component: a.component.clone(),
                pdb: a.chart_pdb != Some(catalog::ChartPdb::Kept),
                min,
                max,
            })
            .collect()
    } else {
        Vec::new()
    };

    // Ordering: infrastructure first, keystone before every other service, skyline last.
    let mut depends_on: Vec<String> = entry
        .infra
        .iter()
        .filter(|i| infra.contains(*i))
        .cloned()
        .collect();
    if name != "keystone" {
        depends_on.push("keystone".into());
    }
    if name == "skyline" {
        depends_on.extend(
            services
                .keys()
                .filter(|s| *s != "skyline" && *s != "keystone")
                .cloned(),
        );
    }
    depends_on.sort();
    depends_on.dedup();

    Some(Component {
        helm_wait: !entry.waits_on_hooks,
        name: name.to_string(),
        tier: Tier::Openstack,
        namespace: OPENSTACK_NAMESPACE.to_string(),
        chart,
        repository,
        repository_url,
        version,
        version_from,
        images: planned_images(&v, &image_choices),
        release: Some(release),
        reason: reason_text,
        depends_on,
        wave: 0,
        values: v,
        secrets: secret_refs,
        autoscalers,
    })
}

/// The images a service's final values run: every string under `images.tags`, each
/// marked with where it comes from (the environment where it is no catalog choice).
fn planned_images(
    values: &Map<String, Value>,
    choices: &[catalog::ImageChoice],
) -> Vec<PlannedImage> {
    let set: BTreeSet<&str> = values::get(values, "images.tags")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|tags| tags.values())
        .filter_map(Value::as_str)
        .collect();
    set.into_iter()
        .map(|image| PlannedImage {
            image: image.to_string(),
            from: match choices.iter().find(|c| c.image == image) {
                Some(c) if c.by_convention => ImageFrom::Convention,
                Some(_) => ImageFrom::Catalog,
                None => ImageFrom::Environment,
            },
        })
        .collect()
}

/// A repository name for a user-supplied chart URL: its last path segment or host.
fn repo_name_for(url: &str) -> String {
    let trimmed = url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("charts");
    let name: String = trimmed
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "charts".into()
    } else {
        name
    }
}

/// Wave = 0 without dependencies, else 1 + the deepest dependency's wave.
fn assign_waves(components: &mut [Component]) {
    let deps: BTreeMap<String, Vec<String>> = components
        .iter()
        .map(|c| (c.name.clone(), c.depends_on.clone()))
        .collect();
    fn wave(
        name: &str,
        deps: &BTreeMap<String, Vec<String>>,
        memo: &mut BTreeMap<String, u32>,
        depth: u32,
    ) -> u32 {
        if let Some(w) = memo.get(name) {
            return *w;
        }
        if depth > 64 {
            return 0; // a cycle; the catalog test forbids them
        }
        let w = deps
            .get(name)
            .map(|ds| {
                ds.iter()
                    .filter(|d| deps.contains_key(*d))
                    .map(|d| wave(d, deps, memo, depth + 1) + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        memo.insert(name.to_string(), w);
        w
    }
    let mut memo = BTreeMap::new();
    for c in components.iter_mut() {
        c.depends_on.retain(|d| deps.contains_key(d));
        c.wave = wave(&c.name, &deps, &mut memo, 0);
    }
}

/// The storage class a service's NAS store uses, and the class gcc adds for it.
struct NasStoreChoice {
    class: String,
    size: Option<String>,
    new_class: Option<StoragePlan>,
}

impl NasStoreChoice {
    /// The values that put the chart's store (`want`) on the class: its own claim's class
    /// and size, or the mounts of the claim gcc writes.
    fn values(&self, want: &catalog::NasStore) -> Map<String, Value> {
        let mut v = Map::new();
        if let Some(class) = &want.class {
            values::set(&mut v, class, json!(self.class));
        }
        if let (Some(path), Some(size)) = (&want.size, &self.size) {
            values::set(&mut v, path, json!(size));
        }
        if let Some(claim) = &want.claim {
            for m in &claim.mounts {
                values::set(
                    &mut v,
                    &format!("{m}.volumes"),
                    json!([{ "name": claim.name, "persistentVolumeClaim": { "claimName": claim.name } }]),
                );
                values::set(
                    &mut v,
                    &format!("{m}.volumeMounts"),
                    json!([{ "name": claim.name, "mountPath": claim.path }]),
                );
            }
        }
        v
    }
}

/// Where `service` keeps its data of `want.purpose`: the environment's NFS class on an
/// export with that purpose (by class name), else a class gcc adds (`<service>-<purpose>`)
/// on the first such export of the inventory, else the environment's first NFS class.
fn nas_store(cx: &Cx, service: &str, want: &catalog::NasStore) -> Option<NasStoreChoice> {
    let env = &cx.model.env;
    let inv = &cx.model.inventory;
    let nfs_classes = env
        .storage
        .iter()
        .filter(|(_, s)| s.provider == Provider::Nfs);
    // Several classes on such exports (aio: one export for everything): the cluster's
    // default class first, then by name.
    let on_purpose = nfs_classes
        .clone()
        .filter_map(|(name, s)| {
            let (_, ex) = inv.export(s.export.as_deref()?)?;
            ex.purpose.contains(&want.purpose).then(|| {
                let choice = NasStoreChoice {
                    class: name.clone(),
                    size: ex.capacity.clone(),
                    new_class: None,
                };
                (!default_class(env, name), choice)
            })
        })
        .min_by(|a, b| (a.0, &a.1.class).cmp(&(b.0, &b.1.class)))
        .map(|(_, c)| c);
    let added = || {
        inv.nas.iter().find_map(|nas| {
            let ex = nas
                .exports
                .iter()
                .find(|x| x.purpose.contains(&want.purpose))?;
            let class = format!("{service}-{}", want.purpose.as_str());
            (!env.storage.contains_key(&class)).then(|| NasStoreChoice {
                size: ex.capacity.clone(),
                new_class: Some(StoragePlan {
                    name: class.clone(),
                    provider: Provider::Nfs,
                    default: false,
                    nfs: Some((nas.address.to_string(), ex.path.clone())),
                    replicas: None,
                    retain: true,
                }),
                class,
            })
        })
    };
    let any_nfs = || {
        nfs_classes.clone().next().map(|(name, s)| NasStoreChoice {
            class: name.clone(),
            size: s
                .export
                .as_deref()
                .and_then(|e| inv.export(e))
                .and_then(|(_, ex)| ex.capacity.clone()),
            new_class: None,
        })
    };
    on_purpose.or_else(added).or_else(any_nfs)
}

/// Whether the environment's storage class `name` is the cluster's default: the one marked
/// `default: true`, else `general` when none is marked.
fn default_class(env: &crate::model::Environment, name: &str) -> bool {
    let explicit = env.storage.values().any(|s| s.default == Some(true));
    env.storage
        .get(name)
        .is_some_and(|s| s.default.unwrap_or(!explicit && name == "general"))
}

fn plan_storage(cx: &Cx) -> Vec<StoragePlan> {
    let env = &cx.model.env;
    let inv = &cx.model.inventory;
    env.storage
        .iter()
        .map(|(name, s)| {
            let nfs = s
                .export
                .as_deref()
                .and_then(|e| inv.export(e))
                .map(|(nas, ex)| (nas.address.to_string(), ex.path.clone()));
            StoragePlan {
                name: name.clone(),
                provider: s.provider,
                default: default_class(env, name),
                nfs: if s.provider == Provider::Nfs {
                    nfs
                } else {
                    None
                },
                replicas: (s.provider == Provider::Longhorn).then(|| {
                    s.replicas
                        .unwrap_or(if env.profile == Profile::Base { 2 } else { 1 })
                }),
                retain: false,
            }
        })
        .collect()
}

fn required_secrets(
    components: &[Component],
    mariadb: Option<&MariadbPlan>,
    rabbitmq: Option<&RabbitmqPlan>,
) -> Vec<RequiredSecret> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in components {
        for s in &c.secrets {
            map.entry(s.secret.clone())
                .or_default()
                .insert(s.key.clone());
        }
    }
    if let Some(m) = mariadb {
        let root = map.entry("mariadb".into()).or_default();
        root.insert("root-password".into());
        root.insert("password".into());
        for u in &m.users {
            map.entry(db_password_secret(u))
                .or_default()
                .insert("password".into());
        }
    }
    if let Some(r) = rabbitmq {
        for v in &r.vhosts {
            let e = map.entry(mq_password_secret(v)).or_default();
            e.insert("username".into());
            e.insert("password".into());
        }
    }
    map.into_iter()
        .map(|(name, keys)| RequiredSecret {
            namespace: OPENSTACK_NAMESPACE.into(),
            provided_by: if name == "rabbitmq-default-user" {
                ProvidedBy::Operator("rabbitmq-operator".into())
            } else {
                ProvidedBy::You
            },
            name,
            keys,
        })
        .collect()
}
