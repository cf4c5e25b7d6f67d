//! Addresses, subnets and pools.
//!
//! Every check here is a sort and a sweep, or a binary search over sorted ranges, so it
//! stays O(n log n) in the number of addresses and pools: a 10,000-node site is checked
//! as quickly as the YAML is read.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{Ctx, Kind};
use crate::diag::Diagnostic;
use crate::model::{Inventory, Loc, Mac, Pool, Subnet};

/// Code: two subnets overlap.
pub(crate) const SUBNET_OVERLAP: &str = "gcc::inventory::subnet_overlap";
/// Code: a network of the Kubernetes cluster (pods, services, kube-ovn's join subnet)
/// overlaps an inventory subnet or another of them.
pub(crate) const CLUSTER_OVERLAP: &str = "gcc::inventory::cluster_overlap";
/// Code: a gateway outside its subnet.
pub(crate) const GATEWAY_OUTSIDE_SUBNET: &str = "gcc::inventory::gateway_outside_subnet";
/// Code: an interface address outside the subnet it names.
pub(crate) const ADDRESS_OUTSIDE_SUBNET: &str = "gcc::inventory::address_outside_subnet";
/// Code (warning): an address in no declared subnet.
pub(crate) const ADDRESS_IN_NO_SUBNET: &str = "gcc::inventory::address_in_no_subnet";
/// Code: an address that is its subnet's network address.
pub(crate) const ADDRESS_IS_NETWORK: &str = "gcc::inventory::address_is_network";
/// Code: an address that is its subnet's broadcast address.
pub(crate) const ADDRESS_IS_BROADCAST: &str = "gcc::inventory::address_is_broadcast";
/// Code: a static address that is its subnet's gateway.
pub(crate) const ADDRESS_IS_GATEWAY: &str = "gcc::inventory::address_is_gateway";
/// Code: the same address used twice.
pub(crate) const DUPLICATE_ADDRESS: &str = "gcc::inventory::duplicate_address";
/// Code: the same MAC used twice.
pub(crate) const DUPLICATE_MAC: &str = "gcc::inventory::duplicate_mac";
/// Code: a pool not inside its subnet's usable addresses.
pub(crate) const POOL_OUTSIDE_SUBNET: &str = "gcc::inventory::pool_outside_subnet";
/// Code: a pool whose start is after its end.
pub(crate) const POOL_REVERSED: &str = "gcc::inventory::pool_reversed";
/// Code: two pools or ranges of a subnet overlap.
pub(crate) const POOL_OVERLAP: &str = "gcc::inventory::pool_overlap";
/// Code: a DHCP or VIP pool containing the gateway.
pub(crate) const POOL_CONTAINS_GATEWAY: &str = "gcc::inventory::pool_contains_gateway";
/// Code: a static address inside a DHCP pool, with no MAC to make it a reservation.
pub(crate) const STATIC_IN_DHCP_POOL: &str = "gcc::inventory::static_in_dhcp_pool";
/// Code: a static address inside a VIP pool.
pub(crate) const STATIC_IN_VIP_POOL: &str = "gcc::inventory::static_in_vip_pool";
/// Code: a static address inside a reserved range.
pub(crate) const STATIC_IN_RESERVED: &str = "gcc::inventory::static_in_reserved";

/// An address as a number that sorts within its family: (4 or 6, value).
type Key = (u8, u128);

fn key(a: IpAddr) -> Key {
    match a {
        IpAddr::V4(v) => (4, u32::from(v) as u128),
        IpAddr::V6(v) => (6, u128::from(v)),
    }
}

fn net_bounds(net: &IpNet) -> (Key, Key) {
    (key(net.network()), key(net.broadcast()))
}

/// First and last address a host or pool may use: v4 without network and broadcast
/// (except /31 and /32), v6 without the subnet-router anycast address (except /127, /128).
fn usable(net: &IpNet) -> (Key, Key) {
    let (lo, hi) = net_bounds(net);
    match net {
        IpNet::V4(n) if n.prefix_len() < 31 => ((lo.0, lo.1 + 1), (hi.0, hi.1 - 1)),
        IpNet::V6(n) if n.prefix_len() < 127 => ((lo.0, lo.1 + 1), hi),
        _ => (lo, hi),
    }
}

