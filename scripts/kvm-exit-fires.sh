#!/usr/bin/env bash
# Does this machine's KVM fire kvm:kvm_exit? Runs our guest for 100 port writes under
# `perf stat -e kvm:kvm_exit` and says "yes" (status 0) or why not (status 1).
# Usage: scripts/kvm-exit-fires.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[[ $(id -u) -eq 0 ]] || { echo "no: not root (tracepoints need root)"; exit 1; }
[[ -w /dev/kvm ]] || { echo "no: this machine has no usable /dev/kvm"; exit 1; }
[[ -d /sys/kernel/tracing/events ]] || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
[[ -d /sys/kernel/tracing/events/kvm/kvm_exit ]] || { echo "no: no kvm:kvm_exit tracepoint"; exit 1; }
n=$(perf stat -x, -e kvm:kvm_exit -a -- "$build/exitprof-guest" --pio 0x3f8:1:w --iterations 100 2>&1 >/dev/null |
    awk -F, '/kvm:kvm_exit/ {print $1}')
if [[ $n =~ ^[0-9]+$ ]] && ((n > 0)); then echo yes; exit 0; fi
echo "no: kvm:kvm_exit fired ${n:-0} times while the guest made 100 port writes (a PVM backend?)"
exit 1
