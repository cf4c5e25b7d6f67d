//! Writes a synthetic fleet: `environments/env-NNNN.yaml` and `inventory/site-NNNN.yaml`.
//!
//! ```sh
//! cargo run --release --example gen-fleet -- --out /tmp/fleet --envs 1000 --nodes 3..50 --subnets 8
//! gcc -C /tmp/fleet build --all
//! ```

mod fleet;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: gen-fleet --out DIR [--envs N] [--nodes N|MIN..MAX] [--subnets N]\n\
         writes N environments (half Flux, half Argo CD), each on its own site; node counts\n\
         spread geometrically from MIN to MAX; subnets: mgmt plus alternating IPv4 and IPv6"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut out: Option<PathBuf> = None;
    let (mut envs, mut nodes, mut subnets) = (1usize, (3usize, 3usize), 4usize);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(v) = it.next() else { return usage() };
        let ok = match a.as_str() {
            "--out" => {
                out = Some(PathBuf::from(v));
                true
            }
            "--envs" => v.parse().map(|n| envs = n).is_ok(),
            "--subnets" => v.parse().map(|n| subnets = n).is_ok(),
            "--nodes" => match v.split_once("..") {
                Some((a, b)) => match (a.parse(), b.parse()) {
                    (Ok(a), Ok(b)) => {
                        nodes = (a, b);
                        true
                    }
                    _ => false,
                },
                None => v.parse().map(|n| nodes = (n, n)).is_ok(),
            },
            _ => false,
        };
        if !ok {
            return usage();
        }
    }
    let Some(out) = out else { return usage() };
    if nodes.0 < 3 || nodes.1 < nodes.0 || subnets == 0 || subnets > 4000 {
        return usage();
    }
    for d in ["environments", "inventory"] {
        if let Err(e) = std::fs::create_dir_all(out.join(d)) {
            eprintln!("error: {}: {e}", out.join(d).display());
            return ExitCode::from(2);
        }
    }
    let mut total = 0;
    for (k, n) in fleet::node_counts(envs, nodes.0, nodes.1)
        .into_iter()
        .enumerate()
    {
        let site = format!("site-{k:04}");
        let shape = fleet::Shape { nodes: n, subnets };
        total += n;
        let mut files = inventory_files(&out, &site, fleet::inventory(&site, shape));
        if files.len() > 1
            && let Err(e) = std::fs::create_dir_all(out.join(format!("inventory/{site}")))
        {
            eprintln!("error: {}: {e}", out.display());
            return ExitCode::from(2);
        }
        files.push((
            out.join(format!("environments/env-{k:04}.yaml")),
            fleet::environment(&site, k % 2 == 1),
        ));
        for (path, text) in files {
            if let Err(e) = std::fs::write(&path, text) {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    println!(
        "{envs} environments, {total} nodes, {subnets} subnets per site in {}",
        out.display()
    );
    ExitCode::SUCCESS
}

/// Nodes per file of a split inventory.
const NODES_PER_FILE: usize = 20_000;

/// The inventory as `inventory/<site>.yaml`, or, past [`NODES_PER_FILE`] nodes (an input
/// file may hold 16 MiB), as the directory `inventory/<site>/`: `site.yaml` with every
/// section but the nodes, and `nodes-NN.yaml` files of up to that many nodes each (a
/// directory's lists are concatenated in path order).
fn inventory_files(out: &Path, site: &str, text: String) -> Vec<(PathBuf, String)> {
    let at = text.find("\nnodes:\n").map(|i| i + 1).unwrap_or(text.len());
    let (head, nodes) = text.split_at(at);
    let entries: Vec<&str> = nodes
        .strip_prefix("nodes:\n")
        .unwrap_or_default()
        .split_inclusive('\n')
        .collect();
    let mut chunks = vec![String::from("nodes:\n")];
    let mut count = 0;
    for line in entries {
        if line.starts_with("  - ") {
            if count == NODES_PER_FILE {
                chunks.push(String::from("nodes:\n"));
                count = 0;
            }
            count += 1;
        }
        chunks
            .last_mut()
            .expect("one chunk at least")
            .push_str(line);
    }
    if chunks.len() == 1 {
        return vec![(out.join(format!("inventory/{site}.yaml")), text)];
    }
    let dir = out.join(format!("inventory/{site}"));
    let mut files = vec![(dir.join("site.yaml"), head.to_string())];
    for (i, chunk) in chunks.into_iter().enumerate() {
        files.push((dir.join(format!("nodes-{i:02}.yaml")), chunk));
    }
    files
}
