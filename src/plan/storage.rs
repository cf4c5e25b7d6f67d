//! Storage and addresses: the StorageClasses (the environment's, and those gcc adds for
//! services' stores on NAS exports), the class the data services use, and the MetalLB
//! pools.

use serde_json::{Map, Value, json};

use super::trace::{Layer, Origin};
use super::{
    BACKUPS_CLASS, Cx, EXPORT_PURPOSE_DOUBLED, PoolPlan, StoragePlan, UNANNOUNCED, UNUSED_EXPORT,
    WORKER_LABEL, values,
};
use crate::catalog;
use crate::diag::Diagnostic;
use std::collections::BTreeSet;

use crate::model::{Export, ExportPurpose, Inventory, Nas, Pool, Profile, Provider, Role, Subnet};

/// The storage class a service's NAS store uses, and the class gcc adds for it.
pub(super) struct NasStoreChoice {
    pub class: String,
    size: Option<String>,
    pub new_class: Option<StoragePlan>,
    /// Where the choice comes from: the environment's class, or the inventory's export.
    at: Option<crate::model::Loc>,
}

impl NasStoreChoice {
    /// What set the store's values, for `gcc explain`.
    pub fn origin(&self, purpose: ExportPurpose) -> Origin {
        let what = match &self.new_class {
            Some(_) => format!(
                "inventory: the NAS export for {}, through class {}",
                purpose.as_str(),
                self.class
            ),
            None => format!(
                "environment: storage class {} for {}",
                self.class,
                purpose.as_str()
            ),
        };
        let layer = if self.new_class.is_some() {
            Layer::Inventory
        } else {
            Layer::Environment
        };
        let origin = Origin::new(layer, what);
        match &self.at {
            Some(at) => origin.input(at.clone(), false),
            None => origin,
        }
    }

    /// The values that put the chart's store (`want`) on the class: its own claim's class
    /// and size, or the mounts of the claim gcc writes.
    pub fn values(&self, want: &catalog::NasStore) -> Map<String, Value> {
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
pub(super) fn nas_store(
    cx: &Cx,
    service: &str,
    want: &catalog::NasStore,
) -> Option<NasStoreChoice> {
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
                    at: s.at.clone(),
                };
                (!default_class(env, name), choice)
            })
        })
        .min_by(|a, b| (a.0, &a.1.class).cmp(&(b.0, &b.1.class)))
        .map(|(_, c)| c);
    let added = || {
        export_for(inv, want.purpose).and_then(|(nas, ex)| {
            let class = format!("{service}-{}", want.purpose.as_str());
            (!env.storage.contains_key(&class)).then(|| NasStoreChoice {
                at: Some(ex.at.clone()),
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
            at: s.at.clone(),
        })
    };
    on_purpose.or_else(added).or_else(any_nfs)
}

/// The NAS export for `purpose`: the inventory's first (the check makes it the only one
/// when the build needs it).
pub(super) fn export_for(inv: &Inventory, purpose: ExportPurpose) -> Option<(&Nas, &Export)> {
    inv.nas.iter().find_map(|nas| {
        nas.exports
            .iter()
            .find(|x| x.purpose.contains(&purpose))
            .map(|x| (nas, x))
    })
}

/// What the build keeps on NAS exports, by purpose: the services' stores and the backups
/// of the infrastructure charts that take a backup target.
pub(super) fn needed_purposes(
    cx: &Cx,
    services: &std::collections::BTreeMap<String, catalog::Reason>,
    infra: &BTreeSet<String>,
) -> BTreeSet<ExportPurpose> {
    let stores = services
        .keys()
        .filter_map(|s| cx.catalog.services[s].nas_store.as_ref().map(|n| n.purpose));
    let backups = infra
        .iter()
        .filter(|c| {
            cx.catalog.components[*c]
                .planned
                .iter()
                .any(|p| p.fact == catalog::Fact::BackupTarget)
        })
        .map(|_| ExportPurpose::Backups);
    stores.chain(backups).collect()
}

/// Checks the exports against what the build takes from them: each purpose in `needed`
/// (a service's store, the backups of a chart) has one export, not two
/// (`export_purpose_doubled`: which would be meant?); an export no storage class names
/// and whose purposes nothing needs is a warning (`unused_export`).
pub(super) fn check_exports(cx: &mut Cx, needed: &BTreeSet<ExportPurpose>) {
    let inv = &cx.model.inventory;
    let named: BTreeSet<&str> = cx
        .model
        .env
        .storage
        .values()
        .filter_map(|s| s.export.as_deref())
        .collect();
    let mut first: std::collections::BTreeMap<ExportPurpose, (&Nas, &Export)> =
        std::collections::BTreeMap::new();
    let mut diags = Vec::new();
    for nas in &inv.nas {
        for ex in &nas.exports {
            for p in &ex.purpose {
                if !needed.contains(p) {
                    continue;
                }
                if let Some((n0, e0)) = first.get(p) {
                    let i = ex.purpose.iter().position(|q| q == p).unwrap_or(0);
                    let i0 = e0.purpose.iter().position(|q| q == p).unwrap_or(0);
                    diags.push(
                        Diagnostic::error(
                            EXPORT_PURPOSE_DOUBLED,
                            format!(
                                "exports `{}/{}` and `{}/{}` both have purpose `{}`",
                                n0.name,
                                e0.name,
                                nas.name,
                                ex.name,
                                p.as_str()
                            ),
                        )
                        .at(cx.label(&ex.at.child("purpose").child(i), "again here"))
                        .also(cx.label(&e0.at.child("purpose").child(i0), "first here"))
                        .help(format!(
                            "the build stores {} on one export; keep `{}` on one of them",
                            p.as_str(),
                            p.as_str()
                        )),
                    );
                } else {
                    first.insert(*p, (nas, ex));
                }
            }
            let reference = format!("{}/{}", nas.name, ex.name);
            let used =
                named.contains(reference.as_str()) || ex.purpose.iter().any(|p| needed.contains(p));
            if !used {
                let purposes: Vec<&str> = ex.purpose.iter().map(|p| p.as_str()).collect();
                diags.push(
                    Diagnostic::warning(
                        UNUSED_EXPORT,
                        format!("export `{reference}` is not used by this environment"),
                    )
                    .at(cx.label(&ex.at.child("name"), "unused"))
                    .help(if purposes.is_empty() {
                        "give it a `purpose` (volumes, images, backups) or name it in a storage class's `export`".to_string()
                    } else {
                        format!(
                            "nothing enabled keeps {} on a NAS; name it in a storage class's `export`, or remove it",
                            purposes.join(" or ")
                        )
                    }),
                );
            }
        }
    }
    cx.diags.extend(diags);
}

/// Whether the environment's storage class `name` is the cluster's default: the one marked
/// `default: true`, else `general` when none is marked.
fn default_class(env: &crate::model::Environment, name: &str) -> bool {
    let explicit = env.storage.values().any(|s| s.default == Some(true));
    env.storage
        .get(name)
        .is_some_and(|s| s.default.unwrap_or(!explicit && name == "general"))
}

/// The environment's storage classes, on the NAS exports they name.
pub(super) fn classes(cx: &Cx) -> Vec<StoragePlan> {
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
                // Backups outlive the claim that wrote them.
                retain: name == BACKUPS_CLASS
                    || s.export
                        .as_deref()
                        .and_then(|e| inv.export(e))
                        .is_some_and(|(_, ex)| {
                            ex.purpose.iter().eq([ExportPurpose::Backups].iter())
                        }),
            }
        })
        .collect()
}

