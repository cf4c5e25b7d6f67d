//! The placement picture as data: racks → machines → hypervisors → nodes (and the lab's
//! other machines), each node with the quorum members the HA proof puts on it, and for
//! every machine what its loss leaves of each quorum. Built from the same proof the plan
//! keeps (or, when the proof fails, from the refusal), so the picture cannot disagree
//! with the build. `crate::graph` draws it; nothing here decides anything new.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::ha::{Proof, Refusal};
use crate::model::{Inventory, Placement as Where, Profile};

/// Where everything runs, and what each machine's loss costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    /// Environment name.
    pub env: String,
    /// Inventory (site) name.
    pub inventory: String,
    /// Profile: in `base` the members come from the HA proof.
    pub profile: Profile,
    /// Racks, by name; machines without a rack last, in a rack without a name.
    pub racks: Vec<Rack>,
    /// Each quorum service: its members and whether the proof holds.
    pub quorums: Vec<Quorum>,
}

/// A rack (or the machines the inventory gives no rack).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rack {
    /// Rack name; `None` for machines without one.
    pub name: Option<String>,
    /// Its physical machines, by name.
    pub machines: Vec<Machine>,
}

/// A physical machine: the failure domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Machine {
    /// Name (the inventory's `hardware`).
    pub name: String,
    /// oVirt hosts on it, by name, each with its VMs.
    pub hypervisors: Vec<Hypervisor>,
    /// What runs on it directly (bare-metal nodes and machines).
    pub bare: Vec<Guest>,
    /// For each quorum with a member here: what is left when this machine is lost (in
    /// `base`; `aio` proves nothing, so it is empty).
    pub loss: Vec<Loss>,
}

impl Machine {
    /// True when losing this machine breaks a quorum: the machine the proof refused.
    pub fn breaks(&self) -> bool {
        self.loss.iter().any(|l| l.left < l.majority)
    }

    /// True when losing this machine breaks quorum `service`.
    pub fn breaks_quorum(&self, service: &str) -> bool {
        self.loss
            .iter()
            .any(|l| l.service == service && l.left < l.majority)
    }

    /// Everything on it: the bare-metal guests, then each hypervisor's VMs.
    pub fn guests(&self) -> impl Iterator<Item = &Guest> {
        self.bare
            .iter()
            .chain(self.hypervisors.iter().flat_map(|h| h.guests.iter()))
    }
}

/// An oVirt host and its VMs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hypervisor {
    /// Name.
    pub name: String,
    /// Its VMs, by name.
    pub guests: Vec<Guest>,
}

/// A Kubernetes node or one of the lab's other machines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guest {
    /// Name.
    pub name: String,
    /// A Kubernetes node (false: a lab machine: git server, backup host, router).
    pub node: bool,
    /// Its roles, as the inventory writes them.
    pub roles: Vec<String>,
    /// The quorum services with a member here, in the order of [`Placement::quorums`].
    pub members: Vec<String>,
}

/// What losing one machine leaves of one quorum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loss {
    /// Quorum service.
    pub service: String,
    /// Members left.
    pub left: usize,
    /// Members a majority needs.
    pub majority: usize,
}

/// One quorum service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quorum {
    /// Service name.
    pub service: String,
    /// Members wanted.
    pub replicas: usize,
    /// Members a majority needs.
    pub majority: usize,
    /// Node → machine of each member (for a refused quorum: the members the scheduler
    /// could place, every eligible node on the shared machine among them).
    pub members: Vec<super::ha::Member>,
    /// The proof holds: the loss of any one machine leaves a majority (always true in
    /// `aio`, where nothing is proven).
    pub proven: bool,
    /// For a refused quorum: the machine whose loss breaks it.
    pub shared: Option<String>,
}

