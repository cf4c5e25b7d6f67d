#!/usr/bin/env bash
# `gcc diff` of two source revisions against one build, in one run: issue 23's diff target.
#
#   scripts/bench-diff.sh [RUNS]
#
# A scratch git repository holds the bundled example at two commits: the second raises
# nova's autoscale ceiling and its CPU allocation ratio (a review's typical change). Timed as whole
# processes, RUNS (default 20) runs each, median:
#   diff:  gcc diff prod --from src:HEAD~1 --to src:HEAD (both sides compiled from git
#          objects, no checkout, objects compared, text report)
#   build: gcc build prod into a new directory on tmpfs (one compile and its writes)
# Prints both, the ratio and the verdict (diff <= 2.2 x build).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
cargo build --release --locked --quiet
gcc=$PWD/target/release/gcc
repo=$(mktemp -d)
out=$(mktemp -d /dev/shm/gcc-bench-XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$repo" "$out"' EXIT
cp -r environments inventory "$repo/"
git -C "$repo" init -q
git -C "$repo" -c user.name=bench -c user.email=bench@example.net add -A
git -C "$repo" -c user.name=bench -c user.email=bench@example.net commit -qm before
sed -i 's/autoscale: { min: 3, max: 9 }/autoscale: { min: 3, max: 12 }/' "$repo/environments/prod.yaml"
grep -q 'max: 12' "$repo/environments/prod.yaml"
sed -i 's/cpu_allocation_ratio: 4.0/cpu_allocation_ratio: 8.0/' "$repo/environments/prod.yaml"
grep -q 'cpu_allocation_ratio: 8.0' "$repo/environments/prod.yaml"
git -C "$repo" -c user.name=bench -c user.email=bench@example.net commit -qam after
"$gcc" -C "$repo" diff prod --from src:HEAD~1 --to src:HEAD >/dev/null || { echo "diff failed" >&2; exit 1; }

median_ms() { # SETUP CMD
  local setup=$1 cmd=$2 times=()
  for _ in $(seq "$runs"); do
    eval "$setup"
    local t0 t1
    t0=$(date +%s%N)
    eval "$cmd" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f\n", m / 1000 }'
}
n=0
build=$(median_ms 'n=$((n + 1))' '"$gcc" -C "$repo" build prod --out "$out/b-$n"')
diff=$(median_ms : '"$gcc" -C "$repo" diff prod --from src:HEAD~1 --to src:HEAD')
echo "machine: $(nproc) cores, $(uname -srm); runs: $runs each"
printf '%-52s %9s ms\n' "gcc diff prod --from src:HEAD~1 --to src:HEAD" "$diff" \
  "gcc build prod (fresh tree on tmpfs)" "$build"
awk -v d="$diff" -v b="$build" 'BEGIN {
  v = (d / b <= 2.2) ? "met" : "not met"
  printf "issue 23: diff / build %.2f (target <= 2.2): %s\n", d / b, v
  exit (v != "met") }'
