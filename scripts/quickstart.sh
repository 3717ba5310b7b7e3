#!/usr/bin/env bash
# The main job on an embedded default: installs, builds, and runs `exitprof report` on the
# recording bundled in data/ (three QEMU VMs, made by our perf.data writer; perf reads it too).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
build/exitprof report -i data/demo-vmx.perf.data "$@"
