//! Property tests: generated valid inventories pass; one corrupted field is caught with
//! the right code; no input of any bytes makes load + check panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use gcc::check::check;
use gcc::load::load;
use gcc::source::MemSource;
use proptest::prelude::*;

/// A generated site: `machines` physical machines, one hypervisor each, `nodes` VMs
/// spread round-robin, one management subnet (IPv4 or IPv6) with DHCP and VIP pools.
#[derive(Debug, Clone)]
struct Site {
    v6: bool,
    machines: usize,
    nodes: Vec<GenNode>,
    vip: (u32, u32),
    dhcp: (u32, u32),
}

#[derive(Debug, Clone)]
struct GenNode {
    name: String,
    hypervisor: String,
    host: u32,
    mac: String,
    extra: String,
    /// An address written instead of the generated one.
    address: Option<String>,
}

impl Site {
    fn new(v6: bool, machines: usize, nodes: usize) -> Self {
        let nodes = (0..nodes)
            .map(|i| GenNode {
                name: format!("node-{i}"),
                hypervisor: format!("hv-{}", i % machines),
                host: 1000 + i as u32,
                mac: format!(
                    "52:54:00:{:02x}:{:02x}:{:02x}",
                    (i >> 16) & 0xff,
                    (i >> 8) & 0xff,
                    i & 0xff
                ),
                extra: String::new(),
                address: None,
            })
            .collect();
        Site {
            v6,
            machines,
            nodes,
            vip: (100, 199),
            dhcp: (200, 299),
        }
    }

    /// The address of host number `n` in the management subnet.
    fn addr(&self, n: u32) -> IpAddr {
        if self.v6 {
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0x20,
                0,
                0,
                0,
                (n >> 16) as u16,
                n as u16,
            ))
        } else {
            // 10.20.0.0/16
            IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 20, 0, 0)) + n))
        }
    }

    fn cidr(&self) -> &'static str {
        if self.v6 {
            "2001:db8:20::/64"
        } else {
            "10.20.0.0/16"
        }
    }

    fn profile(&self) -> &'static str {
        if self.machines >= 3 && self.nodes.len() >= 3 {
            "base"
        } else {
            "aio"
        }
    }

    fn env(&self) -> String {
        format!(
            "inventory: gen\nprofile: {}\nrelease: \"2024.1\"\nservices:\n  keystone: {{}}\n  nova: {{}}\n",
            self.profile()
        )
    }

    fn inventory(&self) -> String {
        let mut s = String::from("site: gen\nhardware:\n");
        for m in 0..self.machines {
            s += &format!(
                "  - {{ name: hw-{m}, bmc: \"{}\" }}\n",
                self.addr(10 + m as u32)
            );
        }
        s += "hypervisors:\n";
        for m in 0..self.machines {
            s += &format!(
                "  - {{ name: hv-{m}, hardware: hw-{m}, address: \"{}\" }}\n",
                self.addr(500 + m as u32)
            );
        }
        s += &format!(
            "subnets:\n  - name: mgmt\n    cidr: {}\n    gateway: \"{}\"\n    vip_pools:\n      - {{ name: vips, start: \"{}\", end: \"{}\" }}\n    dhcp_pools:\n      - {{ name: dyn, start: \"{}\", end: \"{}\" }}\n",
            self.cidr(),
            self.addr(1),
            self.addr(self.vip.0),
            self.addr(self.vip.1),
            self.addr(self.dhcp.0),
            self.addr(self.dhcp.1),
        );
        s += "nodes:\n";
        for n in &self.nodes {
            s += &format!(
                "  - name: {}\n    hypervisor: {}\n    roles: [openstack-control, compute, network]\n{}    interfaces:\n      - {{ subnet: mgmt, address: \"{}\", mac: \"{}\" }}\n",
                n.name,
                n.hypervisor,
                n.extra,
                n.address
                    .clone()
                    .unwrap_or_else(|| self.addr(n.host).to_string()),
                n.mac
            );
        }
        s
    }

    /// The checked model; the site must be valid.
    fn model(&self) -> gcc::model::Model {
        let src = MemSource::new()
            .with("environments/gen.yaml", self.env())
            .with("inventory/gen.yaml", self.inventory());
        let loaded = load(&src, "gen").expect("environment exists");
        let checked = check(&loaded);
        checked
            .model
            .unwrap_or_else(|| panic!("{:?}\n{}", checked.diagnostics, self.inventory()))
    }

    fn codes(&self) -> Vec<String> {
        let src = MemSource::new()
            .with("environments/gen.yaml", self.env())
            .with("inventory/gen.yaml", self.inventory());
        let loaded = load(&src, "gen").expect("environment exists");
        check(&loaded)
            .diagnostics
            .iter()
            .map(|d| d.code.to_string())
            .collect()
    }
}

