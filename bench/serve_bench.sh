#!/usr/bin/env bash
# exitprof serve's costs, side by side with what a user would otherwise run, in one run:
#   1. scrape CPU with VMS built-in guests x 4 vCPUs (default 100; --quick 10) that worked while
#      serve counted (so every trace-tier and stats-tier series exists), then hold still: serve's
#      own CPU time (utime+stime from /proc) over SCRAPES scrapes, per scrape, against one
#      `perf stat -a` reading of the same kvm tracepoints' counts (host-wide only, no per-VM or
#      per-reason split), and serve's exitprof_scrape_duration_seconds;
#   2. observer overhead: one guest's exits/s alone, under serve (BPF counting) and under
#      `perf record -a` of the same events, as a share of perf record's slowdown.
# Needs root and /dev/kvm. Usage: bench/serve_bench.sh [--quick] [BUILD_DIR]
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
  echo "serve_bench: needs root and /dev/kvm; skipped"
  exit 0
fi
vms=$((quick ? 10 : 100))
scrapes=$((quick ? 20 : 200))
tmp=$(mktemp -d)
pids=()
serve_pid=""
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  [[ -n "$serve_pid" ]] && kill -TERM "$serve_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

start_serve() {
  "$build/exitprof" serve --listen 127.0.0.1:0 --qmp off 2>"$tmp/serve.err" &
  serve_pid=$!
  for _ in $(seq 100); do grep -q listening "$tmp/serve.err" && break; sleep 0.05; done
  port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\)\/metrics.*/\1/p' "$tmp/serve.err")
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_serve
for ((i = 0; i < vms; i++)); do
  "$build/exitprof-guest" --vcpus 4 --iterations 100 --hold >/dev/null 2>"$tmp/guest$i.err" &
  pids+=($!)
done
for ((i = 0; i < vms; i++)); do
  for _ in $(seq 400); do grep -q holding "$tmp/guest$i.err" && break; sleep 0.05; done
  grep -q holding "$tmp/guest$i.err" || { echo "serve_bench: guest $i did not start: $(cat "$tmp/guest$i.err")"; exit 1; }
done
echo "# serve_bench: $vms built-in guests x 4 vCPUs, $(nproc) CPUs, $(uname -r)"
curl -s "http://127.0.0.1:$port/metrics" >"$tmp/metrics.txt"
series=$(grep -vc '^#' "$tmp/metrics.txt")
trace_series=$(grep -c '^kvm_\(userspace\|device\)_exits_total\|^kvm_exits_total' "$tmp/metrics.txt" || true)
hz=$(getconf CLK_TCK)
before=$(cpu_ticks "$serve_pid")
start=$(date +%s.%N)
for ((i = 0; i < scrapes; i++)); do curl -s -o /dev/null "http://127.0.0.1:$port/metrics"; done
end=$(date +%s.%N)
after=$(cpu_ticks "$serve_pid")
took=$(curl -s "http://127.0.0.1:$port/metrics" | sed -n 's/^exitprof_scrape_duration_seconds //p')
# The tool a user would run for the same kvm tracepoints' counts: one perf stat reading.
events=(-e kvm:kvm_exit -e kvm:kvm_userspace_exit -e kvm:kvm_pio -e kvm:kvm_mmio)
# /usr/bin/time counts in 10 ms ticks: 20 readings, averaged.
perf_runs=20
/usr/bin/time -f "%U %S" -o "$tmp/perf.time" bash -c 'n=$1; shift; for _ in $(seq "$n"); do perf stat -a -x, "$@" -- true; done' bash \
  "$perf_runs" "${events[@]}" >/dev/null 2>&1 || true
python3 - "$before" "$after" "$hz" "$scrapes" "$start" "$end" "$took" "$series" "$trace_series" "$(cat "$tmp/perf.time")" <<'PY'
import sys
b, a, hz, n, s, e, took, series, trace = (float(x) for x in sys.argv[1:10])
perf = sum(float(x) for x in sys.argv[10].split()) / 20
cpu_ms = (a - b) / hz * 1000 / n
print(f"serve scrape: {cpu_ms:.2f} ms CPU per scrape (serve's utime+stime over {int(n)} scrapes), "
      f"{(e - s) * 1000 / n:.2f} ms wall per curl, exitprof_scrape_duration_seconds {float(took) * 1000:.2f} ms; "
      f"{int(series)} series ({int(trace)} trace tier)")
print(f"perf stat -a, one reading of 4 kvm tracepoints (host-wide totals only): {perf * 1000:.1f} ms CPU")
print(f"ratio serve scrape / perf stat reading: {cpu_ms / (perf * 1000):.3f}")
PY
for p in "${pids[@]}"; do kill -TERM "$p"; done
wait "${pids[@]}" 2>/dev/null || true
pids=()

# 2. Observer overhead on an exit storm (one guest, port writes, unpaced).
iterations=$((quick ? 20000 : 200000))
guest=("$build/exitprof-guest" --pio 0x3f8:1:w --iterations "$iterations")
rate() { python3 -c "import json,sys; v=json.load(open(sys.argv[1]))['vms'][0]['vcpus'][0]; print(round(sum(v['userspace_exits'].values())/(v['elapsed_ns']/1e9)))" "$1"; }
"${guest[@]}" --json "$tmp/serve.json" >/dev/null 2>&1  # serve still counts
with_serve=$(rate "$tmp/serve.json")
kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=""
"${guest[@]}" --json "$tmp/none.json" >/dev/null 2>&1
perf record -q -a -m 1024 -e kvm:kvm_pio -e kvm:kvm_userspace_exit -o "$tmp/perf.data" -- "${guest[@]}" --json "$tmp/perf.json" >/dev/null 2>&1
none=$(rate "$tmp/none.json") perf_rate=$(rate "$tmp/perf.json")
python3 - "$none" "$with_serve" "$perf_rate" <<'PY'
import sys
none, serve, perf = (float(x) for x in sys.argv[1:4])
so, po = 1 - serve / none, 1 - perf / none
print(f"observer overhead, exits/s: alone {none:.0f}, under serve {serve:.0f} ({so * 100:.1f}% slower), "
      f"under perf record -a {perf:.0f} ({po * 100:.1f}% slower); serve's share of perf record's: "
      f"{(so / po if po > 0 else float('nan')):.2f}")
PY
