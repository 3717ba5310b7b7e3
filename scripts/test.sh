#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what is needed, builds, runs every test
# (unit, real perf recordings, real KVM guests), a short fuzz run with corpus replay, and the
# benchmarks' quick functional mode. Live tests run on real exits: on this machine's /dev/kvm
# where kvm_exit fires, else again inside the KVM lab (scripts/kvm-lab.sh), where none may skip.
set -euo pipefail
cd "$(dirname "$0")/.."
# The layers of src/ (no build needed): a lower layer that includes an upper one fails first.
scripts/check-layers.sh
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
# Where kvm_exit fires here, live tests must run here; else the lab runs them after the rest
# (label "lab": tests that boot the lab themselves, such as the seed, run once, from here).
if live_where=$(scripts/kvm-exit-fires.sh build); then export EXITPROF_REQUIRE_LIVE=1; fi
(cd build && ctest --output-on-failure -j2 -LE '^lab$')
# The seed (label "lab"): on this host's KVM where kvm_exit fires, else it boots the lab itself.
lab_start=$SECONDS
(cd build && ctest --output-on-failure -L '^lab$')
if [[ -z ${EXITPROF_REQUIRE_LIVE:-} ]]; then
  echo "test.sh: ${live_where#no: }: the live tests run again in the KVM lab, where none may skip"
  # Not gating yet (issue 14): lab runs still wedge (QEMU TCG host silent for minutes) and a lab
  # sometimes loses tracefs and KVM mid-run, failing every later test at once. The result and
  # every failure are printed; the seed above gates.
  scripts/lab-ctest.sh build || echo "test.sh: the live suites FAILED in the lab (not gating yet: see issue 14 and $PWD/build/lab-ctest.log)" >&2
fi
echo "test.sh: the lab stage (seed and live suites) took $((SECONDS - lab_start)) s"