fn site() -> impl Strategy<Value = Site> {
    (any::<bool>(), 1usize..8, 1usize..40)
        .prop_map(|(v6, machines, nodes)| Site::new(v6, machines, nodes))
}

/// One corruption and the code that must report it.
#[derive(Debug, Clone, Copy)]
enum Corruption {
    DuplicateAddress,
    DuplicateMac,
    DanglingHypervisor,
    AddressOutsideSubnet,
    BadMac,
    DuplicateName,
    PoolOverlap,
    UnknownKey,
    StaticInVipPool,
}

impl Corruption {
    fn apply(self, site: &mut Site, k: usize) -> &'static str {
        let k = k % site.nodes.len();
        match self {
            Corruption::DuplicateAddress => {
                // The hypervisor hv-0 sits at host 500.
                site.nodes[k].host = 500;
                "gcc::inventory::duplicate_address"
            }
            Corruption::DuplicateMac => {
                site.nodes[k].mac = "52:54:00:aa:bb:cc".into();
                let other = (k + 1) % site.nodes.len();
                if other == k {
                    site.nodes.push(GenNode {
                        name: "extra".into(),
                        ..site.nodes[k].clone()
                    });
                    site.nodes.last_mut().unwrap().host = 3000;
                } else {
                    site.nodes[other].mac = "52:54:00:AA:BB:CC".into();
                }
                "gcc::inventory::duplicate_mac"
            }
            Corruption::DanglingHypervisor => {
                site.nodes[k].hypervisor = "hv-missing".into();
                "gcc::inventory::unknown_hypervisor"
            }
            Corruption::AddressOutsideSubnet => {
                let outside = if site.v6 {
                    "2001:db8:99::1"
                } else {
                    "10.99.0.1"
                };
                site.nodes[k].address = Some(outside.into());
                "gcc::inventory::address_outside_subnet"
            }
            Corruption::BadMac => {
                site.nodes[k].mac = "52:54:00:zz:00:01".into();
                "gcc::inventory::invalid_mac"
            }
            Corruption::DuplicateName => {
                let other = (k + 1) % site.nodes.len();
                if other == k {
                    let mut n = site.nodes[k].clone();
                    n.host = 3000;
                    n.mac = "52:54:00:ff:ff:ff".into();
                    site.nodes.push(n);
                } else {
                    site.nodes[other].name = site.nodes[k].name.clone();
                }
                "gcc::inventory::duplicate_name"
            }
            Corruption::PoolOverlap => {
                site.vip = (150, 250);
                "gcc::inventory::pool_overlap"
            }
            Corruption::UnknownKey => {
                site.nodes[k].extra = "    colour: blue\n".into();
                "gcc::schema::unknown_key"
            }
            Corruption::StaticInVipPool => {
                site.nodes[k].host = 150;
                "gcc::inventory::static_in_vip_pool"
            }
        }
    }
}