fn show(k: Key) -> String {
    match k.0 {
        4 => std::net::Ipv4Addr::from(k.1 as u32).to_string(),
        _ => std::net::Ipv6Addr::from(k.1).to_string(),
    }
}

/// What kind of range a pool entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Dhcp,
    Vip,
    Reserved,
}

impl RangeKind {
    fn noun(self) -> &'static str {
        match self {
            RangeKind::Dhcp => "DHCP pool",
            RangeKind::Vip => "VIP pool",
            RangeKind::Reserved => "reserved range",
        }
    }
}

/// A valid range of a subnet, for lookups.
struct Range<'a> {
    start: Key,
    end: Key,
    kind: RangeKind,
    pool: &'a Pool,
}

/// A static address somewhere in the inventory.
struct Static<'a> {
    addr: IpAddr,
    at: Loc,
    what: String,
    /// The subnet an interface says it is on.
    subnet: Option<&'a str>,
    /// Interfaces with a MAC may sit in a DHCP pool (they become reservations).
    has_mac: bool,
    /// A router's interface may hold its subnet's gateway address.
    router: bool,
}

pub(super) fn check(cx: &mut Ctx, inv: &Inventory) {
    let subnets = sorted_subnets(cx, inv);
    cluster_networks(cx, inv);
    let mut ranges: BTreeMap<&str, Vec<Range>> = BTreeMap::new();
    for s in &inv.subnets {
        check_gateway(cx, s);
        ranges.insert(s.name.as_str(), check_ranges(cx, s));
    }
    let by_name: BTreeMap<&str, &Subnet> =
        inv.subnets.iter().map(|s| (s.name.as_str(), s)).collect();
    let statics = collect_statics(inv);
    for st in &statics {
        check_static(cx, &by_name, &subnets, &ranges, st);
    }
    duplicates(
        cx,
        statics
            .iter()
            .map(|s| (key(s.addr), &s.at, s.what.as_str(), s.addr.to_string())),
        "address",
        DUPLICATE_ADDRESS,
    );
    let macs: Vec<(Mac, Loc, String)> = inv
        .hosts()
        .flat_map(|h| {
            h.interfaces.iter().filter_map(move |i| {
                Some((
                    i.mac?,
                    i.at.child("mac"),
                    format!("{} `{}` on subnet `{}`", h.noun, h.name, i.subnet),
                ))
            })
        })
        .collect();
    duplicates(
        cx,
        macs.iter()
            .map(|(m, at, what)| (*m, at, what.as_str(), m.to_string())),
        "MAC",
        DUPLICATE_MAC,
    );
}

/// Subnets sorted by first address, with overlaps reported.
fn sorted_subnets<'a>(cx: &mut Ctx, inv: &'a Inventory) -> Vec<&'a Subnet> {
    let mut subnets: Vec<&Subnet> = inv.subnets.iter().collect();
    subnets.sort_by_key(|s| (net_bounds(&s.cidr).0, s.at.clone()));
    let mut widest: Option<&Subnet> = None;
    for s in &subnets {
        let (lo, hi) = net_bounds(&s.cidr);
        if let Some(prev) = widest {
            let (_, prev_hi) = net_bounds(&prev.cidr);
            if lo <= prev_hi && lo.0 == prev_hi.0 {
                let d = Diagnostic::error(
                    SUBNET_OVERLAP,
                    format!(
                        "subnet `{}` ({}) overlaps subnet `{}` ({})",
                        s.name, s.cidr, prev.name, prev.cidr
                    ),
                )
                .at(cx.label(&s.at.child("cidr"), "overlaps"))
                .also(cx.label(&prev.at.child("cidr"), format!("subnet `{}`", prev.name)))
                .help("subnets must not share addresses; shrink one or renumber it");
                cx.push(d);
                if hi <= prev_hi {
                    continue;
                }
            }
        }
        widest = Some(s);
    }
    subnets
}

