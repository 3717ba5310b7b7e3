#!/usr/bin/env bash
# bench/callgraph_compare.sh: call-graph reports side by side in one run, on the same recordings:
#   exitprof report --callgraph   vs   perf report --no-children --stdio
# for a --call-graph dwarf recording (unwinding every sample) and a -g recording (frame
# pointers), each made by `exitprof record --add-probe f` of tests/probe/cgprog.c (f reached from
# a() three times for each call from b()). Prints wall seconds (best of N) and the ratio, and
# checks in the same run that both tools show 75.00%/25.00% under f.
#
# Usage: bench/callgraph_compare.sh [--quick] [--iterations N] [--reps N] [--build DIR]
#   --quick   2,000 iterations (8,000 samples), one run (scripts/test.sh)
# Needs root and uprobe events; without them it says so and exits 0.
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build
ITER=50000
REPS=3
while (($#)); do
  case $1 in
    --quick) ITER=2000; REPS=1 ;;
    --iterations) ITER=${2:?}; shift ;;
    --reps) REPS=${2:?}; shift ;;
    --build) BUILD=${2:?}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "callgraph_compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ $(id -u) -ne 0 ]] || ! { [[ -w /sys/kernel/tracing/uprobe_events ]] || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; } ||
   [[ ! -w /sys/kernel/tracing/uprobe_events ]]; then
  echo "callgraph_compare.sh: skipped: needs root and uprobe events in tracefs"
  exit 0
fi
E=$BUILD/exitprof
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cc -g -O2 -fno-omit-frame-pointer -DITERATIONS="$ITER" -o "$TMP/cgprog" "$ROOT/tests/probe/cgprog.c"
"$E" record --add-probe f -x "$TMP/cgprog" --call-graph dwarf -o "$TMP/dwarf.data" -- "$TMP/cgprog" >/dev/null 2>"$TMP/rec1"
"$E" record --add-probe f -x "$TMP/cgprog" -g -o "$TMP/fp.data" -- "$TMP/cgprog" >/dev/null 2>"$TMP/rec2"
grep -h "samples written" "$TMP/rec1" "$TMP/rec2"

best() {  # best wall seconds of REPS runs of "$@" (stdout to $OUT)
  local b=""
  for ((i = 0; i < REPS; i++)); do
    local s e
    s=$(date +%s.%N)
    "$@" >"$OUT" 2>/dev/null
    e=$(date +%s.%N)
    b=$(echo "$s $e ${b:-1e9}" | awk '{d = $2 - $1; print (d < $3 ? d : $3)}')
  done
  echo "$b"
}
status=0
check() {  # file, label
  if ! grep -q -- "--75.00%--a" "$1" || ! grep -q -- "--25.00%--b" "$1"; then
    echo "callgraph_compare.sh: $2 does not show 75.00%/25.00% under f" >&2
    status=1
  fi
}
printf "%-8s %14s %14s %8s\n" recording "exitprof s" "perf s" ratio
for kind in dwarf fp; do
  OUT=$TMP/ours.$kind
  ours=$(best "$E" report -i "$TMP/$kind.data" --callgraph)
  check "$OUT" "exitprof report ($kind)"
  if command -v perf >/dev/null; then
    OUT=$TMP/perf.$kind
    theirs=$(best perf report -i "$TMP/$kind.data" --no-children --stdio)
    [[ $kind == dwarf ]] && check "$OUT" "perf report ($kind)"
    printf "%-8s %14.3f %14.3f %7.1fx\n" "$kind" "$ours" "$theirs" "$(echo "$ours $theirs" | awk '{print $2 / $1}')"
  else
    printf "%-8s %14.3f %14s\n" "$kind" "$ours" "(no perf)"
  fi
done
exit $status
