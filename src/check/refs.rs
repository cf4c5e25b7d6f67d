//! References: hypervisor → hardware, node or machine → hypervisor or hardware, interface → subnet,
//! storage export → NAS export. A dangling reference names what exists nearby.

use std::collections::BTreeSet;

use super::{Ctx, Kind};
use crate::diag::{Diagnostic, did_you_mean};
use crate::model::{Environment, Inventory, Loc, MachineRole, Placement};

/// Code: a reference to hardware that does not exist.
pub(crate) const UNKNOWN_HARDWARE: &str = "gcc::inventory::unknown_hardware";
/// Code: a reference to a hypervisor that does not exist.
pub(crate) const UNKNOWN_HYPERVISOR: &str = "gcc::inventory::unknown_hypervisor";
/// Code: a reference to a subnet that does not exist.
pub(crate) const UNKNOWN_SUBNET: &str = "gcc::inventory::unknown_subnet";
/// Code: `publish.git` names no git server of the inventory.
pub(crate) const UNKNOWN_GIT_SERVER: &str = "gcc::env::unknown_git_server";
/// Code: a storage class naming a NAS export that does not exist.
pub(crate) const UNKNOWN_EXPORT: &str = "gcc::env::unknown_export";

fn dangling(
    cx: &mut Ctx,
    code: &'static str,
    what: &str,
    plural: &str,
    name: &str,
    at: &Loc,
    known: &BTreeSet<&str>,
) {
    let d = Diagnostic::error(code, format!("no {what} named `{name}`"))
        .at(cx.label(at, format!("unknown {what}")))
        .help(did_you_mean(name, known, plural));
    cx.push(d);
}

pub(super) fn check(cx: &mut Ctx, inv: &Inventory, env: &Environment) {
    let hardware: BTreeSet<&str> = inv.hardware.iter().map(|h| h.name.as_str()).collect();
    let hypervisors: BTreeSet<&str> = inv.hypervisors.iter().map(|h| h.name.as_str()).collect();
    let subnets: BTreeSet<&str> = inv.subnets.iter().map(|s| s.name.as_str()).collect();
    for hv in &inv.hypervisors {
        if !hardware.contains(hv.hardware.as_str()) {
            dangling(
                cx,
                UNKNOWN_HARDWARE,
                "hardware",
                "hardware",
                &hv.hardware,
                &hv.at.child("hardware"),
                &hardware,
            );
        }
    }
    for host in inv.hosts() {
        match host.placement {
            Placement::Vm(hv) if !hypervisors.contains(hv.as_str()) => {
                dangling(
                    cx,
                    UNKNOWN_HYPERVISOR,
                    "hypervisor",
                    "hypervisors",
                    hv,
                    &host.at.child("hypervisor"),
                    &hypervisors,
                );
            }
            Placement::BareMetal(hw) if !hardware.contains(hw.as_str()) => {
                dangling(
                    cx,
                    UNKNOWN_HARDWARE,
                    "hardware",
                    "hardware",
                    hw,
                    &host.at.child("hardware"),
                    &hardware,
                );
            }
            _ => {}
        }
        for iface in host.interfaces {
            if !subnets.contains(iface.subnet.as_str())
                && !cx.is_broken(Kind::Subnet, &iface.subnet)
            {
                dangling(
                    cx,
                    UNKNOWN_SUBNET,
                    "subnet",
                    "subnets",
                    &iface.subnet,
                    &iface.at.child("subnet"),
                    &subnets,
                );
            }
        }
    }
    let exports: BTreeSet<String> = inv
        .nas
        .iter()
        .flat_map(|n| {
            n.exports
                .iter()
                .map(move |e| format!("{}/{}", n.name, e.name))
        })
        .collect();
    let export_refs: BTreeSet<&str> = exports.iter().map(String::as_str).collect();
    for sc in env.storage.values() {
        let (Some(export), Some(at)) = (&sc.export, &sc.at) else {
            continue;
        };
        let nas = export.split('/').next().unwrap_or_default();
        if export_refs.contains(export.as_str()) || cx.is_broken(Kind::Nas, nas) {
            continue;
        }
        let help = if export.matches('/').count() != 1 {
            format!(
                "write <nas>/<export>; {}",
                did_you_mean(export, &export_refs, "exports")
            )
        } else {
            did_you_mean(export, &export_refs, "exports")
        };
        let d = Diagnostic::error(
            UNKNOWN_EXPORT,
            format!("no NAS export `{export}` in inventory `{}`", inv.name),
        )
        .at(cx.label(&at.child("export"), "unknown export"))
        .help(help);
        cx.push(d);
    }
    git_server(cx, inv, env);
}

/// `publish.git` names a machine of the inventory with role `git` that can be reached by
/// name (the inventory has a domain) or address.
fn git_server(cx: &mut Ctx, inv: &Inventory, env: &Environment) {
    let Some(git) = &env.publish.git else {
        return;
    };
    let at = Loc::new(env.file, "/publish/git/machine");
    let servers: BTreeSet<&str> = inv
        .machines
        .iter()
        .filter(|m| m.roles.contains(&MachineRole::Git))
        .map(|m| m.name.as_str())
        .collect();
    let (message, label, help) = match inv.machines.iter().find(|m| m.name == git.machine) {
        None => (
            format!(
                "no machine named `{}` in inventory `{}`",
                git.machine, inv.name
            ),
            "unknown machine",
            did_you_mean(&git.machine, &servers, "git servers"),
        ),
        Some(m) if !m.roles.contains(&MachineRole::Git) => (
            format!("machine `{}` is not a git server", m.name),
            "not a git server",
            format!(
                "give it `roles: [git]` in the inventory{}",
                if servers.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", or {}",
                        did_you_mean(&git.machine, &servers, "git servers")
                    )
                }
            ),
        ),
        Some(m) if inv.git_url(git).is_none() => (
            format!(
                "git server `{}` has no name or address to reach it by",
                m.name
            ),
            "unreachable",
            "give the inventory a `domain`, or the machine an interface with an `address`"
                .to_string(),
        ),
        Some(_) => return,
    };
    let d = Diagnostic::error(UNKNOWN_GIT_SERVER, message)
        .at(cx.label(&at, label))
        .help(help);
    cx.push(d);
}
