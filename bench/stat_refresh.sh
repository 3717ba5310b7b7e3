#!/usr/bin/env bash
# CPU time of one `exitprof stat` refresh with many VMs: starts VMS built-in guests x 4 vCPUs
# (default 50 x 4; --quick: 5 x 4) that do a little work and then hold still, then runs
#   1. exitprof-stat-bench (Google Benchmark): a stats-fd refresh, rescan + refresh, refresh +
#      render, and kvm_stat -t's method (per-CPU tracepoint counter groups) for comparison;
#   2. the whole command: CPU time of `exitprof stat -l` over 101 refreshes minus 1, per refresh,
#      and the same for `stat -t -l` and `stat -t --bpf -l` (with their ratio).
# kvm_stat itself is not packaged for Debian 12 (the kernel tree's tools/kvm/kvm_stat is where
# it lives); when KVM_STAT=/path/to/kvm_stat is set and runs, its -t log mode is timed the same way.
# Needs root and /dev/kvm. Usage: bench/stat_refresh.sh [--quick] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
build=build
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    *) build=$arg ;;
  esac
done
if [[ $(id -u) -ne 0 || ! -w /dev/kvm ]]; then
  echo "stat_refresh: needs root and /dev/kvm; skipped"
  exit 0
fi
vms=$((quick ? 5 : 50))
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

for ((i = 0; i < vms; i++)); do
  "$build/exitprof-guest" --vcpus 4 --iterations 100 --hold >/dev/null 2>"$tmp/guest$i.err" &
  pids+=($!)
done
for ((i = 0; i < vms; i++)); do
  for _ in $(seq 200); do grep -q holding "$tmp/guest$i.err" && break; sleep 0.05; done
  grep -q holding "$tmp/guest$i.err" || { echo "stat_refresh: guest $i did not start: $(cat "$tmp/guest$i.err")"; exit 1; }
done
pid_args=()
for p in "${pids[@]}"; do pid_args+=(-p "$p"); done
echo "# stat_refresh: $vms built-in guests x 4 vCPUs holding, $(nproc) CPUs, $(uname -r)"

if [[ -x "$build/bench/exitprof-stat-bench" ]]; then
  min_time=$((quick ? 0 : 1))
  "$build/bench/exitprof-stat-bench" --benchmark_min_time="${min_time}.05" 2>&1 | grep -v "^\*\*\*"
fi

# CPU seconds (user + system) of one command.
cpu() {
  /usr/bin/time -f "%U %S" -o "$tmp/time" "$@" >/dev/null 2>&1 || true
  awk '{print $1 + $2}' "$tmp/time"
}
n=$((quick ? 101 : 501))
one=$(cpu "$build/exitprof" stat -l -s 0.01 -n 1 "${pid_args[@]}")
many=$(cpu "$build/exitprof" stat -l -s 0.01 -n "$n" "${pid_args[@]}")
python3 -c "print('exitprof stat -l, whole command: %.3f ms CPU per refresh (%d refreshes: %.2f s, 1: %.2f s)' % ((${many} - ${one}) * 1000 / (${n} - 1), ${n}, ${many}, ${one}))"
one=$(cpu "$build/exitprof" stat -t -l -s 0.01 -n 1)
many=$(cpu "$build/exitprof" stat -t -l -s 0.01 -n "$n")
python3 -c "print('exitprof stat -t -l (kvm_stat -t method), whole command: %.3f ms CPU per refresh' % ((${many} - ${one}) * 1000 / (${n} - 1)))"
# stat -t --bpf against stat -t on the same rows (the events the BPF aggregator attaches);
# the BPF program load and attach is in the 1-refresh run, so it drops out of the difference.
rows='^kvm_(exit|entry|pio|mmio|userspace_exit)'
one=$(cpu "$build/exitprof" stat -t -l -s 0.01 -n 1 -f "$rows")
many=$(cpu "$build/exitprof" stat -t -l -s 0.01 -n "$n" -f "$rows")
t_ms=$(python3 -c "print((${many} - ${one}) * 1000 / (${n} - 1))")
python3 -c "print('exitprof stat -t -l -f ROWS (the rows --bpf gives), whole command: %.3f ms CPU per refresh' % ${t_ms})"
one=$(cpu "$build/exitprof" stat -t --bpf -l -s 0.01 -n 1 -f "$rows")
many=$(cpu "$build/exitprof" stat -t --bpf -l -s 0.01 -n "$n" -f "$rows")
python3 -c "b = (${many} - ${one}) * 1000 / (${n} - 1); print('exitprof stat -t --bpf -l, whole command: %.3f ms CPU per refresh (1 refresh with load and attach: %.2f s CPU; -t -f ROWS / --bpf per refresh: %.2fx)' % (b, ${one}, ${t_ms} / b if b > 0 else float('nan')))"
one=$(cpu "$build/exitprof" stat -t -l -s 0.01 -n 1 -f "$rows" "${pid_args[@]}")
many=$(cpu "$build/exitprof" stat -t -l -s 0.01 -n "$n" -f "$rows" "${pid_args[@]}")
t_ms=$(python3 -c "print((${many} - ${one}) * 1000 / (${n} - 1))")
python3 -c "print('exitprof stat -t -l -f ROWS -p (every guest), whole command: %.3f ms CPU per refresh' % ${t_ms})"
one=$(cpu "$build/exitprof" stat -t --bpf -l -s 0.01 -n 1 -f "$rows" "${pid_args[@]}")
many=$(cpu "$build/exitprof" stat -t --bpf -l -s 0.01 -n "$n" -f "$rows" "${pid_args[@]}")
python3 -c "b = (${many} - ${one}) * 1000 / (${n} - 1); print('exitprof stat -t --bpf -l -p (every guest), whole command: %.3f ms CPU per refresh (-t / --bpf per refresh: %.2fx)' % (b, ${t_ms} / b if b > 0 else float('nan')))"

if [[ -n "${KVM_STAT:-}" ]]; then
  # kvm_stat -t -l refreshes once a second; time 3 s and 13 s runs and take the difference.
  for secs in 3 13; do
    /usr/bin/time -f "%U %S" -o "$tmp/kt$secs" timeout -s INT "$secs" "$KVM_STAT" -t -l >"$tmp/ko$secs" 2>&1 || true
  done
  python3 - "$tmp" <<'PY'
import sys
t = sys.argv[1]
cpu = lambda s: sum(map(float, open(f"{t}/kt{s}").read().split()[-2:]))
print("kvm_stat -t -l: %.3f ms CPU per refresh (10 refreshes)" % ((cpu(13) - cpu(3)) * 100))
PY
fi
