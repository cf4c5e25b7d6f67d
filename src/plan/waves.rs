//! Install order as numbered waves, for targets that express order that way (Argo CD
//! sync waves). Flux expresses the same order with `dependsOn` and needs none of this.
//!
//! Order: Namespaces (and cluster-wide objects that need nothing) → infrastructure
//! components by dependency depth (operators and their CRDs) → the clusters those
//! operators run (MariaDB, RabbitMQ, MetalLB pools) → per-service accounts, HPAs and
//! PDBs → OpenStack services by dependency depth.

use std::collections::BTreeMap;

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

    /// The wave of a plain object by its kind.
    pub(crate) fn for_kind(&self, kind: &str) -> i64 {
        match kind {
            "Namespace" | "StorageClass" | "Node" | "AppProject" => self.namespaces,
            "Database"
            | "Grant"
            | "User"
            | "Vhost"
            | "Permission"
            | "Policy"
            | "HorizontalPodAutoscaler"
            | "PodDisruptionBudget" => self.accounts,
            _ => self.clusters,
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
        SyncWaves {
            namespaces,
            clusters,
            accounts,
            services: accounts + 1,
            first_service_depth: depth(Tier::Openstack).min().unwrap_or(0),
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
