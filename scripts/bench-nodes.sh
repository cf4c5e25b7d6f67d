#!/usr/bin/env bash
# One very large site built once: issue 23's scale target (100,000 nodes: <= 10 s, <= 1 GB).
#
#   scripts/bench-nodes.sh [NODES] [OUT_PARENT]
#
# Generates one environment on a site of NODES (default 100,000) nodes, one machine per
# four, 8 subnets (benches/gen_fleet.rs; past 20,000 nodes the inventory is a directory of
# files, as an input file may hold 16 MiB), then times `gcc check` and `gcc build` of it
# into an empty directory under OUT_PARENT (default a fresh mktemp -d; /dev/shm for tmpfs),
# as whole processes with their peak RSS, and prints the verdicts.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${1:-100000}
parent=${2:-$(mktemp -d)}
cargo build --release --locked --quiet
cargo build --release --locked --quiet --example gen-fleet
gcc=$PWD/target/release/gcc
site=$(mktemp -d)
out="$parent/gcc-bench-nodes"
trap 'rm -rf "$site" "$out"' EXIT
target/release/examples/gen-fleet --out "$site" --envs 1 --nodes "$nodes" --subnets 8 >/dev/null

measure() { # LABEL CMD...
  local label=$1
  shift
  /usr/bin/time -f '%e %M' -o "$site/time" "$@" >/dev/null 2>&1 || { echo "$label failed" >&2; exit 1; }
  read -r secs kb <"$site/time"
  printf '%-28s %7.2f s  %8d KB peak RSS\n' "$label" "$secs" "$kb"
  echo "$secs $kb" >"$site/last"
}
echo "machine: $(nproc) cores, $(uname -srm); $nodes nodes, $(du -sh "$site/inventory" | cut -f1) of inventory"
measure "gcc check" "$gcc" -C "$site" check env-0000
rm -rf "$out"
measure "gcc build (fresh tree)" "$gcc" -C "$site" build env-0000 --out "$out"
read -r secs kb <"$site/last"
echo "files written: $(find "$out" -type f | wc -l)"
awk -v s="$secs" -v kb="$kb" 'BEGIN {
  v1 = (s <= 10) ? "met" : "not met"; v2 = (kb <= 1048576) ? "met" : "not met"
  printf "issue 23: build %.2f s (target <= 10 s): %s; peak %.0f MB (target <= 1024 MB): %s\n", s, v1, kb / 1024, v2
  exit (v1 != "met" || v2 != "met") }'
