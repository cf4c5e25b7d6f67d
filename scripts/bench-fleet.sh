#!/usr/bin/env bash
# A fleet of environments built by one `gcc build --all`, against cp -r of all their trees,
# in one run: issue 23's fleet targets.
#
#   scripts/bench-fleet.sh [ENVS] [OUT_PARENT]
#
# ENVS (default 1000) environments of two kinds:
#   copies:    ENVS copies of the bundled `prod` (environments/prod-NNNN.yaml, one inventory)
#   generated: ENVS generated sites (benches/gen_fleet.rs: 3 to 50 nodes, 8 subnets, half
#              Flux, half Argo CD), each with its own inventory
# For each kind, timed as whole processes: a fresh build of all into an empty directory,
# cp -r of the trees it wrote into a new directory (the floor: creating those files at
# all), and the same build again with nothing changed (every environment up to date);
# peak RSS of a fresh build of ENVS/10 and of ENVS environments (memory must not grow with
# the fleet). OUT_PARENT (default a fresh mktemp -d) is where the trees go: /dev/shm for
# tmpfs, /tmp for the disk. Prints the numbers and the verdicts (fresh <= 1.5 x cp -r, up
# to date <= 1 s, peak RSS flat: ENVS's within 1.5 x of ENVS/10's).
set -euo pipefail
cd "$(dirname "$0")/.."
envs=${1:-1000}
parent=${2:-$(mktemp -d)}
jobs=$(nproc)
cargo build --release --locked --quiet
cargo build --release --locked --quiet --example gen-fleet
gcc=$PWD/target/release/gcc
gen=$PWD/target/release/examples/gen-fleet
work=$(mktemp -d)
trap 'rm -rf "$work" "$parent"/gcc-fleet-*' EXIT

# Seconds (wall) and peak RSS (KB) of one command, as "SECONDS KB".
measure() {
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>&1 || { cat "$work/time" >&2; exit 1; }
  tail -1 "$work/time"
}

# copies: the bundled repository with prod copied ENVS times.
copies() { # DIR COUNT
  mkdir -p "$1/environments"
  cp -r inventory "$1/"
  for i in $(seq -w 1 "$2"); do cp environments/prod.yaml "$1/environments/prod-$i.yaml"; done
}
generated() { # DIR COUNT
  "$gen" --out "$1" --envs "$2" --nodes 3..50 --subnets 8 >/dev/null
}

echo "machine: $(nproc) cores, $(uname -srm), $(df -T "$parent" | awk 'NR == 2 { print $2 }') at $parent"
echo "environments: $envs per kind; gcc build --all -j $jobs"
status=0
for kind in copies generated; do
  small=$((envs / 10))
  "$kind" "$work/$kind" "$envs"
  "$kind" "$work/$kind-small" "$small"
  out="$parent/gcc-fleet-$kind"
  read -r fresh rss < <(measure "$gcc" -C "$work/$kind" build --all -j "$jobs" --out "$out")
  files=$(find "$out" -type f | wc -l)
  read -r copy _ < <(measure cp -r "$out" "$out-copy")
  rm -rf "$out-copy"
  read -r uptodate _ < <(measure "$gcc" -C "$work/$kind" build --all -j "$jobs" --out "$out")
  rm -rf "$out"
  read -r _ rss_small < <(measure "$gcc" -C "$work/$kind-small" build --all -j "$jobs" --out "$out-small")
  rm -rf "$out-small"
  printf '%-10s fresh %6.2f s, cp -r %6.2f s (%d files), up to date %5.2f s, peak RSS %d KB (%d envs: %d KB)\n' \
    "$kind" "$fresh" "$copy" "$files" "$uptodate" "$rss" "$small" "$rss_small"
  awk -v f="$fresh" -v c="$copy" -v u="$uptodate" -v r="$rss" -v rs="$rss_small" -v k="$kind" 'BEGIN {
    v1 = (f / c <= 1.5) ? "met" : "not met"
    v2 = (u <= 1) ? "met" : "not met"
    v3 = (r / rs <= 1.5) ? "met" : "not met"
    printf "issue 23 (%s): fresh / cp -r %.2f (target <= 1.5): %s; up to date %.2f s (target <= 1 s): %s; peak RSS x%.2f for 10x the environments (flat: <= 1.5): %s\n", k, f / c, v1, u, v2, r / rs, v3
    exit (v1 != "met" || v2 != "met" || v3 != "met") }' || status=1
done
exit $status
