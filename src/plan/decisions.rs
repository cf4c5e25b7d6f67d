//! For `gcc explain`: where the plan's decisions in the objects it writes itself (not
//! Helm values) come from: each autoscaler's bounds, each data service's members, each
//! node's failure-domain labels. Recorded only when the plan traces.

use super::trace::{Layer, Origin};
use super::{
    Component, Cx, HPA_MAX, MACHINE_LABEL, MARIADB_CLUSTER, NodePlan, RABBITMQ_CLUSTER, RACK_LABEL,
};
use crate::model::{Loc, Placement, Profile};

/// Records the decisions of `components`, the quorum members and `nodes` in the trace.
pub(super) fn record(cx: &mut Cx, components: &[Component], nodes: &[NodePlan]) {
    let mut found: Vec<(&'static str, String, String, Origin)> = Vec::new();
    let env = &cx.model.env;
    let profile = || cx.env_at("/profile");
    for c in components {
        let svc = env.services.get(&c.name);
        let svc_at = cx.env_at(&format!("/services/{}", crate::yaml::escape_ptr(&c.name)));
        let set = |field: &str| -> Option<Loc> {
            let at = svc_at.child("autoscale").child(field);
            cx.loaded
                .doc(at.file)
                .and_then(|d| d.value.pointer(&at.ptr))
                .map(|_| at)
        };
        let replicas = svc
            .and_then(|s| s.replicas)
            .map(|_| svc_at.child("replicas"));
        for a in &c.autoscalers {
            let min = match set("min").or(replicas.clone()) {
                Some(at) => Origin::new(
                    Layer::Environment,
                    format!("environment: {}'s autoscaler floor", c.name),
                )
                .input(at, false),
                None => Origin::new(
                    Layer::Profile,
                    format!(
                        "profile base: at least {} of each API, one machine's loss survived",
                        Profile::BASE_MIN_REPLICAS
                    ),
                )
                .input(profile(), false),
            };
            let max = match set("max") {
                Some(at) => Origin::new(
                    Layer::Environment,
                    format!("environment: {}'s autoscaler ceiling", c.name),
                )
                .input(at, false),
                None => Origin::new(
                    Layer::Plan,
                    format!("plan: the default autoscaler ceiling ({HPA_MAX}), at least the floor"),
                ),
            };
            let hpa = "HorizontalPodAutoscaler";
            found.push((hpa, a.deployment.clone(), "spec.minReplicas".into(), min));
            found.push((hpa, a.deployment.clone(), "spec.maxReplicas".into(), max));
        }
    }
    // The data services' members: the HA proof's (one in aio), on the nodes it chose.
    let members = |service: &str| {
        let origin = Origin::new(
            Layer::Plan,
            format!("plan: {service}'s members, placed by the HA proof (one in aio)"),
        )
        .input(profile(), false);
        cx.member_sites(service)
            .into_iter()
            .fold(origin, |o, at| o.input(at, false))
    };
    found.push((
        "MariaDB",
        MARIADB_CLUSTER.into(),
        "spec.replicas".into(),
        members("mariadb"),
    ));
    found.push((
        "RabbitmqCluster",
        RABBITMQ_CLUSTER.into(),
        "spec.replicas".into(),
        members("rabbitmq"),
    ));
    found.push((
        "postgresql",
        cx.catalog.postgres.name.clone(),
        "spec.numberOfInstances".into(),
        members("postgres"),
    ));
    // Each node's failure domain: the machine its placement chain ends on, and its rack.
    for n in nodes {
        let Some(node) = cx.model.inventory.nodes.iter().find(|x| x.name == n.name) else {
            continue;
        };
        let machine = match &node.placement {
            Placement::Vm(hv) => cx
                .model
                .inventory
                .hypervisors
                .iter()
                .find(|h| &h.name == hv)
                .map(|h| h.at.child("hardware")),
            Placement::BareMetal(_) => None,
        };
        let domain = Origin::new(
            Layer::Plan,
            format!("plan: the failure domain, {}'s physical machine", n.name),
        )
        .input(node.placement_at(), false);
        let domain = machine.into_iter().fold(domain, |o, at| o.input(at, false));
        found.push((
            "Node",
            n.name.clone(),
            format!("metadata.labels.{MACHINE_LABEL}"),
            domain,
        ));
        // The other labels come from its roles; the OVN annotations from its interfaces.
        for label in n
            .labels
            .keys()
            .filter(|k| ![MACHINE_LABEL, RACK_LABEL].contains(&k.as_str()))
        {
            let roles = Origin::new(Layer::Inventory, format!("inventory: {}'s roles", n.name))
                .input(node.at.child("roles"), false);
            found.push((
                "Node",
                n.name.clone(),
                format!("metadata.labels.{label}"),
                roles,
            ));
        }
        for annotation in n.annotations.keys() {
            let nics = Origin::new(
                Layer::Inventory,
                format!("inventory: {}'s role network and its interfaces", n.name),
            )
            .input(node.at.child("interfaces"), false);
            found.push((
                "Node",
                n.name.clone(),
                format!("metadata.annotations.{annotation}"),
                nics,
            ));
        }
        if let Some(hw) = cx
            .model
            .inventory
            .hardware
            .iter()
            .find(|h| h.name == n.machine)
            && hw.rack.is_some()
        {
            let rack = Origin::new(Layer::Inventory, format!("inventory: {}'s rack", hw.name))
                .input(hw.at.child("rack"), false);
            found.push((
                "Node",
                n.name.clone(),
                format!("metadata.labels.{RACK_LABEL}"),
                rack,
            ));
        }
    }
    if let Some(t) = cx.trace.as_mut() {
        for (kind, name, field, origin) in found {
            t.decide(kind, &name, &field, origin);
        }
    }
}
