//! Records what `gcc version` reports about this build: the git commit of the source (with
//! `-dirty` when the work tree differed from it when this script last ran: it reruns when
//! HEAD moves, not on every edit), the compiler's version, and the build fingerprint: a
//! sha256 over the package version, the compiler's version and every file the binary is
//! made of (`src/`, `catalog/`, `schema/output/`, `build.rs`, `Cargo.toml`, `Cargo.lock`).
//! The fingerprint tells two builds of the same version apart even outside git or in a
//! dirty work tree, and stays the same when only tests or documentation changed. Outside a
//! git checkout, or without git, the commit is `unknown`.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

fn output(cmd: &mut Command) -> Option<String> {
    let o = cmd.output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let git = |args: &[&str]| output(Command::new("git").arg("-C").arg(&dir).args(args));
    let commit = match git(&["rev-parse", "HEAD"]) {
        Some(c) if !c.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{c}-dirty") } else { c }
        }
        _ => "unknown".to_string(),
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc = output(Command::new(rustc).arg("--version")).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=GCC_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=GCC_RUSTC_VERSION={rustc}");
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let source = source_digest(Path::new(&dir));
    let build = hex::encode(Sha256::digest(format!("{version}\0{rustc}\0{source}")));
    println!("cargo:rustc-env=GCC_SOURCE_DIGEST={source}");
    println!("cargo:rustc-env=GCC_BUILD={build}");
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={git_dir}/HEAD");
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={git_dir}/{r}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    output_schemas(&dir);
    compiled_catalog(&dir);
}

/// The catalog's YAML files, parsed here once instead of in every run: each becomes
/// `$OUT_DIR/catalog/<name>.json`, the same document as JSON, which `catalog.rs` reads with
/// serde_json (several times faster than YAML). Parsed with the options the YAML reader
/// at run time would use; a unit test checks both readings give the same catalog.
fn compiled_catalog(dir: &str) {
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("catalog");
    std::fs::create_dir_all(&out).unwrap();
    for name in ["infrastructure", "releases", "services", "rehearse"] {
        let src = Path::new(dir).join("catalog").join(format!("{name}.yaml"));
        let text =
            std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        let opts = serde_saphyr::options! { strict_booleans: true };
        let doc: serde_json::Value = serde_saphyr::from_str_with_options(&text, opts)
            .unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        std::fs::write(out.join(format!("{name}.json")), doc.to_string()).unwrap();
    }
}

/// The files the binary is made of, relative to the package root.
const SOURCES: &[&str] = &[
    "src",
    "catalog",
    "schema/output",
    "build.rs",
    "Cargo.toml",
    "Cargo.lock",
];

/// sha256 over the sorted `path NUL sha256(file) LF` lines of every file under
/// [`SOURCES`] (the build id's rule, applied to the source); cargo reruns this script
/// when any of them changes.
fn source_digest(root: &Path) -> String {
    let mut lines = Vec::new();
    let mut stack: Vec<PathBuf> = SOURCES.iter().map(|s| root.join(s)).collect();
    while let Some(p) = stack.pop() {
        println!("cargo:rerun-if-changed={}", p.display());
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if let Ok(bytes) = std::fs::read(&p) {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            lines.push(format!("{rel}\0{}\n", hex::encode(Sha256::digest(&bytes))));
        }
    }
    lines.sort();
    hex::encode(Sha256::digest(lines.concat()))
}

/// Lists `schema/output/` (the JSON Schemas of every kind gcc writes) as
/// `$OUT_DIR/output_schemas.rs`: a table of (path under that folder, file text), sorted,
/// which `validate` compiles in.
fn output_schemas(dir: &str) {
    let root = std::path::Path::new(dir).join("schema/output");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                println!("cargo:rerun-if-changed={}", p.display());
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                let rel = p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push((rel, p.canonicalize().unwrap()));
            }
        }
    }
    files.sort();
    let mut out = String::from(
        "/// Embedded output schemas: (path under schema/output, text).\npub(crate) static OUTPUT_SCHEMAS: &[(&str, &str)] = &[\n",
    );
    for (rel, abs) in &files {
        out += &format!(
            "    ({rel:?}, include_str!({:?})),\n",
            abs.display().to_string()
        );
    }
    out += "];\n";
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("output_schemas.rs");
    std::fs::write(dest, out).unwrap();
}
