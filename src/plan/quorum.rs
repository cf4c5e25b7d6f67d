//! The quorum services a build runs and where their members go: in `base`, the HA proof
//! (one member per physical machine, every machine's loss survived) or a refusal naming
//! the shared machine; in `aio`, the one node each runs on.

use super::ha::{self, Eligible};
use super::placement::{self, Placement};
use super::{Cx, HA_UNPROVABLE, UNPLACEABLE, Uses};
use crate::diag::Diagnostic;
use crate::model::{Loc, Profile};

/// Places every quorum service the build uses, pushing a refusal for each that cannot be
/// placed; with the placement picture, refused quorums included.
pub(super) fn place(cx: &mut Cx, uses: &Uses) -> (Vec<ha::Proof>, Placement) {
    let env = &cx.model.env;
    let inv = &cx.model.inventory;
    let base = env.profile == Profile::Base;
    let mut quorum = Vec::new();
    let mut wanted: Vec<(&str, Eligible, bool)> = Vec::new();
    if uses.mariadb {
        wanted.push(("mariadb", Eligible::WorkerOrControl, false));
    }
    if uses.rabbitmq {
        wanted.push(("rabbitmq", Eligible::Worker, false));
    }
    if !uses.postgres.is_empty() {
        wanted.push(("postgres", Eligible::Worker, false));
    }
    wanted.push(("memcached", Eligible::Control, false));
    wanted.push(("ovn-central", Eligible::ControlPlane, true));
    // Kubernetes itself: etcd runs on every control-plane node (kubeadm's stacked etcd),
    // so in `base` three control-plane nodes on three machines.
    wanted.push(("etcd", Eligible::ControlPlane, true));
    let profile_at = cx.env_at("/profile");
    let mut refusals = Vec::new();
    let order: Vec<&str> = wanted.iter().map(|w| w.0).collect();
    // Which machine each node runs on: once for every quorum (it walks every node).
    let domains = inv.failure_domains();
    for (svc, eligible, per_node) in wanted {
        let result = if !inv.nodes.iter().any(|n| eligible.admits(n)) {
            Err(None)
        } else if base {
            ha::prove(inv, &domains, svc, Profile::BASE_QUORUM, eligible, per_node).map_err(Some)
        } else {
            ha::place_single(inv, svc, eligible).ok_or(None)
        };
        match result {
            Ok(p) => quorum.push(p),
            Err(Some(refusal)) => {
                let d = refuse(cx, &refusal, &profile_at);
                cx.diags.push(d);
                refusals.push(refusal);
            }
            Err(None) => {
                let d = Diagnostic::error(
                    UNPLACEABLE,
                    format!(
                        "{svc} needs a node with role {}; inventory `{}` has none",
                        eligible.describe(),
                        inv.name
                    ),
                )
                .at(cx.label(&profile_at, format!("profile {}", env.profile.as_str())))
                .help(format!("add role `{}` to a node", eligible.describe()));
                cx.diags.push(d);
            }
        }
    }
    let placement = placement::of(&env.name, inv, env.profile, (&quorum, &refusals), &order);
    (quorum, placement)
}

fn refuse(cx: &Cx, r: &ha::Refusal, profile_at: &Loc) -> Diagnostic {
    let inv = &cx.model.inventory;
    let listing: Vec<String> = r
        .machines
        .iter()
        .map(|(hw, ns)| {
            let names: Vec<&str> = ns.iter().map(|n| n.name.as_str()).collect();
            format!("{hw} ({})", names.join(", "))
        })
        .collect();
    let shared = r.shared().map(|hw| (hw, &r.machines[hw]));
    let msg = match shared {
        Some((hw, _)) => format!(
            "{} cannot survive the loss of {hw}: its {} members need {} machines, but the {} nodes run on {}: {}",
            r.service,
            r.replicas,
            r.replicas,
            r.eligible.describe(),
            r.machines.len(),
            listing.join("; ")
        ),
        _ => format!(
            "{} needs {} members on distinct machines, but the {} nodes of inventory `{}` run on {}{}",
            r.service,
            r.replicas,
            r.eligible.describe(),
            inv.name,
            r.machines.len(),
            if listing.is_empty() {
                String::new()
            } else {
                format!(": {}", listing.join("; "))
            }
        ),
    };
    let mut d = Diagnostic::error(HA_UNPROVABLE, msg).help(format!(
        "profile `base` keeps a majority of {} only if each member has its own physical machine; give role `{}` to nodes on other machines, or use profile `aio`",
        r.service,
        r.eligible.describe()
    ));
    match shared {
        Some((hw, ns)) => {
            if let Some((last, rest)) = ns.split_last() {
                d = d.at(cx.label(&last.placement_at(), format!("also on {hw}")));
                for n in rest {
                    d = d.also(cx.label(&n.placement_at(), format!("on {hw}")));
                }
            }
        }
        _ => d = d.at(cx.label(profile_at, "HA profile")),
    }
    d
}