/// The cluster's pod, service and join networks overlap no inventory subnet and no
/// other of them: pods could not reach hosts on an overlapping subnet (the cluster routes
/// those addresses inside), and kube-ovn refuses overlapping networks of its own.
fn cluster_networks(cx: &mut Ctx, inv: &Inventory) {
    let nets = inv.cluster.all();
    // Where a default is used, the label goes on the inventory's first line, with help
    // naming the key to set.
    let root = inv
        .subnets
        .first()
        .map(|s| Loc::new(s.at.file, ""))
        .unwrap_or_else(|| Loc::new(0, ""));
    for (i, (key, net, at)) in nets.iter().enumerate() {
        let overlaps = |other: &IpNet| {
            let (lo, hi) = net_bounds(net);
            let (olo, ohi) = net_bounds(other);
            lo <= ohi && olo <= hi
        };
        let (label_at, given) = match at {
            Some(at) => ((*at).clone(), "set here".to_string()),
            None => (root.clone(), format!("`cluster.{key}` defaults to {net}")),
        };
        for s in inv.subnets.iter().filter(|s| overlaps(&s.cidr)) {
            let d = Diagnostic::error(
                CLUSTER_OVERLAP,
                format!(
                    "the cluster's {key} {net} overlaps subnet `{}` ({})",
                    s.name, s.cidr
                ),
            )
            .at(cx.label(&s.at.child("cidr"), "overlaps"))
            .also(cx.label(&label_at, given.clone()))
            .help(format!(
                "pods could not reach the subnet's hosts; set `cluster.{key}` in the inventory to a network no subnet uses"
            ));
            cx.push(d);
        }
        for (other_key, other, _) in nets.iter().skip(i + 1) {
            if overlaps(other) {
                let d = Diagnostic::error(
                    CLUSTER_OVERLAP,
                    format!("the cluster's {key} {net} overlaps its {other_key} {other}"),
                )
                .at(cx.label(&label_at, given.clone()))
                .help("give the cluster's pod, service and join networks separate ranges");
                cx.push(d);
            }
        }
    }
}

fn check_gateway(cx: &mut Ctx, s: &Subnet) {
    let Some(gw) = s.gateway else { return };
    let at = s.at.child("gateway");
    if !s.cidr.contains(&gw) {
        let (lo, hi) = usable(&s.cidr);
        let d = Diagnostic::error(
            GATEWAY_OUTSIDE_SUBNET,
            format!("gateway {gw} is outside subnet `{}` ({})", s.name, s.cidr),
        )
        .at(cx.label(&at, "outside the subnet"))
        .also(cx.label(&s.at.child("cidr"), "subnet declared here"))
        .help(format!("usable addresses: {}-{}", show(lo), show(hi)));
        cx.push(d);
        return;
    }
    network_or_broadcast(cx, s, gw, &at, "gateway");
}

/// Reports an address that is the subnet's network or broadcast address.
fn network_or_broadcast(cx: &mut Ctx, s: &Subnet, a: IpAddr, at: &Loc, what: &str) -> bool {
    let (lo, hi) = usable(&s.cidr);
    let (net_lo, net_hi) = net_bounds(&s.cidr);
    let k = key(a);
    let (code, which) = if k == net_lo && k < lo {
        (ADDRESS_IS_NETWORK, "network")
    } else if k == net_hi && k > hi {
        (ADDRESS_IS_BROADCAST, "broadcast")
    } else {
        return false;
    };
    let d = Diagnostic::error(
        code,
        format!(
            "{what} {a} is the {which} address of subnet `{}` ({})",
            s.name, s.cidr
        ),
    )
    .at(cx.label(at, format!("{which} address")))
    .help(format!("use an address from {} to {}", show(lo), show(hi)));
    cx.push(d);
    true
}

