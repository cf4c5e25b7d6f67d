//! Synthetic sites and environments for benchmarks: any number of nodes (3 to 10,000+),
//! subnets (up to 1,000, IPv4 and IPv6, each with a DHCP pool) and environments, all
//! valid `base` clouds, as text in the formats gcc reads.
//!
//! Shared by the `gen-fleet` example (which writes a tree to disk) and the benches.
#![allow(dead_code)] // each user takes a different part

use std::fmt::Write;
use std::net::Ipv4Addr;

/// One synthetic site's shape.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Nodes (VMs), at least 3.
    pub nodes: usize,
    /// Subnets, at least 1: `mgmt` plus alternating IPv4 /24s and IPv6 /64s.
    pub subnets: usize,
}

impl Shape {
    /// Physical machines: one per four nodes, at least three.
    pub fn machines(&self) -> usize {
        (self.nodes / 4).max(3)
    }
}

/// `10.0.0.0/16` host number `n`.
fn mgmt(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + n)
}

/// Extra subnet `s` (0-based): its CIDR, gateway, DHCP pool and the address of host `k`.
fn extra(s: usize, k: usize) -> (String, String, (String, String), String) {
    if s.is_multiple_of(2) {
        let i = s / 2;
        let net = format!("172.{}.{}", 16 + i / 256, i % 256);
        (
            format!("{net}.0/24"),
            format!("{net}.1"),
            (format!("{net}.200"), format!("{net}.250")),
            format!("{net}.{}", 10 + k),
        )
    } else {
        let i = s / 2;
        let net = format!("2001:db8:{:x}:{:x}", 0x100 + i / 0x10000, i % 0x10000);
        (
            format!("{net}::/64"),
            format!("{net}::1"),
            (format!("{net}::f000"), format!("{net}::ffff")),
            format!("{net}::{:x}", 0x10 + k),
        )
    }
}

/// The inventory of site `name`.
pub fn inventory(name: &str, shape: Shape) -> String {
    assert!(shape.nodes >= 3 && shape.nodes <= 200_000 && shape.subnets >= 1);
    let machines = shape.machines();
    // Up to 10,000 nodes mgmt is a /16: hypervisors from host 4,096, nodes from 8,192, the
    // DHCP pool at the top. A bigger site gets a /12, hypervisors after the nodes and the
    // pool after them.
    let (cidr, hv_base, pool) = if shape.nodes <= 10_000 {
        ("10.0.0.0/16", 4096, (40_000, 65_000))
    } else {
        let hv = 8192 + shape.nodes as u32 + 256;
        let start = hv + machines as u32 + 256;
        ("10.0.0.0/12", hv, (start, start + 25_000))
    };
    let extras = shape.subnets - 1;
    let mut s = String::with_capacity(shape.nodes * 200 + shape.subnets * 200);
    let _ = writeln!(s, "site: {name}\nhardware:");
    for m in 0..machines {
        let _ = writeln!(
            s,
            "  - {{ name: hw-{m}, rack: r{}, cpu: 64, memory: 512Gi }}",
            m % 8
        );
    }
    s.push_str("hypervisors:\n");
    for m in 0..machines {
        let _ = writeln!(
            s,
            "  - {{ name: hv-{m}, hardware: hw-{m}, address: {} }}",
            mgmt(hv_base + m as u32)
        );
    }
    let _ = writeln!(
        s,
        "nas:\n  - name: nas-01\n    address: {}\n    exports:\n      - {{ name: volumes, path: /v/k8s, purpose: [volumes] }}\n      - {{ name: backups, path: /v/backups, purpose: [backups] }}",
        mgmt(5)
    );
    let _ = writeln!(
        s,
        "subnets:\n  - name: mgmt\n    cidr: {cidr}\n    gateway: 10.0.0.1\n    vlan: 20\n    reserved:\n      - {{ start: 10.0.0.2, end: 10.0.0.4 }}\n    vip_pools:\n      - {{ name: primary, start: {}, end: {} }}\n    dhcp_pools:\n      - {{ name: mgmt-dynamic, start: {}, end: {} }}",
        mgmt(256 + 10),
        mgmt(256 + 50),
        mgmt(pool.0),
        mgmt(pool.1)
    );
    for e in 0..extras {
        let (cidr, gw, (start, end), _) = extra(e, 0);
        let _ = writeln!(
            s,
            "  - name: net-{e}\n    cidr: {cidr}\n    gateway: \"{gw}\"\n    vlan: {}\n    dhcp_pools:\n      - {{ name: pool-{e}, start: \"{start}\", end: \"{end}\" }}",
            100 + e % 3900
        );
    }
    s.push_str("nodes:\n");
    for i in 0..shape.nodes {
        let roles = match (i, shape.nodes) {
            (0..3, 3) => "[control-plane, openstack-control, network, worker, compute]",
            (0..3, _) => "[control-plane, openstack-control, network, worker]",
            _ => "[worker, compute]",
        };
        let _ = writeln!(
            s,
            "  - name: node-{i}\n    hypervisor: hv-{}\n    roles: {roles}\n    interfaces:\n      - {{ subnet: mgmt, address: {}, mac: \"52:54:{:02x}:{:02x}:{:02x}:{:02x}\" }}",
            i % machines,
            mgmt(8192 + i as u32),
            (i >> 24) & 0xff,
            (i >> 16) & 0xff,
            (i >> 8) & 0xff,
            i & 0xff
        );
        if extras > 0 {
            // Each node also sits on one extra subnet, as long as its /24 has room.
            let (e, k) = (i % extras, i / extras);
            if k < 180 {
                let (_, _, _, addr) = extra(e, k);
                let _ = writeln!(s, "      - {{ subnet: net-{e}, address: \"{addr}\" }}");
            }
        }
    }
    s
}

/// The services of every generated environment (those of the bundled `prod`).
pub const SERVICES: &[&str] = &[
    "keystone",
    "glance",
    "placement",
    "nova",
    "neutron",
    "cinder",
    "heat",
    "barbican",
    "horizon",
    "octavia",
    "designate",
    "magnum",
    "masakari",
    "ceilometer",
    "gnocchi",
];

/// A `base` environment on inventory `site`, for Flux or Argo CD.
pub fn environment(site: &str, argocd: bool) -> String {
    let mut s = format!(
        "inventory: {site}\nprofile: base\ntarget: {}\nrelease: \"2024.1\"\nservices:\n",
        if argocd { "argocd" } else { "flux" }
    );
    for svc in SERVICES {
        let _ = writeln!(s, "  {svc}: {{}}");
    }
    s.push_str("storage:\n  general: { provider: longhorn, replicas: 2 }\n  general-multi-attach: { provider: nfs, export: nas-01/volumes }\n  backups: { provider: nfs, export: nas-01/backups }\n");
    s
}

/// Node counts of a fleet of `envs` sites spread geometrically from `min` to `max`.
pub fn node_counts(envs: usize, min: usize, max: usize) -> Vec<usize> {
    (0..envs)
        .map(|k| {
            if envs == 1 || min == max {
                return min;
            }
            let t = k as f64 / (envs - 1) as f64;
            ((min as f64) * ((max as f64) / (min as f64)).powf(t)).round() as usize
        })
        .collect()
}
