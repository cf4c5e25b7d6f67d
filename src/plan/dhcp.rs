//! The lab's DHCP service: which subnets Kea serves, with which pools, options and host
//! reservations, per address family.
//!
//! Served: every subnet with DHCP pools, except `provider` subnets, whose pools are
//! Neutron's floating-IP ranges (Neutron hands those addresses out, a DHCP server must
//! not). A reservation is every interface of a node or machine with both a MAC and a
//! static address in a served subnet; the check already allows those inside a pool.
//! The server listens on the named interfaces of the first machine with role `dhcp`, or
//! on every interface when the inventory names none.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::{Inventory, Mac, MachineRole, SubnetPurpose};

/// The DHCP servers' configuration, one per address family that has a subnet to serve.
#[derive(Debug, Clone, Serialize)]
pub struct DhcpPlan {
    /// IPv4 first, then IPv6.
    pub families: Vec<DhcpFamily>,
}

/// One server (Kea's `Dhcp4` or `Dhcp6`).
#[derive(Debug, Clone, Serialize)]
pub struct DhcpFamily {
    /// IPv6 (`kea-dhcp6`), else IPv4.
    pub v6: bool,
    /// Interfaces it listens on (`*`: every one).
    pub interfaces: Vec<String>,
    /// The site's domain: the clients' domain name and search list.
    pub domain: Option<String>,
    /// The site's resolvers of this family.
    pub dns: Vec<IpAddr>,
    /// Served subnets, by network address.
    pub subnets: Vec<DhcpSubnet>,
}

impl DhcpFamily {
    /// The file the tree holds it in, below `site/dhcp/`.
    pub fn file(&self) -> &'static str {
        if self.v6 {
            "kea-dhcp6.json"
        } else {
            "kea-dhcp4.json"
        }
    }
}

/// One served subnet.
#[derive(Debug, Clone, Serialize)]
pub struct DhcpSubnet {
    /// Kea's subnet id: stable while the subnet keeps its name ([`subnet_ids`]).
    pub id: u32,
    /// The inventory's name.
    pub name: String,
    /// The network.
    #[serde(serialize_with = "display")]
    pub cidr: IpNet,
    /// Its VLAN, for people reading the file.
    pub vlan: Option<u16>,
    /// The server's interface on it (directly attached clients of IPv6 are matched to
    /// subnets by interface only); `None` when relayed or unknown.
    pub interface: Option<String>,
    /// Address ranges handed out, first and last address.
    pub pools: Vec<(IpAddr, IpAddr)>,
    /// The default gateway (the `routers` option; IPv6 clients learn theirs from router
    /// advertisements).
    pub router: Option<IpAddr>,
    /// Fixed addresses by MAC.
    pub reservations: Vec<Reservation>,
}

/// A host reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reservation {
    /// The node or machine: its host name.
    pub host: String,
    /// The interface's MAC.
    #[serde(serialize_with = "display")]
    pub mac: Mac,
    /// The address it always gets.
    pub address: IpAddr,
}

fn display<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Largest subnet id Kea accepts (`SUBNET_ID_MAX`; 0 is "unassigned").
const MAX_SUBNET_ID: u32 = u32::MAX - 1;

/// Kea subnet ids for `names` (in any order): the first four bytes of each name's
/// sha256, folded into 1..=[`MAX_SUBNET_ID`]. A subnet keeps its id, and so its leases,
/// when others are added, removed or reordered. On a collision (one in about 10⁹ pairs)
/// the name that sorts later takes the next free id.
pub(crate) fn subnet_ids<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<(&'a str, u32)> {
    assign_ids(names, |name| {
        let digest = Sha256::digest(name.as_bytes());
        u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
    })
}

/// [`subnet_ids`] with the hash given.
fn assign_ids<'a>(
    names: impl IntoIterator<Item = &'a str>,
    hash: impl Fn(&str) -> u32,
) -> Vec<(&'a str, u32)> {
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_unstable();
    names.dedup();
    let mut used = BTreeSet::new();
    names
        .into_iter()
        .map(|name| {
            let mut id = hash(name) % MAX_SUBNET_ID + 1;
            while !used.insert(id) {
                id = id % MAX_SUBNET_ID + 1;
            }
            (name, id)
        })
        .collect()
}