/// The class the data services' volumes use (MariaDB, RabbitMQ, PostgreSQL): `general`
/// when there is one, else the cluster's default.
pub(super) fn data_class(storage: &[StoragePlan]) -> Option<String> {
    storage
        .iter()
        .find(|s| s.name == "general")
        .or_else(|| storage.iter().find(|s| s.default))
        .map(|s| s.name.clone())
}

/// Every VIP pool of the inventory with its MetalLB name: the inventory's, else
/// `<subnet>-vip-<n>`; and its subnet.
pub(super) fn vip_pools(inv: &Inventory) -> impl Iterator<Item = (String, &Subnet, &Pool)> {
    inv.subnets.iter().flat_map(|s| {
        s.vip_pools.iter().enumerate().map(move |(i, p)| {
            let name = p
                .name
                .clone()
                .unwrap_or_else(|| format!("{}-vip-{}", s.name, i + 1));
            (name, s, p)
        })
    })
}

/// One MetalLB pool per VIP pool of the inventory, named by the inventory or after its
/// subnet, announced by the worker nodes; a pool none of them has an interface on could
/// not be announced (MetalLB answers ARP for its addresses from the node's interface on
/// that network) and is refused.
pub(super) fn pools(cx: &mut Cx) -> Vec<PoolPlan> {
    let inv = &cx.model.inventory;
    let mut out = Vec::new();
    for (name, s, p) in vip_pools(inv) {
        let reachable = inv
            .nodes
            .iter()
            .filter(|n| n.has(Role::Worker))
            .any(|n| n.interfaces.iter().any(|i| i.subnet == s.name));
        if !reachable {
            let d = Diagnostic::error(
                    UNANNOUNCED,
                    format!(
                        "VIP pool `{name}` cannot be announced: MetalLB announces it from the worker nodes, and none has an interface on subnet `{}`",
                        s.name
                    ),
                )
                .at(cx.label(&p.at, "announced by no node"))
                .help(format!(
                    "give a node with role `worker` an interface on subnet `{}`",
                    s.name
                ));
            cx.diags.push(d);
        }
        out.push(PoolPlan {
            name,
            subnet: s.name.clone(),
            range: format!("{}-{}", p.start, p.end),
            announced_by: [(WORKER_LABEL.0.to_string(), WORKER_LABEL.1.to_string())].into(),
        });
    }
    out
}
