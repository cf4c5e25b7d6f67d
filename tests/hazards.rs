//! Hostile and broken inputs and outputs: each one is refused with a clear error, exit
//! code 2, and nothing half-written: the previous output tree is byte-for-byte intact and
//! no staging directory is left beside it.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{example_tree, gcc, read_tree, text};

/// A scratch tree with a good `aio` build already in out/aio.
struct Site {
    dir: tempfile::TempDir,
    before: std::collections::BTreeMap<String, Vec<u8>>,
}

impl Site {
    fn new() -> Self {
        let dir = example_tree();
        let o = gcc(dir.path(), &["build", "aio"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let before = read_tree(&dir.path().join("out/aio"));
        Site { dir, before }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn append(&self, rel: &str, bytes: &[u8]) {
        let mut all = fs::read(self.path(rel)).unwrap();
        all.extend_from_slice(bytes);
        fs::write(self.path(rel), all).unwrap();
    }

    /// Builds aio and asserts: exit 2, `code` and `message` on stderr, out/aio untouched,
    /// nothing staged beside it.
    fn refused(&self, args: &[&str], code: &str, message: &str) {
        let mut all = vec!["build", "aio"];
        all.extend_from_slice(args);
        let o = gcc(self.root(), &all);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(code), "no {code} in:\n{err}");
        assert!(
            squash(&err).contains(&squash(message)),
            "no `{message}` in:\n{err}"
        );
        assert!(o.stdout.is_empty(), "no summary for a refused build");
        self.assert_intact();
    }

    /// out/aio is as it was, and nothing else is in out/.
    fn assert_intact(&self) {
        assert_eq!(
            read_tree(&self.path("out/aio")),
            self.before,
            "out/aio changed"
        );
        let leftovers: Vec<_> = fs::read_dir(self.path("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "aio")
            .collect();
        assert!(
            leftovers.is_empty(),
            "left beside the output: {leftovers:?}"
        );
    }
}

/// Text without whitespace or miette's gutter, so a message matches however it wrapped.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect()
}

#[test]
fn an_alias_bomb_is_refused_before_it_expands() {
    let site = Site::new();
    let mut bomb = String::from("bomb0: &b0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let refs = vec![format!("*b{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("bomb{i}: &b{i} [{refs}]\n"));
    }
    site.append("inventory/aio-lab.yaml", bomb.as_bytes());
    site.refused(
        &[],
        "gcc::yaml::alias_budget",
        "alias replay limit exceeded",
    );
}

#[test]
fn a_100_mb_file_is_refused_without_reading_it_whole() {
    let site = Site::new();
    let file = fs::File::options()
        .append(true)
        .open(site.path("inventory/aio-lab.yaml"))
        .unwrap();
    let comment = format!("# {}\n", "x".repeat(1023));
    let mut w = std::io::BufWriter::new(file);
    for _ in 0..100 * 1024 {
        std::io::Write::write_all(&mut w, comment.as_bytes()).unwrap();
    }
    drop(w);
    assert!(
        fs::metadata(site.path("inventory/aio-lab.yaml"))
            .unwrap()
            .len()
            > 100 << 20
    );
    site.refused(
        &[],
        "gcc::load::too_large",
        "inventory/aio-lab.yaml is larger than the 16 MiB an input file may have",
    );
}

#[test]
fn deeply_nested_yaml_is_refused() {
    let site = Site::new();
    let deep = format!("extra: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    site.append("environments/aio.yaml", deep.as_bytes());
    site.refused(&[], "gcc::yaml::too_deep", "environments/aio.yaml:");
    // Block style nests by indentation instead of brackets: the same limit holds.
    let site = Site::new();
    let block: String = (0..200)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
        .collect();
    site.append("environments/aio.yaml", block.as_bytes());
    site.refused(&[], "gcc::yaml::too_deep", "environments/aio.yaml:");
}

#[test]
fn nul_bytes_and_invalid_utf8_are_refused_at_the_byte() {
    let site = Site::new();
    site.append("inventory/aio-lab.yaml", b"# a stray \0 byte\n");
    site.refused(
        &[],
        "gcc::load::nul_byte",
        "inventory/aio-lab.yaml holds a NUL byte",
    );

    let site = Site::new();
    site.append("environments/aio.yaml", b"# latin-1: caf\xe9\n");
    site.refused(
        &[],
        "gcc::load::not_utf8",
        "environments/aio.yaml is not valid UTF-8",
    );

    // UTF-16 (what some Windows editors save) is refused the same way, not misparsed.
    let site = Site::new();
    let utf16: Vec<u8> = "inventory: aio-lab\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    fs::write(
        site.path("environments/aio.yaml"),
        [&[0xff, 0xfe][..], &utf16].concat(),
    )
    .unwrap();
    site.refused(
        &[],
        "gcc::load::not_utf8",
        "environments/aio.yaml is not valid UTF-8",
    );
}

#[test]
fn crlf_files_are_refused_with_the_fix() {
    let site = Site::new();
    let env = fs::read_to_string(site.path("environments/aio.yaml")).unwrap();
    fs::write(
        site.path("environments/aio.yaml"),
        env.replace('\n', "\r\n"),
    )
    .unwrap();
    site.refused(
        &[],
        "gcc::load::crlf",
        "environments/aio.yaml has Windows (CRLF) line endings",
    );
    let o = gcc(site.root(), &["check", "aio"]);
    assert!(text(&o.stderr).contains("*.yaml text eol=lf"));
}

#[test]
fn a_name_crafted_to_escape_the_output_directory_is_refused() {
    // Node files are written to <out>/nodes/node-<name>.yaml, so this name climbs out of
    // out/aio (or its staging directory) into the site root: nothing may appear there.
    let site = Site::new();
    let name = "x/../../../../gcc-pwned";
    let inv = fs::read_to_string(site.path("inventory/aio-lab.yaml")).unwrap();
    fs::write(
        site.path("inventory/aio-lab.yaml"),
        inv.replacen("- name: aio-01", &format!("- name: {name}"), 1),
    )
    .unwrap();
    let inputs = read_tree(site.root());
    site.refused(
        &[],
        "gcc::inventory::path_escape",
        &format!("node name `{name}` is a path"),
    );
    assert_eq!(read_tree(site.root()), inputs, "a file appeared or changed");
    assert!(!site.path("gcc-pwned.yaml").exists());
    assert!(
        !site
            .root()
            .parent()
            .unwrap()
            .join("gcc-pwned.yaml")
            .exists()
    );

    let site = Site::new();
    let env = fs::read_to_string(site.path("environments/aio.yaml")).unwrap();
    fs::write(
        site.path("environments/aio.yaml"),
        env.replacen("  backups:", "  ../../backups:", 1),
    )
    .unwrap();
    site.refused(
        &[],
        "gcc::inventory::path_escape",
        "storage class name `../../backups` is a path",
    );
}

#[test]
fn an_output_directory_that_is_a_symlink_is_refused() {
    let site = Site::new();
    let elsewhere = tempfile::tempdir().unwrap();
    fs::write(elsewhere.path().join("precious"), "keep me").unwrap();
    let link = site.path("out/aio-link");
    std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();
    let o = gcc(
        site.root(),
        &["build", "aio", "--out", link.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        squash(&text(&o.stderr)).contains("isasymboliclink"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        read_tree(elsewhere.path()).len(),
        1,
        "the link's target is untouched"
    );
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    fs::remove_file(link).unwrap();
    site.assert_intact(); // and the real tree beside it is as it was
}

#[test]
fn a_read_only_output_directory_is_refused() {
    let site = Site::new();
    // A changed input, so that the new tree differs (an identical one is never rewritten).
    site.append("environments/aio.yaml", b"# edited\n");
    let out = site.path("out/aio");
    fs::set_permissions(&out, fs::Permissions::from_mode(0o555)).unwrap();
    site.refused(&[], "gcc::build::write_failed", "out/aio is read-only");
    // Its parent read-only: nothing can be staged beside it.
    fs::set_permissions(&out, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(site.path("out"), fs::Permissions::from_mode(0o555)).unwrap();
    site.refused(&[], "gcc::build::write_failed", "out is read-only");
    fs::set_permissions(site.path("out"), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_file_standing_where_a_directory_must_go_fails_cleanly() {
    let site = Site::new();
    // The output's parent is a file; then the output itself is a file (refused, not
    // replaced). Either way: exit 2, the error, the file as it was.
    for (file, out, message) in [
        ("out/blocker", "out/blocker/aio", "gcc::build::write_failed"),
        ("out/plain", "out/plain", "existsandisnotadirectory"),
    ] {
        fs::write(site.path(file), "a file").unwrap();
        let o = gcc(
            site.root(),
            &["build", "aio", "--out", site.path(out).to_str().unwrap()],
        );
        assert_eq!(o.status.code(), Some(2), "{out}");
        assert!(
            squash(&text(&o.stderr)).contains(message),
            "{}",
            text(&o.stderr)
        );
        assert_eq!(fs::read_to_string(site.path(file)).unwrap(), "a file");
        fs::remove_file(site.path(file)).unwrap();
    }
    site.assert_intact();
}

#[test]
fn a_huge_wrong_typed_value_is_quoted_clipped_in_text_and_json() {
    let site = Site::new();
    let inv = fs::read_to_string(site.path("inventory/aio-lab.yaml")).unwrap();
    let huge = "x".repeat(15 << 20);
    let edited = inv.replacen("cpu: 16", &format!("cpu: {huge}"), 1);
    assert_ne!(edited, inv);
    fs::write(site.path("inventory/aio-lab.yaml"), edited).unwrap();
    let o = gcc(site.root(), &["check", "aio"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", &err[..err.len().min(2000)]);
    assert!(err.len() < 20_000, "{} bytes of stderr", err.len());
    assert!(err.contains(&format!("… ({} bytes)", huge.len())), "{err}");
    assert!(err.contains("gcc::schema::"), "{err}");
    let o = gcc(site.root(), &["check", "aio", "--format", "json"]);
    assert!(o.stdout.len() < 20_000, "{} bytes of JSON", o.stdout.len());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = v["diagnostics"][0]["message"].as_str().unwrap();
    assert!(m.contains("… (15728640 bytes)"), "{m}");
    assert_eq!(
        v["diagnostics"][0]["line"], 7,
        "the position is the original one"
    );
    assert!(err.contains("aio-lab.yaml:7:"), "{err}");
}
