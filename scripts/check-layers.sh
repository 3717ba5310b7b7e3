#!/usr/bin/env bash
# The layers of src/, declared once: which folders each folder's files may include. A file that
# includes a folder its own folder may not (a lower layer reaching up, or a layer skipping
# sideways) fails the check with one line per include. Needs no build: scripts/test.sh runs it
# first, and ctest runs it as check_layers.
# Usage: scripts/check-layers.sh [SOURCE_DIR]   (default: the checkout this script is in)
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}

# Bottom to top. A folder may include itself and what its row names; an entry with a slash
# allows one file only. recording/ is the seam every source and analysis shares: it may include
# perf's record model (abi, event, event_attr) from perfdata/, which is format-neutral, but not
# the perf.data reader.
layers='
base:
trace:        base
qemu:         base
guest:        base
recording:    base perfdata/abi.h perfdata/event.h perfdata/event_attr.h
perfdata:     base recording
kvm:          base trace perfdata recording
tracedat:     base trace perfdata recording
textcapture:  base trace perfdata recording kvm
capture:      base trace perfdata recording
symbols:      base tracedat
probe:        base symbols
kvmstat:      base qemu kvm capture
analysis:     base trace perfdata recording kvm kvmstat qemu
callgraph:    base perfdata recording symbols
live:         base perfdata kvm capture analysis
render:       base analysis
report:       base trace perfdata recording kvm qemu tracedat textcapture symbols callgraph analysis
seed:         base guest kvmstat
serve:        base kvm kvmstat qemu capture
cli:          base trace perfdata recording kvm qemu tracedat capture symbols probe kvmstat analysis callgraph live render report seed guest serve
'

declare -A allowed
while IFS= read -r line; do
  [[ -z ${line// } ]] && continue
  folder=${line%%:*}
  allowed[$folder]=" ${line#*:} "
done <<<"$layers"

status=0
for dir in "$root"/src/*/; do
  folder=$(basename "$dir")
  if [[ -z ${allowed[$folder]+x} ]]; then
    echo "check-layers: src/$folder is not in the layer table; add a row to scripts/check-layers.sh" >&2
    status=1
    continue
  fi
  # Every quoted include of another src/ folder: FILE:LINE:#include "folder/...".
  while IFS= read -r hit; do
    file=${hit%%:*}; rest=${hit#*:}; lineno=${rest%%:*}
    [[ ${rest#*:} =~ \"([^\"]+)\" ]] || continue
    target=${BASH_REMATCH[1]}
    other=${target%%/*}
    [[ $other == "$folder" || ! -d $root/src/$other ]] && continue
    [[ ${allowed[$folder]} == *" $other "* || ${allowed[$folder]} == *" $target "* ]] && continue
    echo "check-layers: ${file#"$root"/}:$lineno: src/$folder may not include \"$target\" (src/$folder may include: $(echo ${allowed[$folder]}))" >&2
    status=1
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[A-Za-z0-9_]+/' "$dir" \
             --include='*.h' --include='*.cc' --include='*.c' --include='*.inc' || true)
done
[[ $status == 0 ]] && echo "check-layers: ok (${#allowed[@]} folders)"
exit $status
