#!/usr/bin/env bash
# The main job on real exits: installs, builds, then runs `exitprof demo --linux` (a real Linux
# guest with virtio-blk and virtio-rng, recorded and reported from the host, probed from inside).
# Where this host's KVM fires kvm:kvm_exit it runs here; elsewhere (no /dev/kvm, or a PVM backend)
# it runs in the project's KVM lab (scripts/kvm-lab.sh: a real KVM host under QEMU TCG). Root
# either way (KVM, tracefs, the lab's 9p root).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "quickstart: run it as root (sudo scripts/quickstart.sh): KVM, tracefs and the lab need it" >&2; exit 2; }
scripts/install-deps.sh
scripts/build.sh build
if [[ -w /dev/kvm ]] && build/exitprof demo --linux --check-host; then
  exec build/exitprof demo --linux "$@"
fi
echo "quickstart: running it in the KVM lab instead (a boot takes about a minute; the whole run a few)" >&2
scripts/seed-guest.sh prepare >/dev/null && scripts/seed-guest.sh vmlinux >/dev/null  # the lab has no network
out=/var/tmp/exitprof-quickstart; mkdir -p "$out"
exec scripts/kvm-lab.sh --rw "$out" -- build/exitprof demo --linux --dir "$out" "$@"
