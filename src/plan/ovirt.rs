//! The lab's VMs as oVirt should hold them: a definition per VM (nodes and the lab's other
//! machines), an affinity group pinning each VM to the hypervisor the inventory puts it on
//! (positive, enforcing host rule: a live migration would make the node's machine label,
//! and so the HA proof, wrong), and, in `base`, a negative enforcing VM-affinity group over
//! the VMs that hold the members of each quorum.
//!
//! The emitter writes them as variables of the `ovirt.ovirt.vm_infra` role. oVirt names:
//! the host is the hypervisor's name, the cluster the hypervisor's (`Default`, oVirt's
//! own, when the inventory names none), and each NIC's logical network the subnet's name.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ha::Proof;
use crate::model::{Inventory, Placement, Profile};

/// oVirt's own cluster name, for hypervisors the inventory gives no cluster.
pub const DEFAULT_CLUSTER: &str = "Default";

/// The oVirt side of the lab.
#[derive(Debug, Clone, Serialize)]
pub struct OvirtPlan {
    /// Every VM, by name.
    pub vms: Vec<OvirtVm>,
    /// Affinity groups: the pins, then the quorums'.
    pub groups: Vec<AffinityGroup>,
}

/// One VM.
#[derive(Debug, Clone, Serialize)]
pub struct OvirtVm {
    /// The node's or machine's name.
    pub name: String,
    /// A Kubernetes node (else one of the lab's other machines).
    pub node: bool,
    /// Its hypervisor (the oVirt host).
    pub host: String,
    /// The hypervisor's oVirt cluster.
    pub cluster: String,
    /// CPU cores.
    pub cores: Option<u64>,
    /// Memory, in oVirt's units (`32GiB`).
    pub memory: Option<String>,
    /// NICs, in the inventory's order.
    pub nics: Vec<OvirtNic>,
}

/// One NIC of a VM.
#[derive(Debug, Clone, Serialize)]
pub struct OvirtNic {
    /// The interface's name, else `nic<N>`.
    pub name: String,
    /// The logical network: the subnet's name.
    pub network: String,
    /// The interface's MAC (else oVirt's MAC pool picks one).
    pub mac: Option<String>,
}

/// An oVirt affinity group.
#[derive(Debug, Clone, Serialize)]
pub struct AffinityGroup {
    /// Group name.
    pub name: String,
    /// Its cluster.
    pub cluster: String,
    /// What it guarantees, for people.
    pub description: String,
    /// Its VMs.
    pub vms: Vec<String>,
    /// A pin: the host its VMs must run on (positive, enforcing host rule).
    pub host: Option<String>,
    /// The quorum whose member VMs it keeps on separate hosts (negative, enforcing VM
    /// rule).
    pub apart: Option<String>,
}

impl OvirtPlan {
    /// The group pinning `vm` to its hypervisor.
    pub fn pin_of(&self, vm: &str) -> Option<&AffinityGroup> {
        self.groups
            .iter()
            .find(|g| g.host.is_some() && g.vms.iter().any(|v| v == vm))
    }

    /// The groups keeping the members of quorum `service` apart (one per cluster).
    pub fn apart_of<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a AffinityGroup> {
        self.groups
            .iter()
            .filter(move |g| g.apart.as_deref() == Some(service))
    }
}

/// `32Gi` → `32GiB`, `500M` → `500MB`: Kubernetes quantities in oVirt's units.
pub(crate) fn ovirt_memory(quantity: &str) -> String {
    let digits = quantity.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    match &quantity[digits.len()..] {
        "" => format!("{digits}B"),
        unit => format!("{digits}{unit}B"),
    }
}

/// The oVirt plan of `inv`; `None` when no node or machine is a VM.
pub fn plan(inv: &Inventory, profile: Profile, quorum: &[Proof]) -> Option<OvirtPlan> {
    let hypervisors: BTreeMap<&str, &str> = inv
        .hypervisors
        .iter()
        .map(|h| {
            (
                h.name.as_str(),
                h.cluster.as_deref().unwrap_or(DEFAULT_CLUSTER),
            )
        })
        .collect();
    let mut vms: Vec<OvirtVm> = inv
        .hosts()
        .filter_map(|h| {
            let Placement::Vm(host) = h.placement else {
                return None;
            };
            Some(OvirtVm {
                name: h.name.to_string(),
                node: h.noun == "node",
                host: host.clone(),
                cluster: hypervisors
                    .get(host.as_str())
                    .copied()
                    .unwrap_or(DEFAULT_CLUSTER)
                    .to_string(),
                cores: h.cpu,
                memory: h.memory.map(ovirt_memory),
                nics: h
                    .interfaces
                    .iter()
                    .enumerate()
                    .map(|(i, iface)| OvirtNic {
                        name: iface
                            .name
                            .clone()
                            .unwrap_or_else(|| format!("nic{}", i + 1)),
                        network: iface.subnet.clone(),
                        mac: iface.mac.map(|m| m.to_string()),
                    })
                    .collect(),
            })
        })
        .collect();
    if vms.is_empty() {
        return None;
    }
    vms.sort_by(|a, b| a.name.cmp(&b.name));
    let mut groups: Vec<AffinityGroup> = vms
        .iter()
        .map(|vm| AffinityGroup {
            name: format!("{}-on-{}", vm.name, vm.host),
            cluster: vm.cluster.clone(),
            description: if vm.node {
                format!(
                    "gcc: {} runs on {} only (its node labels and the HA proof name that host's machine)",
                    vm.name, vm.host
                )
            } else {
                format!("gcc: {} runs on {} only, as the inventory places it", vm.name, vm.host)
            },
            vms: vec![vm.name.clone()],
            host: Some(vm.host.clone()),
            apart: None,
        })
        .collect();
    if profile == Profile::Base {
        let cluster_of: BTreeMap<&str, &str> = vms
            .iter()
            .map(|v| (v.name.as_str(), v.cluster.as_str()))
            .collect();
        for proof in quorum {
            // The members on VMs, by cluster (an affinity group lives in one cluster).
            let mut by_cluster: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for m in &proof.members {
                if let Some(cluster) = cluster_of.get(m.node.as_str()) {
                    by_cluster.entry(cluster).or_default().push(m.node.clone());
                }
            }
            let several = by_cluster.len() > 1;
            for (cluster, mut members) in by_cluster {
                if members.len() < 2 {
                    continue;
                }
                members.sort();
                members.dedup();
                groups.push(AffinityGroup {
                    name: if several {
                        format!("{}-apart-{}", proof.service, cluster.to_ascii_lowercase())
                    } else {
                        format!("{}-apart", proof.service)
                    },
                    cluster: cluster.to_string(),
                    description: format!(
                        "gcc: the {} members' VMs on separate hosts (the HA proof's placement)",
                        proof.service
                    ),
                    vms: members,
                    host: None,
                    apart: Some(proof.service.clone()),
                });
            }
        }
    }
    Some(OvirtPlan { vms, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_in_ovirt_units() {
        assert_eq!(ovirt_memory("32Gi"), "32GiB");
        assert_eq!(ovirt_memory("512Mi"), "512MiB");
        assert_eq!(ovirt_memory("4G"), "4GB");
        assert_eq!(ovirt_memory("1024"), "1024B");
    }
}
