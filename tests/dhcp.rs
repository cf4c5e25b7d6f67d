//! The lab's DHCP configuration is judged by the real Kea: `kea-dhcp4 -t` and
//! `kea-dhcp6 -t` (Debian's kea-dhcp4-server and kea-dhcp6-server; `.ci/run` installs
//! them) must accept every file a build writes under `site/dhcp/`, for the bundled
//! examples (IPv4) and a dual-stack lab (IPv4 and IPv6).
//!
//! Kea's test mode also checks that every interface named exists on the machine it runs
//! on. The names in the files are the DHCP server's (the inventory's `dhcp` machine);
//! this machine has `lo`, so the test names `lo` instead, and checks the rest as written.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::bundled;
use gcc::compile::compile;
use gcc::source::MemSource;
use serde_json::Value;

/// Kea's verdict on `text`: `Ok` or its error lines.
fn kea_test(file: &str, text: &str) -> Result<(), String> {
    let program = if file.ends_with("kea-dhcp6.json") {
        "kea-dhcp6"
    } else {
        "kea-dhcp4"
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kea.json");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(program)
        .arg("-t")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} cannot run ({e}): install Debian's {program}-server (.ci/run does)")
        });
    if out.status.success() {
        return Ok(());
    }
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Err(all
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("rror"))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// `text` with every interface name replaced by `lo` (see the module comment).
fn on_this_machine(text: &str) -> String {
    let mut v: Value = serde_json::from_str(text).unwrap();
    let server = v.as_object_mut().unwrap().values_mut().next().unwrap();
    let names = server
        .pointer_mut("/interfaces-config/interfaces")
        .and_then(Value::as_array_mut)
        .unwrap();
    if names.iter().any(|n| n != "*") {
        *names = vec![Value::from("lo")];
    }
    for key in ["subnet4", "subnet6"] {
        for s in server
            .get_mut(key)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(i) = s.get_mut("interface") {
                *i = Value::from("lo");
            }
        }
    }
    serde_json::to_string_pretty(&v).unwrap()
}

/// The `site/dhcp/` files of a build of `env` over `src`.
fn dhcp_files(src: &MemSource, env: &str) -> BTreeMap<String, String> {
    let c = compile(src, env).unwrap();
    let b = c
        .build
        .unwrap_or_else(|| panic!("{env}: {:?}", c.diagnostics));
    b.rendered
        .files
        .into_iter()
        .filter(|(p, _)| p.starts_with("site/dhcp/"))
        .map(|(p, b)| (p, String::from_utf8(b).unwrap()))
        .collect()
}