fn corruption() -> impl Strategy<Value = Corruption> {
    prop_oneof![
        Just(Corruption::DuplicateAddress),
        Just(Corruption::DuplicateMac),
        Just(Corruption::DanglingHypervisor),
        Just(Corruption::AddressOutsideSubnet),
        Just(Corruption::BadMac),
        Just(Corruption::DuplicateName),
        Just(Corruption::PoolOverlap),
        Just(Corruption::UnknownKey),
        Just(Corruption::StaticInVipPool),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn generated_sites_are_valid(site in site()) {
        let codes = site.codes();
        prop_assert!(codes.is_empty(), "unexpected diagnostics {:?} for\n{}", codes, site.inventory());
    }

    #[test]
    fn every_dhcp_reservation_lies_in_its_subnet_and_is_unique(
        mut site in site(),
        into_pool in proptest::collection::vec(any::<bool>(), 40),
    ) {
        // Some nodes take addresses inside the DHCP pool (allowed: they have a MAC).
        for (i, n) in site.nodes.iter_mut().enumerate() {
            if into_pool[i] {
                n.host = site.dhcp.0 + i as u32;
            }
        }
        let model = site.model();
        let plan = gcc::plan::dhcp_plan(&model.inventory).expect("a pool to serve");
        let files = gcc::emit::kea_files(&plan);
        prop_assert_eq!(files.len(), 1);
        let kea: serde_json::Value = serde_json::from_str(&files[0].1).unwrap();
        let server = kea.as_object().unwrap().values().next().unwrap();
        let subnets = server[if site.v6 { "subnet6" } else { "subnet4" }].as_array().unwrap();
        let mut addresses = std::collections::BTreeSet::new();
        let mut macs = std::collections::BTreeSet::new();
        let mut count = 0;
        for s in subnets {
            let net: ipnet::IpNet = s["subnet"].as_str().unwrap().parse().unwrap();
            for r in s["reservations"].as_array().into_iter().flatten() {
                let a = if site.v6 { &r["ip-addresses"][0] } else { &r["ip-address"] };
                let a: IpAddr = a.as_str().unwrap().parse().unwrap();
                prop_assert!(net.contains(&a), "{} outside {}", a, net);
                prop_assert!(addresses.insert(a), "{} reserved twice", a);
                prop_assert!(macs.insert(r["hw-address"].as_str().unwrap().to_string()), "MAC twice: {}", r);
                count += 1;
            }
        }
        // Every node has a MAC and an address on mgmt: every node is reserved.
        prop_assert_eq!(count, site.nodes.len());
    }

    #[test]
    fn one_corrupted_field_is_caught(mut site in site(), c in corruption(), k in 0usize..64) {
        let expected = c.apply(&mut site, k);
        let codes = site.codes();
        prop_assert!(codes.iter().any(|x| x == expected), "{:?}: expected {} in {:?}\n{}", c, expected, codes, site.inventory());
    }

    #[test]
    fn arbitrary_environment_bytes_never_panic(env in proptest::collection::vec(any::<u8>(), 0..400)) {
        let src = MemSource::new()
            .with("environments/x.yaml", env)
            .with("inventory/lab.yaml", include_str!("../inventory/aio-lab.yaml"));
        let c = gcc::compile::compile(&src, "x").unwrap();
        prop_assert!(c.build.is_none());
    }

    #[test]
    fn arbitrary_inventory_bytes_never_panic(inv in proptest::collection::vec(any::<u8>(), 0..2000)) {
        // A valid environment, so the random bytes are what load and check read.
        let src = MemSource::new()
            .with("environments/x.yaml", "inventory: lab\nprofile: aio\nrelease: \"2024.1\"\n")
            .with("inventory/lab.yaml", inv);
        let c = gcc::compile::compile(&src, "x").unwrap();
        prop_assert_eq!(c.loaded.inventory_files.len(), 1);
        prop_assert!(c.build.is_none());
    }

    #[test]
    fn yaml_like_text_never_panics(inv in "[a-z0-9:{}\\[\\],.&*!|>'\"# \n-]{0,400}") {
        let src = MemSource::new()
            .with("environments/x.yaml", "inventory: lab\nprofile: aio\nrelease: \"2024.1\"\n")
            .with("inventory/lab.yaml", inv);
        let loaded = load(&src, "x").unwrap();
        let _ = check(&loaded);
    }

    #[test]
    fn spliced_examples_never_panic(pos in 0usize..4000, junk in "[ -~\n\t]{0,12}") {
        let text = include_str!("../inventory/laundry-lab/laundry-lab.yaml");
        let mut at = pos.min(text.len());
        while !text.is_char_boundary(at) { at -= 1; }
        let spliced = format!("{}{}{}", &text[..at], junk, &text[at..]);
        let src = MemSource::new()
            .with("environments/prod.yaml", include_str!("../environments/prod.yaml"))
            .with("inventory/laundry-lab.yaml", spliced);
        let loaded = load(&src, "prod").unwrap();
        let _ = check(&loaded);
    }
}
