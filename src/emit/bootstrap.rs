//! `bootstrap/install.sh`: what the GitOps controller cannot do for itself, as one script
//! run once against the new cluster before Flux or Argo CD is installed. Its pods need a
//! CNI; kube-ovn's OVN central schedules only on labelled nodes; the control-plane nodes
//! that carry OpenStack roles must take workloads. Every fact comes from the plan.

use std::fmt::Write;

use crate::plan::Plan;

/// The script, or nothing when there is nothing to do.
pub(super) fn install_script(plan: &Plan) -> Option<String> {
    let b = &plan.bootstrap;
    let cni = b.cni.as_deref().and_then(|n| plan.component(n));
    if cni.is_none() && b.untaint.is_empty() && plan.nodes.is_empty() {
        return None;
    }
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# gcc: bootstrap of environment `{}` (written by gcc build; do not edit).",
        plan.env
    );
    let _ = writeln!(
        s,
        "# Run once against the new cluster (kubectl's and helm's current context), then:"
    );
    let _ = writeln!(s, "#   {}", b.then);
    let _ = writeln!(
        s,
        "# The cluster installer must use pod network {} and service network {}",
        b.pod_cidr, b.service_cidr
    );
    let _ = writeln!(
        s,
        "# (kubeadm init --pod-network-cidr {} --service-cidr {}) and install no CNI.",
        b.pod_cidr, b.service_cidr
    );
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "cd \"$(dirname \"$0\")/..\"");
    if !plan.nodes.is_empty() {
        let _ = writeln!(
            s,
            "# Node labels and annotations (the same objects nodes/ keeps applied)."
        );
        let _ = writeln!(s, "kubectl apply -k nodes");
    }
    if !b.untaint.is_empty() {
        let _ = writeln!(
            s,
            "# Control-plane nodes with OpenStack roles take workloads."
        );
        for n in &b.untaint {
            let _ = writeln!(
                s,
                "kubectl taint nodes {n} node-role.kubernetes.io/control-plane:NoSchedule- 2>/dev/null || true"
            );
        }
    }
    if let Some(c) = cni {
        let chart = match c.repository_url.strip_prefix("oci://") {
            Some(_) => format!("{}/{}", c.repository_url.trim_end_matches('/'), c.chart),
            None => format!("{} --repo {}", c.chart, c.repository_url),
        };
        let values = serde_json::to_string_pretty(&c.values).unwrap_or_default();
        let _ = writeln!(
            s,
            "# The CNI, with its release's values; the controller adopts the release."
        );
        let _ = writeln!(
            s,
            "helm upgrade --install {} {chart} --version {} --namespace {} --values - <<'GCC_VALUES'",
            c.name, c.version, c.namespace
        );
        let _ = writeln!(s, "{values}");
        let _ = writeln!(s, "GCC_VALUES");
    }
    Some(s)
}
