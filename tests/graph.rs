//! `gcc graph`: the placement picture. The SVG of prod is the one the build writes into
//! the tree (golden/prod/site/placement.svg); a refused inventory still gets its picture
//! (golden/graph/shared-machine.svg), with the shared machine red, and exit 1.

mod common;

use common::{assert_golden, example_tree, gcc, repo, text};
use serde_json::Value;

/// The bundled lab with k8s-ctl-03 moved onto ovirt-01: two control-plane nodes share hw-01.
fn shared_machine() -> tempfile::TempDir {
    let dir = example_tree();
    let path = dir.path().join("inventory/laundry-lab/laundry-lab.yaml");
    let inv = std::fs::read_to_string(&path).unwrap();
    let moved = inv.replace(
        "  - name: k8s-ctl-03\n    hypervisor: ovirt-03",
        "  - name: k8s-ctl-03\n    hypervisor: ovirt-01",
    );
    assert_ne!(
        inv, moved,
        "the example inventory no longer has k8s-ctl-03 on ovirt-03"
    );
    std::fs::write(&path, moved).unwrap();
    dir
}

fn json_graph(root: &std::path::Path, env: &str) -> (Value, i32) {
    let o = gcc(root, &["graph", env, "--format", "json"]);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("graph json: {e}\n{}\n{}", text(&o.stdout), text(&o.stderr)));
    (v, o.status.code().unwrap_or(-1))
}

