//! The infrastructure a build installs (what the catalog always installs, what its
//! services and storage classes need, closed under `after`), each as a Helm component with
//! the values the plan computes for it, and the nodes' labels and annotations.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, json};

use super::trace::{Layer, Origin};
use super::{
    BootstrapPlan, Component, Cx, ImageFrom, MACHINE_LABEL, NodePlan, PlannedImage, RACK_LABEL,
    Tier, WORKER_LABEL, Why, anti_affinity, values,
};
use crate::catalog::{Fact, Reason};
use crate::model::{Loc, Node, Profile, Provider, Role, SubnetPurpose, Target};

/// The infrastructure components the build installs, by name.
pub(super) fn needed(cx: &Cx, services: &BTreeMap<String, Reason>) -> BTreeSet<String> {
    let env = &cx.model.env;
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

    infra
}

/// The labels and annotations of every node the inventory places on a machine.
pub(super) fn nodes(cx: &Cx, infra: &BTreeSet<String>) -> Vec<NodePlan> {
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
                Role::Worker => put(WORKER_LABEL.0, WORKER_LABEL.1),
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

/// The Helm component of infrastructure `name`: the catalog's values, then what the plan
/// computes for it (the catalog's `planned` facts, its anti-affinity in `base`).
pub(super) fn component(cx: &mut Cx, name: &str, replicas: usize) -> Component {
    let c = &cx.catalog.components[name];
    let profile = cx.model.env.profile;
    let mut rec = cx.recorder();
    let mut values = c.values.clone();
    let component_ptr = format!("/components/{}", crate::yaml::escape_ptr(name));
    rec.wrote(&values, || {
        Origin::new(Layer::Catalog, format!("catalog: {name}'s values")).catalog(
            INFRASTRUCTURE_FILE,
            format!("{component_ptr}/values"),
            true,
        )
    });
    let mut layer = Map::new();
    for (i, p) in c.planned.iter().enumerate() {
        if p.profile.is_some_and(|only| only != profile) {
            continue;
        }
        let fact = match p.fact {
            Fact::BackupTarget => match super::storage::export_for(
                &cx.model.inventory,
                crate::model::ExportPurpose::Backups,
            ) {
                Some((nas, ex)) => json!(format!("nfs://{}:{}", nas.address, ex.path)),
                None => continue,
            },
            Fact::Quorum => json!(replicas),
            Fact::Ha => json!(profile == Profile::Base),
            Fact::MachineLabel => json!(MACHINE_LABEL),
            // OVN central runs on the control-plane nodes.
            Fact::PodCidr => json!(cx.model.inventory.cluster.pods.to_string()),
            Fact::ServiceCidr => json!(cx.model.inventory.cluster.services.to_string()),
            Fact::JoinCidr => json!(cx.model.inventory.cluster.join.to_string()),
            Fact::OvnCentral => json!(
                ovn_central(&cx.model.inventory)
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        let mut one = Map::new();
        values::set(&mut one, &p.path, fact);
        rec.wrote(&one, || {
            fact_origin(cx, p.fact, &format!("{component_ptr}/planned/{i}"))
        });
        values::merge(&mut layer, &one);
    }
    if let (Some(kind), Profile::Base) = (c.anti_affinity, profile) {
        let a = anti_affinity(kind);
        rec.wrote(&a, || {
            Origin::new(
                Layer::Profile,
                "profile base: members kept apart, one per physical machine",
            )
            .input(cx.env_at("/profile"), false)
        });
        values::merge(&mut layer, &a);
    }
    values::merge(&mut values, &layer);
    if let Some(steps) = rec.finish() {
        cx.keep(name, steps);
    }
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

/// Provider subnets, in name order: the physical networks `physnet1`, `physnet2`, ...
pub(super) fn provider_subnets(inv: &crate::model::Inventory) -> Vec<&str> {
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
pub(super) fn ovn_central(inv: &crate::model::Inventory) -> Vec<std::net::IpAddr> {
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

/// What set a planned fact's value, for `gcc explain`: the plan's decision and its inputs.
fn fact_origin(cx: &Cx, fact: Fact, ptr: &str) -> Origin {
    let inv = &cx.model.inventory;
    let env = |p: &str| cx.env_at(p);
    let (layer, what, at): (Layer, &str, Vec<Loc>) = match fact {
        Fact::BackupTarget => (
            Layer::Inventory,
            "inventory: the NAS export for backups",
            super::storage::export_for(inv, crate::model::ExportPurpose::Backups)
                .map(|(_, ex)| ex.at.clone())
                .into_iter()
                .collect(),
        ),
        Fact::Quorum => (
            Layer::Plan,
            "plan: quorum members for the profile (the HA proof in base)",
            vec![env("/profile")],
        ),
        Fact::Ha => (
            Layer::Profile,
            "profile: HA on in base",
            vec![env("/profile")],
        ),
        Fact::MachineLabel => (
            Layer::Plan,
            "plan: the failure domain, the node label of each node's physical machine",
            Vec::new(),
        ),
        Fact::PodCidr | Fact::ServiceCidr | Fact::JoinCidr => (
            Layer::Inventory,
            "inventory: the cluster's networks (kube-ovn's defaults where the inventory names none)",
            inv.cluster
                .all()
                .iter()
                .filter_map(|(_, _, at)| at.cloned())
                .collect(),
        ),
        Fact::OvnCentral => (
            Layer::Plan,
            "plan: OVN central on the control-plane nodes (their first addresses)",
            inv.nodes
                .iter()
                .filter(|n| n.has(Role::ControlPlane))
                .map(|n| n.at.clone())
                .collect(),
        ),
    };
    at.into_iter().fold(
        Origin::new(layer, what).catalog(INFRASTRUCTURE_FILE, ptr.to_string(), false),
        |o, l| o.input(l, false),
    )
}

/// The catalog file of infrastructure components, as the repository names it.
const INFRASTRUCTURE_FILE: &str = "catalog/infrastructure.yaml";

/// What must be done by hand before the GitOps controller runs (see [`BootstrapPlan`]).
pub(super) fn bootstrap(cx: &Cx, infra: &BTreeSet<String>) -> BootstrapPlan {
    let inv = &cx.model.inventory;
    let mut untaint: Vec<String> = inv
        .nodes
        .iter()
        .filter(|n| n.has(Role::ControlPlane) && n.roles.iter().any(|r| *r != Role::ControlPlane))
        .map(|n| n.name.clone())
        .collect();
    untaint.sort();
    BootstrapPlan {
        cni: infra
            .iter()
            .find(|c| cx.catalog.components[*c].cni)
            .cloned(),
        untaint,
        pod_cidr: inv.cluster.pods.to_string(),
        service_cidr: inv.cluster.services.to_string(),
        then: match cx.model.env.target {
            Target::Flux => "flux install; kubectl apply -k flux".into(),
            Target::Argocd => {
                "install Argo CD with argocd-vault-plugin; kubectl apply -k bootstrap".into()
            }
        },
    }
}
