#!/usr/bin/env bash
# The main job on an embedded default: installs, builds, then runs `exitprof demo` (real KVM
# guests of our own, recorded live and reported). Without /dev/kvm or root it reports the
# recording bundled in data/ instead (three QEMU VMs, made by our perf.data writer).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
if [[ -w /dev/kvm && $(id -u) -eq 0 ]]; then
  exec build/exitprof demo "$@"
fi
echo "quickstart: no /dev/kvm or not root: reporting the bundled recording instead" >&2
exec build/exitprof report -i data/demo-vmx.perf.data "$@"