/// Checks a subnet's pools and reserved ranges; returns the valid ones, sorted.
fn check_ranges<'a>(cx: &mut Ctx, s: &'a Subnet) -> Vec<Range<'a>> {
    let (lo, hi) = usable(&s.cidr);
    let mut valid = Vec::new();
    let all = s
        .dhcp_pools
        .iter()
        .map(|p| (p, RangeKind::Dhcp))
        .chain(s.vip_pools.iter().map(|p| (p, RangeKind::Vip)))
        .chain(s.reserved.iter().map(|p| (p, RangeKind::Reserved)));
    for (pool, kind) in all {
        let (start, end) = (key(pool.start), key(pool.end));
        let name = pool
            .name
            .as_deref()
            .map_or(String::new(), |n| format!(" `{n}`"));
        if start > end && start.0 == end.0 {
            let d = Diagnostic::error(
                POOL_REVERSED,
                format!(
                    "{}{name} starts at {} after its end {}",
                    kind.noun(),
                    pool.start,
                    pool.end
                ),
            )
            .at(cx.label(&pool.at.child("start"), "start"))
            .also(cx.label(&pool.at.child("end"), "end"))
            .help("swap start and end");
            cx.push(d);
            continue;
        }
        let bad = [(start, "start", pool.start), (end, "end", pool.end)]
            .into_iter()
            .find(|(k, _, _)| *k < lo || *k > hi);
        if let Some((_, field, a)) = bad {
            let d = Diagnostic::error(
                POOL_OUTSIDE_SUBNET,
                format!(
                    "{}{name} is not inside subnet `{}` ({}): {a} is outside",
                    kind.noun(),
                    s.name,
                    s.cidr
                ),
            )
            .at(cx.label(&pool.at.child(field), "outside the subnet"))
            .also(cx.label(&s.at.child("cidr"), "subnet declared here"))
            .help(format!("usable addresses: {}-{}", show(lo), show(hi)));
            cx.push(d);
            continue;
        }
        if let Some(gw) = s
            .gateway
            .filter(|g| kind != RangeKind::Reserved && start <= key(*g) && key(*g) <= end)
        {
            let d = Diagnostic::error(
                POOL_CONTAINS_GATEWAY,
                format!("{}{name} contains the gateway {gw}", kind.noun()),
            )
            .at(cx.label(&pool.at.child("start"), "pool starts here"))
            .also(cx.label(&s.at.child("gateway"), "gateway"))
            .help("move the pool so it excludes the gateway");
            cx.push(d);
        }
        valid.push(Range {
            start,
            end,
            kind,
            pool,
        });
    }
    valid.sort_by_key(|r| (r.start, r.end));
    let mut widest: Option<&Range> = None;
    for r in &valid {
        if let Some(prev) = widest
            && r.start <= prev.end
        {
            let d = Diagnostic::error(
                POOL_OVERLAP,
                format!(
                    "{} {}-{} overlaps {} {}-{} in subnet `{}`",
                    r.kind.noun(),
                    r.pool.start,
                    r.pool.end,
                    prev.kind.noun(),
                    prev.pool.start,
                    prev.pool.end,
                    s.name
                ),
            )
            .at(cx.label(&r.pool.at.child("start"), "overlapping range"))
            .also(cx.label(
                &prev.pool.at.child("start"),
                format!("{} here", prev.kind.noun()),
            ))
            .help("pools and reserved ranges of a subnet must not share addresses");
            cx.push(d);
            if r.end <= prev.end {
                continue;
            }
        }
        widest = Some(r);
    }
    valid
}

fn collect_statics(inv: &Inventory) -> Vec<Static<'_>> {
    // Addresses of BMCs, hypervisors and NAS name no subnet and have no MAC.
    let fixed = |addr, at, what| Static {
        addr,
        at,
        what,
        subnet: None,
        has_mac: false,
        router: false,
    };
    let mut out = Vec::new();
    for h in &inv.hardware {
        if let Some(a) = h.bmc {
            out.push(fixed(
                a,
                h.at.child("bmc"),
                format!("BMC of hardware `{}`", h.name),
            ));
        }
    }
    for h in &inv.hypervisors {
        if let Some(a) = h.address {
            out.push(fixed(
                a,
                h.at.child("address"),
                format!("hypervisor `{}`", h.name),
            ));
        }
    }
    for n in &inv.nas {
        out.push(fixed(
            n.address,
            n.at.child("address"),
            format!("NAS `{}`", n.name),
        ));
    }
    for h in inv.hosts() {
        for i in h.interfaces {
            if let Some(a) = i.address {
                out.push(Static {
                    addr: a,
                    at: i.at.child("address"),
                    what: format!("{} `{}` on subnet `{}`", h.noun, h.name, i.subnet),
                    subnet: Some(i.subnet.as_str()),
                    has_mac: i.mac.is_some(),
                    router: h.router,
                });
            }
        }
    }
    out
}

