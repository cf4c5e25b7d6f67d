//! Install order as numbered waves, for targets that express order that way (Argo CD
//! sync waves). Flux expresses the same order with `dependsOn` and needs none of this.
//!
//! Order: Namespaces (and cluster-wide objects that need nothing) → infrastructure
//! components by dependency depth (operators and their CRDs) → the clusters those
//! operators run (MariaDB, RabbitMQ, MetalLB pools) → per-service accounts, HPAs and
//! PDBs → OpenStack services by dependency depth.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Component, Plan, Tier};

/// The wave numbers of one plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SyncWaves {
    /// Namespaces, StorageClasses, Node labels, the Argo CD AppProject.
    pub namespaces: i64,
    /// MariaDB, RabbitMQ clusters, their config, MetalLB pools.
    pub clusters: i64,
    /// Databases, users, grants, vhosts, permissions, policies, HPAs, PDBs.
    pub accounts: i64,
    services: i64,
    first_service_depth: u32,
    /// The public edge (Gateway, routes, certificates): after every service.
    pub edge: i64,
}

impl SyncWaves {
    /// The wave of a Helm component: infrastructure right after the namespaces,
    /// OpenStack services after the accounts, each by its dependency depth.
    pub fn component(&self, c: &Component) -> i64 {
        match c.tier {
            Tier::Infrastructure => self.namespaces + 1 + i64::from(c.wave),
            Tier::Openstack => {
                self.services + i64::from(c.wave.saturating_sub(self.first_service_depth))
            }
        }
    }

    /// The wave of a plain object by its kind: its stage's.
    pub(crate) fn for_kind(&self, kind: &str) -> i64 {
        match Stage::of_kind(kind) {
            Stage::Infrastructure => self.namespaces,
            Stage::Accounts => self.accounts,
            Stage::Operators | Stage::Clusters => self.clusters,
            Stage::Services => self.edge,
        }
    }
}

/// The stages a cluster is brought up in, in order: each one's objects need only what the
/// stages before it installed. Flux applies each as one Kustomization that waits for its
/// objects to be ready and depends on the stage before; Argo CD numbers the same order as
/// sync waves ([`SyncWaves`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Namespaces, StorageClasses, chart sources, and the infrastructure releases:
    /// controllers and the CRDs they bring (cert-manager, MetalLB, the operators' charts).
    Infrastructure,
    /// Manifests applied as their projects publish them (the RabbitMQ operators), which
    /// hold objects of the CRDs the infrastructure installs (cert-manager's).
    Operators,
    /// What the operators run: the MariaDB, RabbitMQ and PostgreSQL clusters, MetalLB
    /// pools, backups, and the ConfigMaps, Secrets and claims the services mount.
    Clusters,
    /// Per-service accounts in those clusters (databases, users, grants, vhosts,
    /// permissions, policies), and the services' autoscalers and disruption budgets.
    Accounts,
    /// The OpenStack services' releases, and the public edge in front of them (the
    /// Gateway, its routes, issuers and certificates), which nothing in the cluster waits on.
    Services,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 5] = [
        Stage::Infrastructure,
        Stage::Operators,
        Stage::Clusters,
        Stage::Accounts,
        Stage::Services,
    ];

    /// Its name: `infrastructure`, `operators`, ...
    pub fn name(self) -> &'static str {
        match self {
            Stage::Infrastructure => "infrastructure",
            Stage::Operators => "operators",
            Stage::Clusters => "clusters",
            Stage::Accounts => "accounts",
            Stage::Services => "services",
        }
    }

    /// Its directory in a staged tree, numbered in order: `1-infrastructure`, ...
    pub fn dir(self) -> String {
        let n = Stage::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1;
        format!("{n}-{}", self.name())
    }

    /// The stage before it.
    pub fn before(self) -> Option<Stage> {
        let i = Stage::ALL.iter().position(|s| *s == self)?;
        i.checked_sub(1).map(|i| Stage::ALL[i])
    }

    /// The stage of a plain object (not a Helm release) by its kind.
    pub(crate) fn of_kind(kind: &str) -> Stage {
        match kind {
            "Namespace" | "StorageClass" | "Node" | "AppProject" | "HelmRepository"
            | "OCIRepository" => Stage::Infrastructure,
            "Database"
            | "Grant"
            | "User"
            | "Vhost"
            | "Permission"
            | "Policy"
            | "HorizontalPodAutoscaler"
            | "PodDisruptionBudget" => Stage::Accounts,
            "EnvoyProxy" | "GatewayClass" | "Gateway" | "HTTPRoute" | "ClusterIssuer"
            | "Certificate" => Stage::Services,
            _ => Stage::Clusters,
        }
    }
}

impl Plan {
    /// The stage an object of this build is applied in: a Helm release (HelmRelease or
    /// Application) by its component's tier, any other object by its kind.
    pub fn stage_of(&self, kind: &str, name: &str) -> Stage {
        match (kind, self.component(name)) {
            ("HelmRelease" | "Application", Some(c)) if c.tier == Tier::Openstack => {
                Stage::Services
            }
            ("HelmRelease" | "Application", _) => Stage::Infrastructure,
            _ => Stage::of_kind(kind),
        }
    }
}

impl Plan {
    /// The install waves of this plan.
    pub(crate) fn sync_waves(&self) -> SyncWaves {
        let depth = |tier: Tier| {
            self.components
                .iter()
                .filter(move |c| c.tier == tier)
                .map(|c| c.wave)
        };
        let infra_max = depth(Tier::Infrastructure).max().map_or(0, i64::from);
        let namespaces = 0;
        let clusters = namespaces + 1 + infra_max + 1;
        let accounts = clusters + 1;
        let services = accounts + 1;
        let first_service_depth = depth(Tier::Openstack).min().unwrap_or(0);
        let last_service_depth = depth(Tier::Openstack).max().unwrap_or(0);
        SyncWaves {
            namespaces,
            clusters,
            accounts,
            services,
            first_service_depth,
            edge: services + i64::from(last_service_depth.saturating_sub(first_service_depth)) + 1,
        }
    }
}

/// Wave = 0 without dependencies, else 1 + the deepest dependency's wave.
pub(super) fn assign(components: &mut [Component]) {
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
