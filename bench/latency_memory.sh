#!/usr/bin/env bash
# Memory with exit-cost percentiles on: `exitprof report --latency` against
# `perf kvm stat report --event=vmexit` on one large recording, peak RSS and time side by side.
# Usage: bench/latency_memory.sh [--quick] [--exits N] [--build DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
exits=10000000
build=build
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) exits=200000; shift ;;
    --exits) exits=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "latency_memory: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -x /usr/bin/time ]] || { echo "latency_memory: needs /usr/bin/time (Debian package time)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/exitprof-gen" --formats tests/data/formats -o "$tmp/k.data" --exits "$exits"
size=$(stat -c %s "$tmp/k.data")
cat "$tmp/k.data" >/dev/null
measure() {  # prints "seconds peak_kb"
  /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" >/dev/null 2>&1 || true
  cat "$tmp/t"
}
read -r ep_s ep_kb < <(measure "$build/exitprof" report -i "$tmp/k.data" --latency)
read -r pk_s pk_kb < <(measure perf kvm -i "$tmp/k.data" stat report --event=vmexit)
echo "latency memory: $exits kvm_exit + $exits kvm_entry samples, $((size / 1048576)) MiB, percentiles on"
printf "%-40s %8s %12s\n" tool seconds "peak RSS MB"
awk -v s="$ep_s" -v k="$ep_kb" 'BEGIN { printf "%-40s %8s %12.1f\n", "exitprof report --latency", s, k / 1024 }'
awk -v s="$pk_s" -v k="$pk_kb" 'BEGIN { printf "%-40s %8s %12.1f\n", "perf kvm stat report --event=vmexit", s, k / 1024 }'
