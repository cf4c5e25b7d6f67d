//! Schema-valid JSON → typed model: parses addresses, networks and MACs, and merges the
//! files of a directory inventory section by section.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Ctx, Kind};
use crate::diag::Diagnostic;
use crate::model::{
    Environment, Export, ExportPurpose, Hardware, Hypervisor, Interface, Inventory, Loc, Mac,
    Machine, MachineRole, Nas, Node, Placement, Pool, Role, Subnet, SubnetPurpose,
};
use crate::yaml::Doc;

/// Code: not an IP address.
pub(crate) const INVALID_ADDRESS: &str = "gcc::inventory::invalid_address";
/// Code: not a network in CIDR notation.
pub(crate) const INVALID_CIDR: &str = "gcc::inventory::invalid_cidr";
/// Code: a CIDR with host bits set (`10.0.0.5/24`).
pub(crate) const CIDR_HOST_BITS: &str = "gcc::inventory::cidr_host_bits";
/// Code: not a MAC address.
pub(crate) const INVALID_MAC: &str = "gcc::inventory::invalid_mac";
/// Code: a node with both or neither of `hypervisor` and `hardware`.
pub(crate) const NODE_PLACEMENT: &str = "gcc::inventory::node_placement";
/// Code: `site` is missing from the inventory.
pub(crate) const MISSING_SITE: &str = "gcc::inventory::missing_site";
/// Code: `site` or `domain` set in two files of a directory inventory.
pub(crate) const DUPLICATE_SECTION: &str = "gcc::inventory::duplicate_section";

#[derive(Deserialize, Default)]
struct InventoryFile {
    site: Option<String>,
    domain: Option<String>,
    #[serde(default)]
    hardware: Vec<RawHardware>,
    #[serde(default)]
    hypervisors: Vec<RawHypervisor>,
    #[serde(default)]
    nodes: Vec<RawNode>,
    #[serde(default)]
    machines: Vec<RawMachine>,
    dns: Option<Vec<String>>,
    #[serde(default)]
    nas: Vec<RawNas>,
    #[serde(default)]
    subnets: Vec<RawSubnet>,
    cluster: Option<RawCluster>,
}

#[derive(Deserialize)]
struct RawCluster {
    pod_cidr: Option<String>,
    service_cidr: Option<String>,
    join_cidr: Option<String>,
}

#[derive(Deserialize)]
struct RawHardware {
    name: String,
    rack: Option<String>,
    bmc: Option<String>,
    cpu: Option<u64>,
    memory: Option<String>,
}

#[derive(Deserialize)]
struct RawHypervisor {
    name: String,
    hardware: String,
    cluster: Option<String>,
    address: Option<String>,
}

#[derive(Deserialize)]
struct RawNode {
    name: String,
    hypervisor: Option<String>,
    hardware: Option<String>,
    roles: Vec<Role>,
    cpu: Option<u64>,
    memory: Option<String>,
    #[serde(default)]
    interfaces: Vec<RawInterface>,
}

#[derive(Deserialize)]
struct RawMachine {
    name: String,
    hypervisor: Option<String>,
    hardware: Option<String>,
    #[serde(default)]
    roles: Vec<MachineRole>,
    cpu: Option<u64>,
    memory: Option<String>,
    #[serde(default)]
    interfaces: Vec<RawInterface>,
}

