//! The HA proof: every quorum service keeps a majority when any one machine is lost.
//!
//! A quorum service's members carry required anti-affinity on the machine label, so
//! the scheduler puts each member on its own machine. gcc picks that placement itself
//! (the first eligible node, by name, on each machine) and then removes every machine
//! in turn, counting the members left. Placement is deterministic: same inventory,
//! same proof.

use std::collections::BTreeMap;

use crate::model::{Inventory, Node, Role};

/// Which nodes may host a quorum service's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Eligible {
    /// `worker` or `openstack-control` (MariaDB's node affinity).
    WorkerOrControl,
    /// `worker` (RabbitMQ's and PostgreSQL's node affinity).
    Worker,
    /// `openstack-control` (memcached's node selector).
    Control,
    /// `control-plane` (kube-ovn's OVN central and Kubernetes' etcd, one member per
    /// control-plane node).
    ControlPlane,
}

impl Eligible {
    /// Whether `node` may host a member.
    pub(crate) fn admits(self, node: &Node) -> bool {
        match self {
            Eligible::WorkerOrControl => node.has(Role::Worker) || node.has(Role::OpenstackControl),
            Eligible::Worker => node.has(Role::Worker),
            Eligible::Control => node.has(Role::OpenstackControl),
            Eligible::ControlPlane => node.has(Role::ControlPlane),
        }
    }

    /// The roles, as written in the inventory.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Eligible::WorkerOrControl => "worker or openstack-control",
            Eligible::Worker => "worker",
            Eligible::Control => "openstack-control",
            Eligible::ControlPlane => "control-plane",
        }
    }
}

/// One member placed on a node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    /// Node name.
    pub node: String,
    /// Its physical machine.
    pub machine: String,
}

/// The proof for one quorum service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Proof {
    /// Service name (`mariadb`, `rabbitmq`, `memcached`, `ovn-central`, `etcd`,
    /// `postgres`).
    pub service: String,
    /// Members.
    pub replicas: usize,
    /// Members needed for a majority.
    pub majority: usize,
    /// Where each member runs.
    pub members: Vec<Member>,
    /// Members left after losing each machine that hosts one (machine → left).
    pub worst_case: usize,
}

/// Why a quorum service cannot be proven: its eligible nodes, grouped by machine.
#[derive(Debug, Clone)]
pub(crate) struct Refusal<'a> {
    /// Service name.
    pub service: String,
    /// Members wanted.
    pub replicas: usize,
    /// Roles that make a node eligible.
    pub eligible: Eligible,
    /// Machine → its eligible nodes.
    pub machines: BTreeMap<String, Vec<&'a Node>>,
    /// One member per eligible node (OVN central, etcd) rather than `replicas` members.
    pub one_per_node: bool,
}

impl Refusal<'_> {
    /// The machine whose eligible nodes would share it: the one with the most (ties: the
    /// first by name), when it has more than one.
    pub(crate) fn shared(&self) -> Option<&str> {
        self.machines
            .iter()
            .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))
            .filter(|(_, ns)| ns.len() > 1)
            .map(|(hw, _)| hw.as_str())
    }
}

/// Places `replicas` members of `service` on distinct machines among `eligible`
/// nodes. `one_per_node` places a member on every eligible node instead (OVN central:
/// its replica count is the number of control-plane nodes).
/// `domains` is the inventory's [`Inventory::failure_domains`].
pub(crate) fn prove<'a>(
    inv: &'a Inventory,
    domains: &BTreeMap<&str, &str>,
    service: &str,
    replicas: usize,
    eligible: Eligible,
    one_per_node: bool,
) -> Result<Proof, Refusal<'a>> {
    let mut machines: BTreeMap<String, Vec<&Node>> = BTreeMap::new();
    let mut nodes: Vec<&Node> = inv.nodes.iter().filter(|n| eligible.admits(n)).collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    for n in nodes {
        if let Some(hw) = domains.get(n.name.as_str()) {
            machines.entry(hw.to_string()).or_default().push(n);
        }
    }
    let members: Vec<Member> = if one_per_node {
        machines
            .iter()
            .flat_map(|(hw, ns)| {
                ns.iter().map(|n| Member {
                    node: n.name.clone(),
                    machine: hw.clone(),
                })
            })
            .collect()
    } else {
        machines
            .iter()
            .take(replicas)
            .map(|(hw, ns)| Member {
                node: ns[0].name.clone(),
                machine: hw.clone(),
            })
            .collect()
    };
    let replicas = if one_per_node {
        members.len()
    } else {
        replicas
    };
    let majority = replicas / 2 + 1;
    let mut per_machine: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &members {
        *per_machine.entry(m.machine.as_str()).or_default() += 1;
    }
    let worst_loss = per_machine.values().copied().max().unwrap_or(0);
    let placed = members.len() == replicas && replicas > 0;
    let worst_case = members.len().saturating_sub(worst_loss);
    if !placed || worst_case < majority {
        return Err(Refusal {
            service: service.to_string(),
            replicas,
            eligible,
            machines,
            one_per_node,
        });
    }
    Ok(Proof {
        service: service.to_string(),
        replicas,
        majority,
        members,
        worst_case,
    })
}

/// Places members with no HA requirement (profile `aio`): the first eligible node.
pub(crate) fn place_single(inv: &Inventory, service: &str, eligible: Eligible) -> Option<Proof> {
    let domains = inv.failure_domains();
    let mut nodes: Vec<&Node> = inv.nodes.iter().filter(|n| eligible.admits(n)).collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let n = nodes.first()?;
    let machine = domains.get(n.name.as_str())?.to_string();
    Some(Proof {
        service: service.to_string(),
        replicas: 1,
        majority: 1,
        members: vec![Member {
            node: n.name.clone(),
            machine,
        }],
        worst_case: 0,
    })
}
