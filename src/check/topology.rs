//! Roles and profile: what the profile demands of the inventory's nodes.
//!
//! `base` needs three `openstack-control` nodes on three distinct physical machines (a
//! VM's machine is its hypervisor's hardware), so that losing any one machine leaves a
//! majority of every quorum; plus at least one `compute` and one `network` node. `aio`
//! needs one node that carries every OpenStack role. The full per-service HA proof is
//! the plan stage's; this is the precondition it builds on.

use std::collections::BTreeMap;

use super::{Ctx, Kind};
use crate::diag::Diagnostic;
use crate::model::{Environment, Inventory, Loc, Node, Profile, Role};

/// Code: fewer than three `openstack-control` nodes in `base`.
pub const TOO_FEW_CONTROLLERS: &str = "gcc::profile::too_few_controllers";
/// Code: `openstack-control` nodes share physical machines, leaving fewer than three.
pub const SHARED_MACHINE: &str = "gcc::profile::shared_machine";
/// Code: no node with a role the profile needs (`compute`, `network`, `openstack-control`).
pub const MISSING_ROLE: &str = "gcc::profile::missing_role";

pub(super) fn check(cx: &mut Ctx, inv: &Inventory, env: &Environment) {
    if cx.any_broken(Kind::Node) {
        return; // a node could not be read; counting roles without it would mislead
    }
    let profile_at = Loc::new(env.file, "/profile");
    let profile = env.profile.as_str();
    for (role, name) in [
        (Role::OpenstackControl, "openstack-control"),
        (Role::Compute, "compute"),
        (Role::Network, "network"),
    ] {
        if !inv.nodes.iter().any(|n| n.has(role)) {
            let d = Diagnostic::error(
                MISSING_ROLE,
                format!(
                    "profile `{profile}` needs a `{name}` node; inventory `{}` has none",
                    inv.name
                ),
            )
            .at(cx.label(&profile_at, format!("profile {profile}")))
            .help(format!("add `{name}` to the roles of a node"));
            cx.push(d);
        }
    }
    let q = Profile::BASE_QUORUM;
    if env.profile != Profile::Base {
        return;
    }
    let controllers: Vec<&Node> = inv
        .nodes
        .iter()
        .filter(|n| n.has(Role::OpenstackControl))
        .collect();
    if controllers.is_empty() {
        return; // reported above as a missing role
    }
    if controllers.len() < Profile::BASE_QUORUM {
        let mut d = Diagnostic::error(
            TOO_FEW_CONTROLLERS,
            format!(
                "profile `base` needs at least {q} openstack-control nodes; inventory `{}` has {}",
                inv.name,
                controllers.len()
            ),
        )
        .at(cx.label(&profile_at, "HA profile"))
        .help("add openstack-control nodes on other physical machines, or use profile `aio` for a test cloud");
        for n in &controllers {
            d = d.also(cx.label(&n.at.child("name"), "openstack-control node"));
        }
        cx.push(d);
        return;
    }
    // Physical machine → the controllers on it.
    let domains = inv.failure_domains();
    let mut by_machine: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
    for n in &controllers {
        match domains.get(n.name.as_str()) {
            Some(hw) => by_machine.entry(hw).or_default().push(n),
            None => return, // a dangling reference, reported by refs
        }
    }
    if by_machine.len() >= Profile::BASE_QUORUM {
        return;
    }
    let shared: Vec<String> = by_machine
        .iter()
        .filter(|(_, nodes)| nodes.len() > 1)
        .map(|(hw, nodes)| {
            let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
            format!("{hw} ({})", names.join(", "))
        })
        .collect();
    // Name the busiest machine (ties: the first by name): losing it hurts most.
    let (first_shared, nodes) = by_machine
        .iter()
        .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))
        .map(|(hw, nodes)| (*hw, nodes.clone()))
        .unwrap_or_default();
    let mut d = Diagnostic::error(
        SHARED_MACHINE,
        format!(
            "openstack-control nodes run on only {} physical machine{}: losing {first_shared} would lose a quorum; shared: {}",
            by_machine.len(),
            if by_machine.len() == 1 { "" } else { "s" },
            shared.join("; ")
        ),
    )
    .help(format!(
        "profile `base` needs {q} openstack-control nodes on {q} distinct machines; move a VM to a hypervisor on another machine or add a machine"
    ));
    if let Some((last, rest)) = nodes.split_last() {
        d = d.at(cx.label(&last.placement_at(), format!("also on {first_shared}")));
        for n in rest {
            d = d.also(cx.label(&n.placement_at(), format!("on {first_shared}")));
        }
    }
    cx.push(d);
}