#[derive(Deserialize)]
struct RawInterface {
    subnet: String,
    address: Option<String>,
    mac: Option<String>,
    bridge: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawNas {
    name: String,
    address: String,
    #[serde(default)]
    exports: Vec<RawExport>,
}

#[derive(Deserialize)]
struct RawExport {
    name: String,
    path: String,
    capacity: Option<String>,
    #[serde(default)]
    purpose: Vec<ExportPurpose>,
}

#[derive(Deserialize)]
struct RawRange {
    name: Option<String>,
    start: String,
    end: String,
}

#[derive(Deserialize)]
struct RawSubnet {
    name: String,
    cidr: String,
    gateway: Option<String>,
    vlan: Option<u16>,
    purpose: Option<SubnetPurpose>,
    #[serde(default)]
    dhcp_pools: Vec<RawRange>,
    #[serde(default)]
    vip_pools: Vec<RawRange>,
    #[serde(default)]
    reserved: Vec<RawRange>,
}

/// Deserializes a schema-valid document; a failure here means the schema is looser than
/// the types, which is reported rather than trusted.
fn typed<T: DeserializeOwned>(cx: &mut Ctx, doc: &Doc) -> Option<T> {
    match serde_json::from_value(doc.value.clone()) {
        Ok(v) => Some(v),
        Err(e) => {
            cx.push(
                Diagnostic::error(
                    crate::schema::INVALID_VALUE,
                    format!("cannot read file: {e}"),
                )
                .at(crate::diag::Label::new(doc.file, 0..0, "")),
            );
            None
        }
    }
}

/// The typed environment, named `name`.
pub(super) fn environment(cx: &mut Ctx, doc: &Doc, name: &str) -> Option<Environment> {
    let mut env: Environment = typed(cx, doc)?;
    env.name = name.to_string();
    env.file = doc.file;
    let at = Loc::new(doc.file, "");
    for (svc_name, svc) in &mut env.services {
        svc.at = Some(at.child("services").child(svc_name));
    }
    for (class, sc) in &mut env.storage {
        sc.at = Some(at.child("storage").child(class));
    }
    Some(env)
}

/// The typed inventory, merged from its documents in path order.
pub(super) fn inventory(cx: &mut Ctx, name: &str, docs: &[Doc]) -> Inventory {
    let mut inv = Inventory {
        name: name.to_string(),
        ..Inventory::default()
    };
    let mut site_at: Option<Loc> = None;
    let mut domain_at: Option<Loc> = None;
    let mut cluster_at: Option<Loc> = None;
    let mut dns_at: Option<Loc> = None;
    for doc in docs {
        let Some(file) = typed::<InventoryFile>(cx, doc) else {
            continue;
        };
        let root = Loc::new(doc.file, "");
        if let Some(site) = file.site {
            set_once(cx, &mut site_at, root.child("site"), "site");
            if !super::names::is_dns_label(&site) {
                let d = Diagnostic::error(
                    super::names::INVALID_NAME,
                    format!("site name `{site}` is not a DNS-1123 label"),
                )
                .at(cx.label(&root.child("site"), "invalid name"))
                .help(format!("e.g. `{}`", super::names::suggest(&site)));
                cx.push(d);
            }
            if inv.site.is_empty() {
                inv.site = site;
            }
        }
        if let Some(domain) = file.domain {
            set_once(cx, &mut domain_at, root.child("domain"), "domain");
            inv.domain.get_or_insert(domain);
        }
        for (i, h) in file.hardware.into_iter().enumerate() {
            let at = root.child("hardware").child(i);
            let bmc = h.bmc.and_then(|b| addr(cx, &b, &at.child("bmc")));
            inv.hardware.push(Hardware {
                name: h.name,
                rack: h.rack,
                bmc,
                cpu: h.cpu,
                memory: h.memory,
                at,
            });
        }
        for (i, h) in file.hypervisors.into_iter().enumerate() {
            let at = root.child("hypervisors").child(i);
            let address = h.address.and_then(|a| addr(cx, &a, &at.child("address")));
            inv.hypervisors.push(Hypervisor {
                name: h.name,
                hardware: h.hardware,
                cluster: h.cluster,
                address,
                at,
            });
        }
        for (i, n) in file.nodes.into_iter().enumerate() {
            let at = root.child("nodes").child(i);
            if let Some(node) = node(cx, n, at) {
                inv.nodes.push(node);
            }
        }
        for (i, m) in file.machines.into_iter().enumerate() {
            let at = root.child("machines").child(i);
            let Some(placement) = placement(cx, "machine", &m.name, m.hypervisor, m.hardware, &at)
            else {
                continue;
            };
            inv.machines.push(Machine {
                interfaces: interfaces(cx, m.interfaces, &at),
                name: m.name,
                placement,
                roles: m.roles.into_iter().collect(),
                cpu: m.cpu,
                memory: m.memory,
                at,
            });
        }
        if let Some(dns) = file.dns {
            let at = root.child("dns");
            set_once(cx, &mut dns_at, at.clone(), "dns");
            for (i, a) in dns.iter().enumerate() {
                if let Some(a) = addr(cx, a, &at.child(i)) {
                    inv.dns.push(a);
                }
            }
        }
        for (i, n) in file.nas.into_iter().enumerate() {
            let at = root.child("nas").child(i);
            let Some(address) = addr(cx, &n.address, &at.child("address")) else {
                cx.broken.insert((Kind::Nas, n.name));
                continue;
            };
            let exports = n
                .exports
                .into_iter()
                .enumerate()
                .map(|(j, e)| Export {
                    name: e.name,
                    path: e.path,
                    capacity: e.capacity,
                    purpose: e.purpose.into_iter().collect(),
                    at: at.child("exports").child(j),
                })
                .collect();
            inv.nas.push(Nas {
                name: n.name,
                address,
                exports,
                at,
            });
        }
        for (i, s) in file.subnets.into_iter().enumerate() {
            let at = root.child("subnets").child(i);
            if let Some(subnet) = subnet(cx, s, at) {
                inv.subnets.push(subnet);
            }
        }
        if let Some(c) = file.cluster {
            let at = root.child("cluster");
            set_once(cx, &mut cluster_at, at.clone(), "cluster");
            let given = [c.pod_cidr, c.service_cidr, c.join_cidr];
            for (i, text) in given.into_iter().enumerate() {
                let key_at = at.child(crate::model::ClusterNetworks::KEYS[i]);
                let Some(net) = text.and_then(|t| network(cx, &t, &key_at)) else {
                    continue;
                };
                match i {
                    0 => inv.cluster.pods = net,
                    1 => inv.cluster.services = net,
                    _ => inv.cluster.join = net,
                }
                inv.cluster.at[i] = Some(key_at);
            }
        }
    }
    if site_at.is_none() {
        let first = docs.first().map_or(0, |d| d.file);
        cx.push(
            Diagnostic::error(MISSING_SITE, format!("inventory `{name}` has no `site`"))
                .at(cx.label(&Loc::new(first, ""), "in this inventory"))
                .help("add `site: <name>` (a DNS-1123 label) to the inventory"),
        );
    }
    inv
}

/// Records where a once-only key was set; a second place is an error.
fn set_once(cx: &mut Ctx, first: &mut Option<Loc>, here: Loc, key: &str) {
    match first {
        None => *first = Some(here),
        Some(prev) => {
            let d = Diagnostic::error(
                DUPLICATE_SECTION,
                format!("`{key}` is set in more than one file of the inventory"),
            )
            .at(cx.key_label(&here, "set again here"))
            .also(cx.key_label(prev, "first set here"))
            .help(format!("keep `{key}` in one file only"));
            cx.push(d);
        }
    }
}

fn node(cx: &mut Ctx, n: RawNode, at: Loc) -> Option<Node> {
    let Some(placement) = placement(cx, "node", &n.name, n.hypervisor, n.hardware, &at) else {
        cx.broken.insert((Kind::Node, n.name));
        return None;
    };
    Some(Node {
        interfaces: interfaces(cx, n.interfaces, &at),
        name: n.name,
        placement,
        roles: n.roles.into_iter().collect(),
        cpu: n.cpu,
        memory: n.memory,
        at,
    })
}

/// Where a node or machine runs: exactly one of `hypervisor` and `hardware`.
fn placement(
    cx: &mut Ctx,
    noun: &str,
    name: &str,
    hypervisor: Option<String>,
    hardware: Option<String>,
    at: &Loc,
) -> Option<Placement> {
    match (hypervisor, hardware) {
        (Some(hv), None) => Some(Placement::Vm(hv)),
        (None, Some(hw)) => Some(Placement::BareMetal(hw)),
        (both_hv, both_hw) => {
            let (msg, label_at) = if both_hv.is_some() && both_hw.is_some() {
                (
                    format!("{noun} `{name}` has both `hypervisor` and `hardware`"),
                    at.child("hardware"),
                )
            } else {
                (
                    format!("{noun} `{name}` has neither `hypervisor` nor `hardware`"),
                    at.child("name"),
                )
            };
            let d = Diagnostic::error(NODE_PLACEMENT, msg)
                .at(cx.key_label(&label_at, "here"))
                .help(format!(
                    "a VM names its `hypervisor`; a bare-metal {noun} names its `hardware`; give exactly one"
                ));
            cx.push(d);
            None
        }
    }
}

/// The typed interfaces of a node or machine at `at`.
fn interfaces(cx: &mut Ctx, raw: Vec<RawInterface>, at: &Loc) -> Vec<Interface> {
    raw.into_iter()
        .enumerate()
        .map(|(j, i)| {
            let at = at.child("interfaces").child(j);
            let address = i.address.and_then(|a| addr(cx, &a, &at.child("address")));
            let mac = i.mac.and_then(|m| mac(cx, &m, &at.child("mac")));
            Interface {
                subnet: i.subnet,
                address,
                mac,
                bridge: i.bridge,
                name: i.name,
                at,
            }
        })
        .collect()
}

/// A network in CIDR notation, without host bits.
fn network(cx: &mut Ctx, text: &str, at: &Loc) -> Option<IpNet> {
    match text.parse::<IpNet>() {
        Ok(net) if net.trunc() == net => Some(net),
        Ok(net) => {
            let d = Diagnostic::error(
                CIDR_HOST_BITS,
                format!("`{text}` has host bits set; it is not a network address"),
            )
            .at(cx.label(at, "host bits set"))
            .help(format!("did you mean `{}`?", net.trunc()));
            cx.push(d);
            None
        }
        Err(_) => {
            let d = Diagnostic::error(
                INVALID_CIDR,
                format!("`{text}` is not a network in CIDR notation"),
            )
            .at(cx.label(at, "not a CIDR"))
            .help("write the network and prefix length, e.g. 10.20.0.0/24 or 2001:db8::/64");
            cx.push(d);
            None
        }
    }
}

fn subnet(cx: &mut Ctx, s: RawSubnet, at: Loc) -> Option<Subnet> {
    let cidr_at = at.child("cidr");
    let cidr = network(cx, &s.cidr, &cidr_at);
    let gateway = s.gateway.and_then(|g| addr(cx, &g, &at.child("gateway")));
    let mut ranges = |list: Vec<RawRange>, key: &str| -> Vec<Pool> {
        list.into_iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let at = at.child(key).child(i);
                let start = addr(cx, &r.start, &at.child("start"));
                let end = addr(cx, &r.end, &at.child("end"));
                Some(Pool {
                    name: r.name,
                    start: start?,
                    end: end?,
                    at,
                })
            })
            .collect()
    };
    let dhcp_pools = ranges(s.dhcp_pools, "dhcp_pools");
    let vip_pools = ranges(s.vip_pools, "vip_pools");
    let reserved = ranges(s.reserved, "reserved");
    let Some(cidr) = cidr else {
        cx.broken.insert((Kind::Subnet, s.name));
        return None;
    };
    Some(Subnet {
        name: s.name,
        cidr,
        gateway,
        vlan: s.vlan,
        purpose: s.purpose,
        dhcp_pools,
        vip_pools,
        reserved,
        at,
    })
}

fn addr(cx: &mut Ctx, s: &str, at: &Loc) -> Option<IpAddr> {
    match s.parse::<IpAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            let help = if s.contains('/') {
                "write the address without a prefix length (the subnet has the prefix)"
            } else {
                "write an IPv4 (10.20.0.31) or IPv6 (2001:db8::31) address"
            };
            let d = Diagnostic::error(INVALID_ADDRESS, format!("`{s}` is not an IP address"))
                .at(cx.label(at, "not an IP address"))
                .help(help);
            cx.push(d);
            None
        }
    }
}

fn mac(cx: &mut Ctx, s: &str, at: &Loc) -> Option<Mac> {
    let m = Mac::parse(s);
    if m.is_none() {
        let d = Diagnostic::error(INVALID_MAC, format!("`{s}` is not a MAC address"))
            .at(cx.label(at, "not a MAC address"))
            .help("write six hex pairs separated by ':', quoted: \"52:54:00:20:00:31\"");
        cx.push(d);
    }
    m
}
