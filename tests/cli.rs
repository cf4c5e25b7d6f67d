//! End-to-end tests of the `gcc` binary: exit codes, output formats, the bundled examples.

mod common;
use common::{gcc, repo};

use std::process::Output;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A tree with the example environment `env` and `inventory` as its inventory file.
fn tree_for(env: &str, inventory_file: &str, inventory: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("environments")).unwrap();
    std::fs::create_dir_all(dir.path().join("inventory")).unwrap();
    let env_file = format!("environments/{env}.yaml");
    std::fs::copy(repo().join(&env_file), dir.path().join(&env_file)).unwrap();
    std::fs::write(dir.path().join("inventory").join(inventory_file), inventory).unwrap();
    dir
}

/// A tree with the aio example's environment and the given inventory text.
fn tree(inventory: &[u8]) -> tempfile::TempDir {
    tree_for("aio", "aio-lab.yaml", inventory)
}

#[test]
fn bundled_examples_check_clean() {
    for env in ["prod", "aio"] {
        let o = gcc(&repo(), &["check", env]);
        assert_eq!(o.status.code(), Some(0), "{env}: {}", stderr(&o));
        assert!(
            stderr(&o).is_empty(),
            "{env} printed diagnostics: {}",
            stderr(&o)
        );
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.starts_with(&format!("{env}: ok (profile ")), "{out}");
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.ends_with('\n'), "{out:?}");
    }
}