/// The placement of `inv` under `profile`, from the quorum services' proofs and refusals;
/// quorums in the order the plan tried them (`order`, by service).
pub(crate) fn of(
    env: &str,
    inv: &Inventory,
    profile: Profile,
    (proofs, refusals): (&[Proof], &[Refusal]),
    order: &[&str],
) -> Placement {
    let mut quorums: Vec<Quorum> = proofs
        .iter()
        .map(|p| Quorum {
            service: p.service.clone(),
            replicas: p.replicas,
            majority: p.majority,
            members: p.members.clone(),
            proven: true,
            shared: None,
        })
        .chain(refusals.iter().map(refused))
        .collect();
    quorums.sort_by_key(|q| order.iter().position(|s| *s == q.service));

    let mut on_node: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for q in &quorums {
        for m in &q.members {
            on_node
                .entry(m.node.as_str())
                .or_default()
                .push(q.service.clone());
        }
    }
    let guest = |name: &str, node: bool, roles: Vec<String>| Guest {
        name: name.to_string(),
        node,
        roles,
        members: on_node.get(name).cloned().unwrap_or_default(),
    };
    // Every node and lab machine, by where it runs.
    let mut on_hypervisor: BTreeMap<&str, Vec<Guest>> = BTreeMap::new();
    let mut on_hardware: BTreeMap<&str, Vec<Guest>> = BTreeMap::new();
    let nodes = inv.nodes.iter().map(|n| {
        let roles = n.roles.iter().map(|r| r.as_str().to_string()).collect();
        (&n.placement, guest(&n.name, true, roles))
    });
    let machines = inv.machines.iter().map(|m| {
        let roles = m.roles.iter().map(|r| r.as_str().to_string()).collect();
        (&m.placement, guest(&m.name, false, roles))
    });
    for (at, g) in nodes.chain(machines) {
        match at {
            Where::Vm(hv) => on_hypervisor.entry(hv.as_str()).or_default().push(g),
            Where::BareMetal(hw) => on_hardware.entry(hw.as_str()).or_default().push(g),
        }
    }

    let mut racks: BTreeMap<Option<&str>, Vec<Machine>> = BTreeMap::new();
    for hw in &inv.hardware {
        let mut hypervisors: Vec<Hypervisor> = inv
            .hypervisors
            .iter()
            .filter(|h| h.hardware == hw.name)
            .map(|h| Hypervisor {
                name: h.name.clone(),
                guests: sorted(on_hypervisor.remove(h.name.as_str()).unwrap_or_default()),
            })
            .collect();
        hypervisors.sort_by(|a, b| a.name.cmp(&b.name));
        // In `aio` nothing is proven, so no loss is checked.
        let checked = if profile == Profile::Base {
            &quorums[..]
        } else {
            &[]
        };
        let loss = checked
            .iter()
            .filter_map(|q| {
                let here = q.members.iter().filter(|m| m.machine == hw.name).count();
                (here > 0).then(|| Loss {
                    service: q.service.clone(),
                    left: q.members.len() - here,
                    majority: q.majority,
                })
            })
            .collect();
        racks.entry(hw.rack.as_deref()).or_default().push(Machine {
            name: hw.name.clone(),
            hypervisors,
            bare: sorted(on_hardware.remove(hw.name.as_str()).unwrap_or_default()),
            loss,
        });
    }
    // Named racks first, by name; then the machines without a rack.
    let (named, unnamed): (Vec<_>, Vec<_>) = racks.into_iter().partition(|(r, _)| r.is_some());
    let racks = named
        .into_iter()
        .chain(unnamed)
        .map(|(name, mut machines)| {
            machines.sort_by(|a, b| a.name.cmp(&b.name));
            Rack {
                name: name.map(String::from),
                machines,
            }
        })
        .collect();
    Placement {
        env: env.to_string(),
        inventory: inv.name.clone(),
        profile,
        racks,
        quorums,
    }
}

fn sorted(mut guests: Vec<Guest>) -> Vec<Guest> {
    guests.sort_by(|a, b| a.name.cmp(&b.name));
    guests
}

/// A refused quorum as the scheduler would place it: one member per eligible machine (on
/// its first node by name), and every eligible node of the shared machine; with one
/// member per node, every eligible node.
fn refused(r: &Refusal) -> Quorum {
    let shared = r.shared().map(String::from);
    let mut members = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (hw, nodes) in &r.machines {
        let all = r.one_per_node || shared.as_deref() == Some(hw.as_str());
        for n in nodes.iter().take(if all { nodes.len() } else { 1 }) {
            if seen.insert(n.name.as_str()) {
                members.push(super::ha::Member {
                    node: n.name.clone(),
                    machine: hw.clone(),
                });
            }
        }
    }
    Quorum {
        service: r.service.clone(),
        replicas: r.replicas,
        majority: r.replicas / 2 + 1,
        members,
        proven: false,
        shared,
    }
}