fn check_static(
    cx: &mut Ctx,
    by_name: &BTreeMap<&str, &Subnet>,
    sorted: &[&Subnet],
    ranges: &BTreeMap<&str, Vec<Range>>,
    st: &Static,
) {
    let k = key(st.addr);
    let subnet = match st.subnet {
        Some(name) => {
            let Some(s) = by_name.get(name) else {
                return; // dangling subnet: reported by refs
            };
            if !s.cidr.contains(&st.addr) {
                let (lo, hi) = usable(&s.cidr);
                let d = Diagnostic::error(
                    ADDRESS_OUTSIDE_SUBNET,
                    format!(
                        "address {} of {} is outside subnet `{}` ({})",
                        st.addr, st.what, s.name, s.cidr
                    ),
                )
                .at(cx.label(&st.at, "outside the subnet"))
                .also(cx.label(&s.at.child("cidr"), "subnet declared here"))
                .help(format!("usable addresses: {}-{}", show(lo), show(hi)));
                cx.push(d);
                return;
            }
            s
        }
        None => {
            let i = sorted.partition_point(|s| net_bounds(&s.cidr).0 <= k);
            let found = sorted[..i].iter().rev().find(|s| s.cidr.contains(&st.addr));
            let Some(s) = found else {
                if cx.any_broken(Kind::Subnet) {
                    return; // it may be on the subnet whose CIDR is unreadable
                }
                let d = Diagnostic::warning(
                    ADDRESS_IN_NO_SUBNET,
                    format!("address {} of {} is in no declared subnet", st.addr, st.what),
                )
                .at(cx.label(&st.at, "in no subnet"))
                .help("declare the subnet it lives on, so gcc can check pools and duplicates against it");
                cx.push(d);
                return;
            };
            s
        }
    };
    if network_or_broadcast(cx, subnet, st.addr, &st.at, &st.what) {
        return;
    }
    if subnet.gateway == Some(st.addr) && !st.router {
        let d = Diagnostic::error(
            ADDRESS_IS_GATEWAY,
            format!(
                "address {} of {} is the gateway of subnet `{}`",
                st.addr, st.what, subnet.name
            ),
        )
        .at(cx.label(&st.at, "gateway address"))
        .also(cx.label(&subnet.at.child("gateway"), "gateway"))
        .help("give the host another address; a router that holds it goes under `machines` with role `router`");
        cx.push(d);
        return;
    }
    let list = &ranges[subnet.name.as_str()];
    let i = list.partition_point(|r| r.start <= k);
    let Some(r) = list[..i].iter().rev().find(|r| r.end >= k) else {
        return;
    };
    let (code, help) = match r.kind {
        RangeKind::Dhcp if st.has_mac => return,
        RangeKind::Dhcp if st.subnet.is_some() => (
            STATIC_IN_DHCP_POOL,
            "add the interface's `mac` to make it a DHCP reservation, or pick an address outside the pool",
        ),
        RangeKind::Dhcp => (
            STATIC_IN_DHCP_POOL,
            "pick an address outside the DHCP pool: only interfaces with a MAC can be reservations",
        ),
        RangeKind::Vip => (
            STATIC_IN_VIP_POOL,
            "pick an address outside the VIP pool: MetalLB hands those out to services",
        ),
        RangeKind::Reserved => (
            STATIC_IN_RESERVED,
            "pick an address outside the reserved range",
        ),
    };
    let name = r
        .pool
        .name
        .as_deref()
        .map_or(String::new(), |n| format!(" `{n}`"));
    let d = Diagnostic::error(
        code,
        format!(
            "address {} of {} is inside {}{name} ({}-{})",
            st.addr,
            st.what,
            r.kind.noun(),
            r.pool.start,
            r.pool.end
        ),
    )
    .at(cx.label(&st.at, format!("inside the {}", r.kind.noun())))
    .also(cx.label(&r.pool.at.child("start"), r.kind.noun()))
    .help(help);
    cx.push(d);
}

/// Reports values used more than once: sorted, so each repeat is compared to its first use.
fn duplicates<'a, K: Ord + Copy>(
    cx: &mut Ctx,
    items: impl Iterator<Item = (K, &'a Loc, &'a str, String)>,
    noun: &str,
    code: &'static str,
) {
    let mut items: Vec<_> = items.collect();
    // Stable: of two uses, the one written first (in inventory order) is the first.
    items.sort_by_key(|a| a.0);
    let mut first = 0;
    for i in 1..items.len() {
        if items[i].0 != items[first].0 {
            first = i;
            continue;
        }
        let (origin, again) = (&items[first], &items[i]);
        let d = Diagnostic::error(
            code,
            format!(
                "{noun} {} of {} is already used by {}",
                again.3, again.2, origin.2
            ),
        )
        .at(cx.label(again.1, "used again here"))
        .also(cx.label(origin.1, "first used here"))
        .help(format!("every {noun} must be unique across the inventory"));
        cx.push(d);
    }
}