#[test]
fn kea_accepts_the_bundled_labs_and_serves_what_the_inventory_says() {
    for env in ["prod", "aio", "argocd"] {
        let files = dhcp_files(&bundled(env), env);
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            ["site/dhcp/kea-dhcp4.json"],
            "{env}: IPv4 labs"
        );
        for (path, text) in &files {
            kea_test(path, &on_this_machine(text))
                .unwrap_or_else(|e| panic!("{env}: Kea refuses {path}:\n{e}\n{text}"));
        }
    }
    // The laundry lab: mgmt served (public is a provider subnet: its pool is Neutron's
    // floating range), on the router's VLAN interface, with every MAC-bearing interface
    // reserved, nodes and machines alike.
    let files = dhcp_files(&bundled("prod"), "prod");
    let kea: Value = serde_json::from_str(&files["site/dhcp/kea-dhcp4.json"]).unwrap();
    let dhcp4 = &kea["Dhcp4"];
    assert_eq!(
        dhcp4["interfaces-config"]["interfaces"],
        serde_json::json!(["vlan20"])
    );
    let subnets = dhcp4["subnet4"].as_array().unwrap();
    assert_eq!(subnets.len(), 1);
    let mgmt = &subnets[0];
    assert_eq!(mgmt["subnet"], "10.20.0.0/24");
    assert_eq!(mgmt["interface"], "vlan20");
    assert_eq!(mgmt["pools"][0]["pool"], "10.20.0.100 - 10.20.0.199");
    assert_eq!(mgmt["option-data"][0]["name"], "routers");
    assert_eq!(mgmt["option-data"][0]["data"], "10.20.0.1");
    let hosts: Vec<&str> = mgmt["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["hostname"].as_str().unwrap())
        .collect();
    assert_eq!(
        hosts,
        [
            "git-01",
            "backup-01",
            "k8s-ctl-01",
            "k8s-ctl-02",
            "k8s-ctl-03",
            "k8s-wrk-01",
            "k8s-wrk-02",
            "k8s-wrk-03",
            "compute-01",
            "compute-02"
        ]
    );
    let options: Vec<(&str, &str)> = dhcp4["option-data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["data"].as_str().unwrap()))
        .collect();
    assert_eq!(
        options,
        [
            ("domain-name", "lab.example.net"),
            ("domain-search", "lab.example.net"),
            ("domain-name-servers", "10.20.0.1"),
        ]
    );
}

const DUAL_STACK: &str = r#"
site: dual
domain: dual.example.net
dns: [10.0.0.1, "2001:db8:0:1::1"]
hardware:
  - { name: hw-01 }
  - { name: hw-02 }
hypervisors:
  - { name: hv-01, hardware: hw-01, address: 10.0.0.2 }
subnets:
  - name: mgmt
    cidr: 10.0.0.0/24
    gateway: 10.0.0.1
    vlan: 20
    dhcp_pools:
      - { name: mgmt-dynamic, start: 10.0.0.100, end: 10.0.0.199 }
  - name: mgmt6
    cidr: "2001:db8:0:1::/64"
    gateway: "2001:db8:0:1::1"
    vlan: 21
    dhcp_pools:
      - { name: mgmt6-dynamic, start: "2001:db8:0:1::1000", end: "2001:db8:0:1::1fff" }
      - { name: mgmt6-more, start: "2001:db8:0:1::3000", end: "2001:db8:0:1::3fff" }
nodes:
  - name: aio-01
    hypervisor: hv-01
    roles: [control-plane, worker, openstack-control, compute, network]
    interfaces:
      - { subnet: mgmt, address: 10.0.0.10, mac: "52:54:00:00:00:10" }
      - { subnet: mgmt6, address: "2001:db8:0:1::10", mac: "52:54:00:00:01:10" }
machines:
  - name: router
    hardware: hw-02
    roles: [router, dhcp]
    interfaces:
      - { subnet: mgmt, address: 10.0.0.1, name: vlan20 }
      - { subnet: mgmt6, address: "2001:db8:0:1::1", name: vlan21 }
  - name: git-01
    hypervisor: hv-01
    roles: [git]
    interfaces:
      # Inside the pool, with a MAC: a reservation.
      - { subnet: mgmt6, address: "2001:db8:0:1::1234", mac: "52:54:00:00:01:11" }
"#;

fn dual_stack(inventory: &str) -> MemSource {
    MemSource::new()
        .with(
            "environments/lab.yaml",
            "inventory: dual\nprofile: aio\nrelease: \"2024.1\"\nservices:\n  keystone: {}\n",
        )
        .with("inventory/dual.yaml", inventory)
}

#[test]
fn kea_accepts_a_dual_stack_lab_and_each_family_gets_its_own() {
    let files = dhcp_files(&dual_stack(DUAL_STACK), "lab");
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["site/dhcp/kea-dhcp4.json", "site/dhcp/kea-dhcp6.json"]
    );
    for (path, text) in &files {
        kea_test(path, &on_this_machine(text))
            .unwrap_or_else(|e| panic!("Kea refuses {path}:\n{e}\n{text}"));
    }
    let v6: Value = serde_json::from_str(&files["site/dhcp/kea-dhcp6.json"]).unwrap();
    let dhcp6 = &v6["Dhcp6"];
    assert_eq!(
        dhcp6["interfaces-config"]["interfaces"],
        serde_json::json!(["vlan21"])
    );
    let s = &dhcp6["subnet6"][0];
    assert_eq!(s["interface"], "vlan21");
    assert_eq!(s["pools"].as_array().unwrap().len(), 2);
    // IPv6 clients learn their router from router advertisements, not DHCP.
    assert!(s.get("option-data").is_none(), "{s}");
    let reservations: Vec<(&str, &str)> = s["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["hostname"].as_str().unwrap(),
                r["ip-addresses"][0].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reservations,
        [
            ("aio-01", "2001:db8:0:1::10"),
            ("git-01", "2001:db8:0:1::1234")
        ]
    );
    assert_eq!(
        dhcp6["option-data"],
        serde_json::json!([
            { "name": "domain-search", "data": "dual.example.net" },
            { "name": "dns-servers", "data": "2001:db8:0:1::1" },
        ])
    );
    let v4: Value = serde_json::from_str(&files["site/dhcp/kea-dhcp4.json"]).unwrap();
    let names: Vec<&str> = v4["Dhcp4"]["option-data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["data"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dual.example.net", "dual.example.net", "10.0.0.1"]);
}

#[test]
fn without_a_dhcp_machine_kea_listens_everywhere_and_no_pool_means_no_file() {
    let no_server = DUAL_STACK.replace("roles: [router, dhcp]", "roles: [router]");
    let files = dhcp_files(&dual_stack(&no_server), "lab");
    for (path, text) in &files {
        let v: Value = serde_json::from_str(text).unwrap();
        let server = v.as_object().unwrap().values().next().unwrap();
        assert_eq!(
            server["interfaces-config"]["interfaces"],
            serde_json::json!(["*"]),
            "{path}"
        );
        // Unchanged: nothing to substitute.
        kea_test(path, text).unwrap_or_else(|e| panic!("Kea refuses {path}:\n{e}\n{text}"));
    }
    let no_pools: String = DUAL_STACK
        .lines()
        .filter(|l| !l.contains("dhcp_pools") && !l.contains("dynamic") && !l.contains("more"))
        .collect::<Vec<_>>()
        .join("\n");
    let files = dhcp_files(&dual_stack(&no_pools), "lab");
    assert!(files.is_empty(), "{files:?}");
}

#[test]
fn kea_is_a_real_judge() {
    // A pool outside its subnet, as a hand edit could make it: Kea refuses the file, so
    // the acceptance above means something.
    let files = dhcp_files(&bundled("prod"), "prod");
    let text = files["site/dhcp/kea-dhcp4.json"]
        .replace("10.20.0.100 - 10.20.0.199", "10.30.0.100 - 10.30.0.199");
    assert!(kea_test("kea-dhcp4.json", &on_this_machine(&text)).is_err());
}