/// Machine name → its JSON object.
fn machines(v: &Value) -> Vec<&Value> {
    v["racks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["machines"].as_array().unwrap().iter())
        .collect()
}

/// Guest name → (machine, members), over bare metal and VMs.
fn guests(v: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for m in machines(v) {
        let name = m["name"].as_str().unwrap().to_string();
        let bare = m["bare"].as_array().unwrap().iter();
        let vms = m["hypervisors"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|h| h["guests"].as_array().unwrap().iter());
        for g in bare.chain(vms) {
            let members = g["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect();
            out.push((
                g["name"].as_str().unwrap().to_string(),
                name.clone(),
                members,
            ));
        }
    }
    out
}

#[test]
fn graph_of_prod_is_the_picture_the_build_writes() {
    let o = gcc(&repo(), &["graph", "prod"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let golden = std::fs::read(repo().join("golden/prod/site/placement.svg")).unwrap();
    assert!(
        o.stdout == golden,
        "`gcc graph prod` differs from the tree's site/placement.svg"
    );
    let svg = text(&o.stdout);
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    assert!(
        !svg.contains("stroke=\"#d62728\""),
        "prod's proof holds: no machine may be drawn red"
    );
    // Every quorum's members, each on its own machine, each machine's loss survived.
    let (v, code) = json_graph(&repo(), "prod");
    assert_eq!(code, 0);
    let quorums = v["quorums"].as_array().unwrap();
    let services: Vec<&str> = quorums
        .iter()
        .map(|q| q["service"].as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        [
            "mariadb",
            "rabbitmq",
            "postgres",
            "memcached",
            "ovn-central",
            "etcd"
        ]
    );
    for q in quorums {
        assert_eq!(q["proven"], true, "{q}");
        let hosts: std::collections::BTreeSet<&str> = q["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["machine"].as_str().unwrap())
            .collect();
        assert_eq!(hosts.len(), 3, "{q}");
    }
    for m in machines(&v) {
        for l in m["loss"].as_array().unwrap() {
            assert!(l["left"].as_u64() >= l["majority"].as_u64(), "{m}");
        }
    }
}

#[test]
fn every_node_and_machine_is_drawn_once_with_the_members_the_proof_gives_it() {
    for env in ["prod", "aio", "argocd"] {
        let (v, _) = json_graph(&repo(), env);
        let drawn = guests(&v);
        let mut names: Vec<&str> = drawn.iter().map(|(n, _, _)| n.as_str()).collect();
        names.sort();
        let total = names.len();
        names.dedup();
        assert_eq!(names.len(), total, "{env}: a guest drawn twice");
        // The build's own proof (its JSON summary) puts each member where the picture does.
        let out = tempfile::tempdir().unwrap();
        let o = gcc(
            &repo(),
            &[
                "build",
                env,
                "--out",
                out.path().join("t").to_str().unwrap(),
                "--format",
                "json",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
        for p in summary["quorum"].as_array().unwrap() {
            let service = p["service"].as_str().unwrap();
            for m in p["members"].as_array().unwrap() {
                let node = m["node"].as_str().unwrap();
                let (_, machine, members) = drawn
                    .iter()
                    .find(|(n, _, _)| n == node)
                    .unwrap_or_else(|| panic!("{env}: {node} not drawn"));
                assert_eq!(machine, m["machine"].as_str().unwrap(), "{env}: {node}");
                assert!(
                    members.iter().any(|s| s == service),
                    "{env}: {service} on {node}"
                );
            }
        }
    }
    // Both inventories' nodes and lab machines, every one.
    let (v, _) = json_graph(&repo(), "prod");
    let drawn: Vec<String> = guests(&v).into_iter().map(|(n, _, _)| n).collect();
    for name in [
        "k8s-ctl-01",
        "k8s-wrk-03",
        "compute-02",
        "git-01",
        "backup-01",
        "rtr-01",
    ] {
        assert!(drawn.iter().any(|n| n == name), "{name} missing");
    }
}

#[test]
fn aio_checks_no_loss() {
    let (v, code) = json_graph(&repo(), "aio");
    assert_eq!(code, 0);
    assert_eq!(v["profile"], "aio");
    for m in machines(&v) {
        assert!(m["loss"].as_array().unwrap().is_empty(), "{m}");
    }
    let svg = text(&gcc(&repo(), &["graph", "aio"]).stdout);
    assert!(svg.contains("profile aio: one member of each"), "{svg}");
    assert!(!svg.contains("is lost:"));
}

#[test]
fn a_shared_machine_is_drawn_red_with_the_members_that_share_it() {
    let dir = shared_machine();
    let o = gcc(dir.path(), &["graph", "prod"]);
    assert_eq!(o.status.code(), Some(1), "refused, picture drawn");
    let err = text(&o.stderr);
    assert!(err.contains("gcc::plan::ha_unprovable"), "{err}");
    assert!(
        err.contains("etcd cannot survive the loss of hw-01"),
        "{err}"
    );
    let svg = text(&o.stdout);
    assert_golden("graph/shared-machine.svg", &svg);
    // One machine outlined red, and it is hw-01.
    let red = "stroke=\"#d62728\" stroke-width=\"3\"/>\n<text";
    assert_eq!(svg.matches(red).count(), 1, "{svg}");
    let after = &svg[svg.find(red).unwrap()..];
    assert!(after.contains(">hw-01</text>") && after.find(">hw-01<") < after.find(">hw-02<"));

    let (v, code) = json_graph(dir.path(), "prod");
    assert_eq!(code, 1);
    for q in v["quorums"].as_array().unwrap() {
        let service = q["service"].as_str().unwrap();
        let refused = service == "ovn-central" || service == "etcd";
        assert_eq!(q["proven"], !refused, "{q}");
        if refused {
            assert_eq!(q["shared"], "hw-01");
        }
    }
    let hw01 = machines(&v)
        .into_iter()
        .find(|m| m["name"] == "hw-01")
        .unwrap();
    let broken: Vec<&str> = hw01["loss"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["left"].as_u64() < l["majority"].as_u64())
        .map(|l| l["service"].as_str().unwrap())
        .collect();
    assert_eq!(broken, ["ovn-central", "etcd"]);
    // Both control-plane nodes on hw-01 hold the refused members.
    for (node, machine, members) in guests(&v) {
        if node == "k8s-ctl-01" || node == "k8s-ctl-03" {
            assert_eq!(machine, "hw-01");
            assert!(members.iter().any(|s| s == "etcd"), "{node}: {members:?}");
        }
    }
}

#[test]
fn dot_nests_racks_machines_and_hypervisors() {
    let o = gcc(&repo(), &["graph", "prod", "--format", "dot"]);
    assert_eq!(o.status.code(), Some(0));
    let dot = text(&o.stdout);
    assert!(dot.contains("digraph placement {"));
    assert_eq!(dot.matches('{').count(), dot.matches('}').count());
    assert!(dot.contains("label=\"rack r1\""));
    assert!(dot.contains("label=\"oVirt host ovirt-01\""));
    assert!(dot.contains("\"k8s-ctl-01\" [label=\"k8s-ctl-01\\ncontrol-plane"));
    assert!(!dot.contains("color=red"));
    let dir = shared_machine();
    let dot = text(&gcc(dir.path(), &["graph", "prod", "--format", "dot"]).stdout);
    assert_eq!(dot.matches("color=red, penwidth=3").count(), 1, "{dot}");
}

#[test]
fn graph_of_a_broken_input_prints_diagnostics_only() {
    let dir = example_tree();
    std::fs::write(dir.path().join("environments/bad.yaml"), "profile: [\n").unwrap();
    let o = gcc(dir.path(), &["graph", "bad"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty(), "{}", text(&o.stdout));
    assert!(!o.stderr.is_empty());
}

#[test]
fn a_diff_names_the_changed_picture_without_printing_it() {
    let dir = example_tree();
    let root = dir.path();
    common::git(root, &["init", "-q", "-b", "main"]);
    common::git(root, &["add", "-A"]);
    common::git(root, &["commit", "-q", "-m", "lab"]);
    // hw-03 moves to rack r1: the picture changes (and the nodes' rack labels).
    let path = root.join("inventory/laundry-lab/laundry-lab.yaml");
    let inv = std::fs::read_to_string(&path).unwrap();
    let moved = inv.replace("{ name: hw-03, rack: r2,", "{ name: hw-03, rack: r1,");
    assert_ne!(inv, moved);
    std::fs::write(&path, moved).unwrap();
    for format in ["text", "markdown", "json"] {
        let o = gcc(
            root,
            &[
                "diff", "prod", "--from", "src:HEAD", "--to", "work", "--format", format,
            ],
        );
        let out = text(&o.stdout);
        assert!(out.contains("site/placement.svg"), "{format}: {out}");
        assert!(out.contains("(a picture, "), "{format}: {out}");
        assert!(
            !out.contains("<svg") && !out.contains("<rect"),
            "{format}: {out}"
        );
    }
}
