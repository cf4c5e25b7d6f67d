//! Roles and profile: what the profile demands of the inventory's nodes.
//!
//! `base` needs three `openstack-control` nodes, plus at least one `compute` and one
//! `network` node. `aio` needs one node that carries every OpenStack role. Whether the
//! controllers (and every other quorum's nodes) sit on distinct physical machines is the
//! plan's HA proof, which `gcc check` runs too: it is decided there, once.

use super::{Ctx, Kind};
use crate::diag::Diagnostic;
use crate::model::{Environment, Inventory, Loc, Node, Profile, Role};

/// Code: fewer than three `openstack-control` nodes in `base`.
pub(crate) const TOO_FEW_CONTROLLERS: &str = "gcc::profile::too_few_controllers";
/// Code: no node with a role the profile needs (`compute`, `network`, `openstack-control`).
pub(crate) const MISSING_ROLE: &str = "gcc::profile::missing_role";
/// Code (warning): a network node's interface on a provider subnet names no OVS bridge, so
/// OVN maps no physical network to it there.
pub(crate) const NO_BRIDGE: &str = "gcc::profile::no_bridge";

pub(super) fn check(cx: &mut Ctx, inv: &Inventory, env: &Environment) {
    if cx.any_broken(Kind::Node) {
        return; // a node could not be read; counting roles without it would mislead
    }
    provider_bridges(cx, inv);
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
    }
}

/// A network node on a provider subnet without `bridge:` gets no OVN bridge mapping for
/// it: the provider network's traffic never reaches that node, silently.
fn provider_bridges(cx: &mut Ctx, inv: &Inventory) {
    let provider: std::collections::BTreeSet<&str> = inv
        .subnets
        .iter()
        .filter(|s| s.purpose == Some(crate::model::SubnetPurpose::Provider))
        .map(|s| s.name.as_str())
        .collect();
    for n in inv.nodes.iter().filter(|n| n.has(Role::Network)) {
        for i in &n.interfaces {
            if i.bridge.is_none() && provider.contains(i.subnet.as_str()) {
                let d = Diagnostic::warning(
                    NO_BRIDGE,
                    format!(
                        "network node `{}` is on provider subnet `{}` without `bridge:`: OVN maps no physical network to it there, so that subnet's provider networks do not reach it",
                        n.name, i.subnet
                    ),
                )
                .at(cx.label(&i.at, "no bridge"))
                .help("add `bridge: br-ex` (and `name:` the host interface to plug into it), or drop the `network` role from this node");
                cx.push(d);
            }
        }
    }
}
