//! `site/ovirt/`: the lab's VMs and the affinity groups that keep them where the
//! inventory, and so the HA proof, puts them. Read back as the `ovirt.ovirt.vm_infra`
//! role reads its variables, and checked against the inventory and the proof.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::bundled;
use gcc::compile::compile;
use gcc::source::MemSource;
use serde_json::Value;

fn build(env: &str, src: MemSource) -> (BTreeMap<String, Vec<u8>>, gcc::plan::Plan) {
    let c = compile(&src, env).unwrap();
    let b = c
        .build
        .unwrap_or_else(|| panic!("{env}: {:?}", c.diagnostics));
    (b.rendered.files, b.plan)
}

fn vm_infra(files: &BTreeMap<String, Vec<u8>>) -> Value {
    serde_saphyr::from_slice(&files["site/ovirt/vm-infra.yaml"]).unwrap()
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

#[test]
fn every_vm_is_pinned_to_its_hypervisor_and_each_quorum_kept_apart() {
    let (files, plan) = build("prod", bundled("prod"));
    let vars = vm_infra(&files);
    // The VMs: the six Kubernetes VMs and the git server; not the bare-metal computes,
    // the router or the backup host.
    let vms: BTreeMap<&str, &Value> = vars["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v))
        .collect();
    assert_eq!(
        vms.keys().copied().collect::<Vec<_>>(),
        [
            "git-01",
            "k8s-ctl-01",
            "k8s-ctl-02",
            "k8s-ctl-03",
            "k8s-wrk-01",
            "k8s-wrk-02",
            "k8s-wrk-03"
        ]
    );
    let ctl = vms["k8s-ctl-01"];
    assert_eq!(ctl["cluster"], "default");
    assert_eq!(ctl["cores"], 8);
    assert_eq!(ctl["memory"], "32GiB");
    let nics: Vec<(&str, Option<&str>)> = ctl["nics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["network"].as_str().unwrap(), n["mac_address"].as_str()))
        .collect();
    assert_eq!(
        nics,
        [
            ("mgmt", Some("52:54:00:20:00:31")),
            ("storage", None),
            ("tenant", None),
            ("public", None)
        ]
    );
    // The public NIC keeps the inventory's interface name.
    assert_eq!(ctl["nics"][3]["name"], "ens6");

    let inventory = [
        ("git-01", "ovirt-03"),
        ("k8s-ctl-01", "ovirt-01"),
        ("k8s-ctl-02", "ovirt-02"),
        ("k8s-ctl-03", "ovirt-03"),
        ("k8s-wrk-01", "ovirt-01"),
        ("k8s-wrk-02", "ovirt-02"),
        ("k8s-wrk-03", "ovirt-03"),
    ];
    let groups = vars["affinity_groups"].as_array().unwrap();
    for (vm, host) in inventory {
        let pins: Vec<&Value> = groups
            .iter()
            .filter(|g| g["host_rule"] == "positive" && strs(&g["vms"]) == [vm])
            .collect();
        assert_eq!(pins.len(), 1, "{vm}");
        assert_eq!(strs(&pins[0]["hosts"]), [host], "{vm}");
        assert_eq!(pins[0]["host_enforcing"], true, "{vm}");
    }
    // One negative, enforcing group per quorum, over the VMs the proof places members on.
    for proof in &plan.quorum {
        let apart: Vec<&Value> = groups
            .iter()
            .filter(|g| g["name"] == format!("{}-apart", proof.service).as_str())
            .collect();
        assert_eq!(apart.len(), 1, "{}", proof.service);
        assert_eq!(apart[0]["vm_rule"], "negative");
        assert_eq!(apart[0]["vm_enforcing"], true);
        let members: BTreeSet<&str> = proof.members.iter().map(|m| m.node.as_str()).collect();
        let grouped: BTreeSet<&str> = strs(&apart[0]["vms"]).into_iter().collect();
        assert_eq!(grouped, members, "{}", proof.service);
        // Satisfiable: the proof's members are on distinct hypervisors.
        let hosts: BTreeSet<&str> = grouped
            .iter()
            .map(|vm| inventory.iter().find(|(v, _)| v == vm).unwrap().1)
            .collect();
        assert_eq!(hosts.len(), grouped.len(), "{}", proof.service);
    }
    // The playbook applies these variables with the collection's role.
    let playbook = String::from_utf8(files["site/ovirt/playbook.yaml"].clone()).unwrap();
    let play: Value = serde_saphyr::from_str(&playbook).unwrap();
    assert_eq!(play[0]["vars_files"][0], "vm-infra.yaml");
    assert_eq!(play[0]["roles"][0], "ovirt.ovirt.vm_infra");
}

#[test]
fn the_summary_names_the_groups_that_hold_each_placement() {
    let dir = common::example_tree();
    let o = common::gcc(dir.path(), &["build", "prod"]);
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    let out = common::text(&o.stdout);
    assert!(
        out.contains("held by oVirt affinity groups k8s-ctl-01-on-ovirt-01, k8s-ctl-02-on-ovirt-02, k8s-ctl-03-on-ovirt-03, mariadb-apart"),
        "{out}"
    );
    assert!(out.contains("lab files"), "{out}");
    let o = common::gcc(dir.path(), &["build", "prod", "--format", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        strs(&v["placement"]["rabbitmq"]),
        [
            "k8s-wrk-01-on-ovirt-01",
            "k8s-wrk-02-on-ovirt-02",
            "k8s-wrk-03-on-ovirt-03",
            "rabbitmq-apart"
        ]
    );
}

#[test]
fn aio_pins_its_vm_and_needs_no_quorum_groups_and_bare_metal_has_no_ovirt_files() {
    let (files, _) = build("aio", bundled("aio"));
    let vars = vm_infra(&files);
    let groups = vars["affinity_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["name"], "aio-01-on-ovirt-01");

    // The same lab on bare metal: nothing for oVirt to hold.
    let inv = std::fs::read_to_string(common::repo().join("inventory/aio-lab.yaml"))
        .unwrap()
        .replace("    hypervisor: ovirt-01\n", "    hardware: hw-01\n");
    let src = MemSource::new()
        .with(
            "environments/aio.yaml",
            std::fs::read(common::repo().join("environments/aio.yaml")).unwrap(),
        )
        .with("inventory/aio-lab.yaml", inv);
    let (files, plan) = build("aio", src);
    assert!(plan.ovirt.is_none());
    assert!(
        !files.keys().any(|p| p.starts_with("site/ovirt/")),
        "{:?}",
        files.keys()
    );
}
