//! The lab's own configuration, outside any kustomization: `site/dhcp/` holds Kea's
//! `kea-dhcp4.json` and `kea-dhcp6.json`, translated from the plan's [`DhcpPlan`];
//! `site/ovirt/` the variables of the `ovirt.ovirt.vm_infra` role (VMs and affinity
//! groups, from the plan's [`OvirtPlan`]) and the playbook that applies them;
//! `site/placement.svg` the picture of where the quorum members run ([`crate::graph`]).

use serde_json::{Map, Value, json};

use super::Emitted;
use crate::plan::{DhcpFamily, DhcpPlan, OvirtPlan, Plan};

/// Where the lab's files go in the tree.
pub(crate) const SITE_DIR: &str = "site";

/// True for a path of the tree under [`SITE_DIR`]: the lab's files, which are neither
/// Kubernetes objects nor applied by any kustomization.
pub(crate) fn in_site(path: &str) -> bool {
    path.strip_prefix(SITE_DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

pub(super) fn emit(plan: &Plan, out: &mut Emitted) {
    out.files.push((
        crate::graph::TREE_PATH.to_string(),
        crate::graph::draw(&plan.placement, crate::graph::Format::Svg),
    ));
    if let Some(dhcp) = &plan.dhcp {
        dhcp_files(dhcp, out);
    }
    if let Some(ovirt) = &plan.ovirt {
        out.files.push((
            format!("{SITE_DIR}/ovirt/vm-infra.yaml"),
            crate::render::to_yaml(&vm_infra(ovirt))
                .unwrap_or_else(|_| unreachable!("plain data renders")),
        ));
        out.files.push((
            format!("{SITE_DIR}/ovirt/playbook.yaml"),
            PLAYBOOK.to_string(),
        ));
    }
}

/// Applies `vm-infra.yaml` with the collection's role; the engine's address and
/// credentials are the operator's (`engine_fqdn`, `engine_user`, `engine_password`,
/// `engine_cafile`, as the role reads them).
const PLAYBOOK: &str = "\
# Written by gcc. Creates the lab's VMs and the affinity groups that keep each on the
# hypervisor the inventory (and the HA proof) puts it on:
#   ansible-galaxy collection install ovirt.ovirt
#   ansible-playbook site/ovirt/playbook.yaml -e @engine.yaml
# where engine.yaml (ansible-vault it) sets engine_fqdn, engine_user, engine_password and
# engine_cafile.
- name: The lab's VMs and their placement
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files:
    - vm-infra.yaml
  roles:
    - ovirt.ovirt.vm_infra
";

/// The `vms` and `affinity_groups` variables of `ovirt.ovirt.vm_infra`.
fn vm_infra(o: &OvirtPlan) -> Value {
    let vms: Vec<Value> = o
        .vms
        .iter()
        .map(|vm| {
            let mut m = Map::new();
            m.insert("name".into(), json!(vm.name));
            m.insert("cluster".into(), json!(vm.cluster));
            if let Some(cores) = vm.cores {
                m.insert("cores".into(), json!(cores));
            }
            if let Some(memory) = &vm.memory {
                m.insert("memory".into(), json!(memory));
            }
            let nics: Vec<Value> = vm
                .nics
                .iter()
                .map(|n| {
                    let mut nic = Map::new();
                    nic.insert("name".into(), json!(n.name));
                    nic.insert("network".into(), json!(n.network));
                    if let Some(mac) = &n.mac {
                        nic.insert("mac_address".into(), json!(mac));
                    }
                    Value::Object(nic)
                })
                .collect();
            m.insert("nics".into(), Value::Array(nics));
            Value::Object(m)
        })
        .collect();
    let groups: Vec<Value> = o
        .groups
        .iter()
        .map(|g| {
            let mut m = Map::new();
            m.insert("name".into(), json!(g.name));
            m.insert("cluster".into(), json!(g.cluster));
            m.insert("description".into(), json!(g.description));
            m.insert("vms".into(), json!(g.vms));
            if let Some(host) = &g.host {
                m.insert("hosts".into(), json!([host]));
                m.insert("host_rule".into(), json!("positive"));
                m.insert("host_enforcing".into(), json!(true));
            }
            m.insert(
                "vm_rule".into(),
                json!(if g.apart.is_some() {
                    "negative"
                } else {
                    "disabled"
                }),
            );
            if g.apart.is_some() {
                m.insert("vm_enforcing".into(), json!(true));
            }
            Value::Object(m)
        })
        .collect();
    json!({ "vms": vms, "affinity_groups": groups })
}

fn dhcp_files(dhcp: &DhcpPlan, out: &mut Emitted) {
    out.files.extend(kea_files(dhcp));
}

/// Kea's configuration files of `dhcp`, by tree path.
pub fn kea_files(dhcp: &DhcpPlan) -> Vec<(String, String)> {
    dhcp.families
        .iter()
        .map(|family| {
            let mut text = serde_json::to_string_pretty(&kea(family))
                .unwrap_or_else(|_| unreachable!("a JSON value serializes"));
            text.push('\n');
            (format!("{SITE_DIR}/dhcp/{}", family.file()), text)
        })
        .collect()
}

/// An `option-data` entry.
fn option(name: &str, data: String) -> Value {
    json!({ "name": name, "data": data })
}

/// Kea's configuration of one family (`{"Dhcp4": {...}}` or `{"Dhcp6": {...}}`).
fn kea(f: &DhcpFamily) -> Value {
    let (server, subnets, dns_option) = if f.v6 {
        ("Dhcp6", "subnet6", "dns-servers")
    } else {
        ("Dhcp4", "subnet4", "domain-name-servers")
    };
    let mut options = Vec::new();
    if let Some(domain) = &f.domain {
        // DHCPv6 has no domain-name option: the search list carries it.
        if !f.v6 {
            options.push(option("domain-name", domain.clone()));
        }
        options.push(option("domain-search", domain.clone()));
    }
    if !f.dns.is_empty() {
        let list: Vec<String> = f.dns.iter().map(ToString::to_string).collect();
        options.push(option(dns_option, list.join(", ")));
    }
    let subnets_json: Vec<Value> = f
        .subnets
        .iter()
        .map(|s| {
            let mut m = Map::new();
            m.insert("id".into(), json!(s.id));
            m.insert("subnet".into(), json!(s.cidr.to_string()));
            if let Some(interface) = &s.interface {
                m.insert("interface".into(), json!(interface));
            }
            let pools: Vec<Value> = s
                .pools
                .iter()
                .map(|(a, b)| json!({ "pool": format!("{a} - {b}") }))
                .collect();
            m.insert("pools".into(), Value::Array(pools));
            if let Some(router) = s.router {
                m.insert(
                    "option-data".into(),
                    json!([option("routers", router.to_string())]),
                );
            }
            if !s.reservations.is_empty() {
                let reservations: Vec<Value> = s
                    .reservations
                    .iter()
                    .map(|r| {
                        let address = if f.v6 {
                            ("ip-addresses", json!([r.address.to_string()]))
                        } else {
                            ("ip-address", json!(r.address.to_string()))
                        };
                        let mut e = Map::new();
                        e.insert("hw-address".into(), json!(r.mac.to_string()));
                        e.insert(address.0.into(), address.1);
                        e.insert("hostname".into(), json!(r.host));
                        Value::Object(e)
                    })
                    .collect();
                m.insert("reservations".into(), Value::Array(reservations));
            }
            let mut context = Map::new();
            context.insert("subnet".into(), json!(s.name));
            if let Some(vlan) = s.vlan {
                context.insert("vlan".into(), json!(vlan));
            }
            m.insert("user-context".into(), Value::Object(context));
            Value::Object(m)
        })
        .collect();
    let mut body = Map::new();
    body.insert(
        "interfaces-config".into(),
        json!({ "interfaces": f.interfaces }),
    );
    if !options.is_empty() {
        body.insert("option-data".into(), Value::Array(options));
    }
    body.insert(subnets.into(), Value::Array(subnets_json));
    json!({ server: body })
}