#[test]
fn check_refuses_what_build_would_refuse() {
    // Two workers on one machine: the topology check passes (the controllers are on three
    // machines), but RabbitMQ and PostgreSQL cannot keep a quorum. `check` plans too, so
    // it says so instead of passing an environment `build` refuses.
    let inv = std::fs::read_to_string(repo().join("inventory/laundry-lab/laundry-lab.yaml"))
        .unwrap()
        .replace(
            "  - name: k8s-wrk-02\n    hypervisor: ovirt-02",
            "  - name: k8s-wrk-02\n    hypervisor: ovirt-01",
        );
    let dir = tree_for("prod", "laundry-lab.yaml", inv.as_bytes());
    let o = gcc(dir.path(), &["check", "prod"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("gcc::plan::ha_unprovable"),
        "{}",
        stderr(&o)
    );
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = gcc(dir.path(), &["build", "prod"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn shared_examples_are_the_bundled_ones_plus_a_schema_line() {
    // The examples in ../shared must compile unchanged: ours differ only by the
    // yaml-language-server line. The lab's inventory is a directory: the shared file, and
    // beside it the lab's other machines (merged section by section).
    let shared = repo().join("../shared/examples");
    assert!(
        shared.is_dir(),
        "{} is missing: clone beside ../shared (README, Tests)",
        shared.display()
    );
    for (dir, name, ours, schema) in [
        (
            "inventory",
            "laundry-lab.yaml",
            "inventory/laundry-lab/laundry-lab.yaml",
            "../../schema/",
        ),
        (
            "inventory",
            "aio-lab.yaml",
            "inventory/aio-lab.yaml",
            "../schema/",
        ),
        (
            "environments",
            "prod.yaml",
            "environments/prod.yaml",
            "../schema/",
        ),
        (
            "environments",
            "aio.yaml",
            "environments/aio.yaml",
            "../schema/",
        ),
    ] {
        let ours = std::fs::read_to_string(repo().join(ours)).unwrap();
        let theirs = std::fs::read_to_string(shared.join(dir).join(name)).unwrap();
        let (first, rest) = ours.split_once('\n').unwrap();
        assert!(
            first.starts_with(&format!("# yaml-language-server: $schema={schema}")),
            "{name}"
        );
        assert_eq!(rest, theirs, "{dir}/{name} drifted from ../shared/examples");
    }
}

#[test]
fn unknown_environment_is_a_usage_error() {
    let o = gcc(&repo(), &["check", "prd"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("gcc::load::unknown_environment"), "{e}");
    assert!(e.contains("did you mean `prod`?"), "{e}");
}

#[test]
fn bad_arguments_exit_2_and_help_exits_0() {
    let o = gcc(&repo(), &["check"]);
    assert_eq!(o.status.code(), Some(2));
    let o = gcc(&repo(), &["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        help.contains("check") && help.contains("Exit codes"),
        "{help}"
    );
}

#[test]
fn json_format_reports_each_diagnostic_with_its_place() {
    let inv = std::fs::read_to_string(repo().join("inventory/aio-lab.yaml")).unwrap();
    let bad = inv.replace("address: 192.168.122.10", "address: 192.168.122.300");
    let dir = tree(bad.as_bytes());
    let o = gcc(dir.path(), &["check", "aio", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"], 1);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "gcc::inventory::invalid_address");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "inventory/aio-lab.yaml");
    let line = bad
        .lines()
        .position(|l| l.contains("192.168.122.300"))
        .unwrap()
        + 1;
    assert_eq!(d["line"], line);
    let col = bad
        .lines()
        .nth(line - 1)
        .unwrap()
        .find("192.168.122.300")
        .unwrap()
        + 1;
    assert_eq!(d["column"], col);
    assert!(d["message"].as_str().unwrap().contains("192.168.122.300"));
    assert!(d["help"].is_string());
}

#[test]
fn json_format_on_success() {
    let o = gcc(&repo(), &["check", "aio", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["diagnostics"].as_array().unwrap().len(), 0);
}

#[test]
fn non_utf8_inventory_is_reported_at_the_byte() {
    let mut bytes = b"# lab\nsite: caf".to_vec();
    bytes.push(0xe9);
    bytes.extend_from_slice(b"\n");
    let dir = tree(&bytes);
    let o = gcc(dir.path(), &["check", "aio", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2), "a file gcc will not read exits 2");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "gcc::load::not_utf8");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(2), Some(10))
    );
}

#[test]
fn oversized_inventory_is_refused_without_parsing() {
    let mut big = b"site: aio-lab\n".to_vec();
    big.resize(gcc::load::MAX_FILE_BYTES + 10, b'#');
    let dir = tree(&big);
    let o = gcc(dir.path(), &["check", "aio"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("gcc::load::too_large"),
        "{}",
        stderr(&o)
    );
}

#[cfg(unix)]
#[test]
fn unreadable_inventory_entry_is_an_io_error() {
    let dir = tree(b"site: aio-lab\n");
    std::fs::remove_file(dir.path().join("inventory/aio-lab.yaml")).unwrap();
    std::fs::create_dir(dir.path().join("inventory/aio-lab")).unwrap();
    std::os::unix::fs::symlink(
        "nonexistent.yaml",
        dir.path().join("inventory/aio-lab/x.yaml"),
    )
    .unwrap();
    let o = gcc(dir.path(), &["check", "aio"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("gcc::load::io"), "{}", stderr(&o));
}

#[test]
fn schema_command_prints_the_embedded_schemas() {
    for kind in ["inventory", "environment"] {
        let o = gcc(&repo(), &["schema", kind]);
        assert_eq!(o.status.code(), Some(0));
        let on_disk = std::fs::read(repo().join(format!("schema/{kind}.schema.json"))).unwrap();
        assert_eq!(o.stdout, on_disk);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    }
}

#[test]
fn text_diagnostics_show_file_line_column_and_help() {
    let inv = std::fs::read_to_string(repo().join("inventory/aio-lab.yaml")).unwrap();
    let bad = inv.replace("hypervisor: ovirt-01", "hypervisor: ovirt-1");
    let dir = tree(bad.as_bytes());
    let o = gcc(dir.path(), &["check", "aio"]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("unknown_hypervisor", stderr(&o));
}

#[test]
fn text_diagnostics_for_shared_machine() {
    let inv =
        std::fs::read_to_string(repo().join("inventory/laundry-lab/laundry-lab.yaml")).unwrap();
    // k8s-ctl-03 and k8s-wrk-03 move to ovirt-02: only two machines host controllers.
    let bad = inv.replace("hypervisor: ovirt-03", "hypervisor: ovirt-02");
    let dir = tree_for("prod", "laundry-lab.yaml", bad.as_bytes());
    let o = gcc(dir.path(), &["check", "prod"]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("shared_machine", stderr(&o));
}

#[test]
fn text_diagnostics_for_duplicate_key() {
    let inv = std::fs::read_to_string(repo().join("inventory/aio-lab.yaml")).unwrap();
    let bad = inv.replace(
        "domain: aio.example.net\n",
        "domain: aio.example.net\nsite: again\n",
    );
    let dir = tree(bad.as_bytes());
    let o = gcc(dir.path(), &["check", "aio"]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("duplicate_key", stderr(&o));
}

#[test]
fn colour_follows_no_color_force_color_and_clicolor_force() {
    // A diagnostic on stderr, which is no terminal here: colour only when forced, and
    // never when NO_COLOR is set to something; NO_COLOR set to nothing is not set.
    let site = tree(b"site: lab\nsite: again\n");
    let run = |vars: &[(&str, &str)]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_gcc"));
        c.args(["-C", site.path().to_str().unwrap(), "check", "aio"]);
        for v in ["NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "CLICOLOR"] {
            c.env_remove(v);
        }
        for (k, v) in vars {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        stderr(&o).contains('\u{1b}')
    };
    assert!(!run(&[]));
    assert!(run(&[("FORCE_COLOR", "1")]));
    assert!(run(&[("CLICOLOR_FORCE", "1")]));
    assert!(run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")]));
    assert!(!run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]));
    assert!(!run(&[("FORCE_COLOR", "1"), ("NO_COLOR", "1")]));
    assert!(!run(&[("FORCE_COLOR", "")]));
}

#[test]
fn a_rebuild_of_the_same_tree_says_unchanged() {
    let site = common::example_tree();
    let first = gcc(site.path(), &["build", "aio"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(text(&first).contains("  wrote "), "{}", text(&first));
    let again = gcc(site.path(), &["build", "aio"]);
    assert!(
        text(&again).contains("already holds this tree"),
        "{}",
        text(&again)
    );
    assert!(!text(&again).contains("  wrote "));
    let json = gcc(site.path(), &["build", "aio", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["unchanged"], true);
    // An edit to the inputs writes again.
    let env = site.path().join("environments/aio.yaml");
    let edited = std::fs::read_to_string(&env)
        .unwrap()
        .replace("keystone: {}", "keystone: { replicas: 1 }");
    std::fs::write(&env, edited).unwrap();
    let json = gcc(site.path(), &["build", "aio", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["unchanged"], false, "{v}");
}

#[test]
fn init_scaffolds_a_repository_that_builds_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("cloud");
    // Relative to -C.
    let o = gcc(dir.path(), &["init", "cloud"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let tree = common::read_tree(&repo_dir);
    for f in [
        "environments/aio.yaml",
        "inventory/aio-lab.yaml",
        "schema/environment.schema.json",
        "schema/inventory.schema.json",
        ".gitattributes",
        ".gitignore",
        ".github/workflows/gcc.yaml",
    ] {
        assert!(tree.contains_key(f), "{f} missing: {:?}", tree.keys());
    }
    // The editor link of each input resolves to a schema it wrote.
    let env = String::from_utf8(tree["environments/aio.yaml"].clone()).unwrap();
    assert!(env.starts_with("# yaml-language-server: $schema=../schema/environment.schema.json"));
    // The workflow is the one under examples/ci/ (tests/workflow.rs runs its steps).
    assert_eq!(
        tree[".github/workflows/gcc.yaml"],
        std::fs::read(common::repo().join("examples/ci/gcc.yaml")).unwrap()
    );
    let o = gcc(&repo_dir, &["build", "--all"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let tree_dir = repo_dir.join("out/aio");
    let o = gcc(&repo_dir, &["validate", tree_dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // It builds as it is.
    let o = gcc(&repo_dir, &["build", "aio"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Again: refused, nothing changed.
    let before = common::read_tree(&repo_dir);
    let o = gcc(dir.path(), &["init", repo_dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nothing written"), "{}", stderr(&o));
    assert_eq!(common::read_tree(&repo_dir), before);

    // One file of its own in the way: it stays as it was, and nothing else appears.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join(".gitignore"), "mine\n").unwrap();
    let o = gcc(dir.path(), &["init", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(".gitignore"), "{}", stderr(&o));
    let left = common::read_tree(&other);
    assert_eq!(left.len(), 1, "{:?}", left.keys());
    assert_eq!(left[".gitignore"], b"mine\n");
}