/// The DHCP plan of `inv`; `None` when no subnet has a pool to serve.
pub fn plan(inv: &Inventory) -> Option<DhcpPlan> {
    let mut served: Vec<_> = inv
        .subnets
        .iter()
        .filter(|s| !s.dhcp_pools.is_empty() && s.purpose != Some(SubnetPurpose::Provider))
        .collect();
    served.sort_by_key(|s| (s.cidr.network(), s.cidr.prefix_len()));
    if served.is_empty() {
        return None;
    }
    let ids: std::collections::BTreeMap<&str, u32> =
        subnet_ids(served.iter().map(|s| s.name.as_str()))
            .into_iter()
            .collect();
    let server = inv
        .machines
        .iter()
        .find(|m| m.roles.contains(&MachineRole::Dhcp));
    let families = [false, true]
        .into_iter()
        .filter_map(|v6| {
            let subnets: Vec<DhcpSubnet> = served
                .iter()
                .filter(|s| s.cidr.addr().is_ipv6() == v6)
                .map(|s| {
                    let interface = server.and_then(|m| {
                        m.interfaces
                            .iter()
                            .find(|i| i.subnet == s.name)
                            .and_then(|i| i.name.clone())
                    });
                    let mut reservations = inv
                        .hosts()
                        .flat_map(|h| {
                            h.interfaces
                                .iter()
                                .filter(|i| i.subnet == s.name)
                                .filter_map(move |i| {
                                    Some(Reservation {
                                        host: h.name.to_string(),
                                        mac: i.mac?,
                                        address: i.address?,
                                    })
                                })
                        })
                        .collect::<Vec<_>>();
                    // By address: the inventory's order of hosts is not the file's.
                    reservations.sort_by_key(|r| (r.address, r.mac));
                    DhcpSubnet {
                        id: ids[s.name.as_str()],
                        name: s.name.clone(),
                        cidr: s.cidr,
                        vlan: s.vlan,
                        interface,
                        pools: s.dhcp_pools.iter().map(|p| (p.start, p.end)).collect(),
                        router: s.gateway.filter(|_| !v6),
                        reservations,
                    }
                })
                .collect();
            if subnets.is_empty() {
                return None;
            }
            let mut interfaces: Vec<String> = subnets
                .iter()
                .filter_map(|s| s.interface.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if interfaces.is_empty() {
                interfaces.push("*".into());
            }
            Some(DhcpFamily {
                v6,
                interfaces,
                domain: inv.domain.clone(),
                dns: inv
                    .dns
                    .iter()
                    .copied()
                    .filter(|a| a.is_ipv6() == v6)
                    .collect(),
                subnets,
            })
        })
        .collect();
    Some(DhcpPlan { families })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_ids_are_stable_and_in_range() {
        let a = subnet_ids(["mgmt", "storage"]);
        let b = subnet_ids(["storage", "lab-extra", "mgmt"]);
        let id = |v: &[(&str, u32)], n: &str| v.iter().find(|(x, _)| *x == n).unwrap().1;
        assert_eq!(id(&a, "mgmt"), id(&b, "mgmt"));
        assert_eq!(id(&a, "storage"), id(&b, "storage"));
        assert_ne!(id(&a, "mgmt"), id(&a, "storage"));
        let names: Vec<String> = (0..2000).map(|i| format!("s{i}")).collect();
        let ids = subnet_ids(names.iter().map(String::as_str));
        let distinct: BTreeSet<u32> = ids.iter().map(|(_, id)| *id).collect();
        assert_eq!(distinct.len(), 2000);
        assert!(distinct.iter().all(|id| (1..=MAX_SUBNET_ID).contains(id)));
    }

    #[test]
    fn colliding_ids_probe_to_the_next_free_one() {
        let ids = assign_ids(["b", "a", "c"], |_| MAX_SUBNET_ID - 1);
        assert_eq!(ids, [("a", MAX_SUBNET_ID), ("b", 1), ("c", 2)]);
    }
}
