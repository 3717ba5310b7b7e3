#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what is needed, builds, runs every test
# (unit, real perf recordings, real KVM guests where /dev/kvm and root exist), a short fuzz
# run with corpus replay, and the benchmarks' quick functional mode.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
# tracefs for the live tests (the kvm tracepoints); harmless if already mounted or not allowed.
if [[ $(id -u) -eq 0 && ! -d /sys/kernel/tracing/events ]]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi
if [[ -x scripts/fuzz.sh ]]; then
  scripts/fuzz.sh --seconds "${EXITPROF_FUZZ_SECONDS:-20}"
fi
if [[ -x bench/report_compare.sh ]]; then
  bench/report_compare.sh --quick
fi
bench/observer_overhead.sh --quick build
bench/device_attribution.sh --quick  # device attribution (issue #10)
bench/symbolize_compare.sh --quick
bench/stat_refresh.sh --quick build
bench/callgraph_compare.sh --quick
if [[ -x build/bench/exitprof-tracedat-bench ]]; then
  build/bench/exitprof-tracedat-bench --quick
fi
bench/textcapture_compare.sh --quick  # text captures (issue #3, item 3)
cd build
ctest --output-on-failure -j2
