//! Provider networks: each `provider` subnet with a pool becomes Neutron's external
//! network and subnet, created by the chart's bootstrap Job with idempotent `openstack`
//! commands (each resource only when missing, so every upgrade's rerun changes nothing).
//!
//! The network is `flat` on the subnet's physical network (`physnet<N>`, the name the
//! nodes' OVN bridge mappings give the bridge on that subnet): the nodes' interfaces are
//! on the subnet, so its VLAN is already applied by the switch port or the oVirt network
//! they sit on, and Neutron must not tag it again. The subnet takes the inventory's
//! gateway, its pools as allocation pools (the addresses floating IPs and router gateways
//! get: `--service-type`), and no DHCP.

use std::fmt::Write;

use super::infra::provider_subnets;
use crate::model::Inventory;

/// The bootstrap script, `None` when no provider subnet has a pool.
pub(super) fn script(inv: &Inventory) -> Option<String> {
    let mut s = String::new();
    for (i, name) in provider_subnets(inv).into_iter().enumerate() {
        let Some(subnet) = inv.subnets.iter().find(|x| x.name == name) else {
            continue;
        };
        if subnet.dhcp_pools.is_empty() {
            continue;
        }
        let physnet = format!("physnet{}", i + 1);
        let vlan = subnet.vlan.map_or(String::new(), |v| format!(", VLAN {v}"));
        let _ = writeln!(
            s,
            "# gcc: provider subnet {name} ({}{vlan}) on {physnet}; created once, never changed here",
            subnet.cidr
        );
        let _ = writeln!(
            s,
            "openstack network show {name} >/dev/null 2>&1 || openstack network create {name} \
             --external --provider-network-type flat --provider-physical-network {physnet} \
             --description 'gcc: provider subnet {name}{vlan}'"
        );
        let gateway = subnet.gateway.map_or("none".to_string(), |g| g.to_string());
        let version = if subnet.cidr.addr().is_ipv6() { 6 } else { 4 };
        let pools: String = subnet
            .dhcp_pools
            .iter()
            .map(|p| format!(" --allocation-pool start={},end={}", p.start, p.end))
            .collect();
        let _ = writeln!(
            s,
            "openstack subnet show {name}-subnet >/dev/null 2>&1 || openstack subnet create {name}-subnet \
             --network {name} --ip-version {version} --subnet-range {} --gateway {gateway} --no-dhcp{pools} \
             --service-type network:floatingip --service-type network:router_gateway",
            subnet.cidr
        );
    }
    (!s.is_empty()).then_some(s)
}
