#!/usr/bin/env bash
# bench/textcapture_compare.sh: reading a text capture with `exitprof report` side by side with
# the shell pipeline people run on the same text today, in one run, page cache warm:
#   pipeline   grep 'kvm_exit' F | awk '{for(i=1;i<NF;i++) if($i=="reason"){print $(i+1);break}}' | sort | uniq -c
#   exitprof   exitprof report -i F --format json --by reason    (every kvm event decoded and counted)
# Prints wall seconds (best of N), lines per second and the ratio, and checks in the same run
# that the pipeline's per-reason counts equal exitprof's.
#
# Usage: bench/textcapture_compare.sh [--quick] [--copies N] [--reps N] [--build DIR] [FILE]
#   FILE       a text capture (default: `perf script` of shared/fixtures/small-vmx.data, or
#              exitprof script of it when perf is missing), repeated --copies times
#   --copies N copies of FILE concatenated (default 50: 1,000,000 lines from the fixture)
#   --quick    2 copies, one timed run (for scripts/test.sh: about a second)
#   --reps N   timed runs per tool (default 3)
# Exit status: 0 when the counts agree, 1 when they do not, 2 on usage.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${EXITPROF_BUILD:-$ROOT/build}
COPIES=50
REPS=3
FILE=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) COPIES=2; REPS=1; shift ;;
    --copies) COPIES=${2:?--copies needs a value}; shift 2 ;;
    --reps) REPS=${2:?--reps needs a value}; shift 2 ;;
    --build) BUILD=${2:?--build needs a value}; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "textcapture_compare.sh: unknown option $1" >&2; exit 2 ;;
    *) FILE=$1; shift ;;
  esac
done
EXITPROF=$BUILD/exitprof
[[ -x $EXITPROF ]] || { echo "textcapture_compare.sh: no $EXITPROF (build it first)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/exitprof-textbench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
ONE=$TMP/one.txt
if [[ -n $FILE ]]; then
  cp "$FILE" "$ONE"
else
  FIXTURE=$ROOT/../shared/fixtures/small-vmx.data
  [[ -f $FIXTURE ]] || { echo "textcapture_compare.sh: no $FIXTURE; give a FILE" >&2; exit 2; }
  if command -v perf > /dev/null; then perf script -i "$FIXTURE" > "$ONE" 2> /dev/null
  else "$EXITPROF" script -i "$FIXTURE" > "$ONE"; fi
fi
TEXT=$TMP/capture.txt
for ((i = 0; i < COPIES; i++)); do cat "$ONE"; done > "$TEXT"
LINES=$(wc -l < "$TEXT")
BYTES=$(stat -c %s "$TEXT")
cat "$TEXT" > /dev/null  # warm the page cache

now() { echo "$EPOCHREALTIME"; }
best() {  # best wall time of REPS runs of "$@" (output to $OUT)
  local b= t0 t1 d
  for ((r = 0; r < REPS; r++)); do
    t0=$(now); "$@" > "$OUT"; t1=$(now)
    d=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b-a}')
    if [[ -z $b ]] || awk -v x="$d" -v y="$b" 'BEGIN{exit !(x<y)}'; then b=$d; fi
  done
  echo "$b"
}
pipeline() {
  grep 'kvm_exit' "$TEXT" | awk '{for(i=1;i<NF;i++) if($i=="reason"){print $(i+1);break}}' | sort | uniq -c
}
OUT=$TMP/pipeline.out; T_PIPE=$(best pipeline)
OUT=$TMP/exitprof.json; T_EXITPROF=$(best "$EXITPROF" report -i "$TEXT" --format json --by reason)

# The same counts from both.
awk '{print $2, $1}' "$TMP/pipeline.out" | sort > "$TMP/a"
python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["exits"]["by_reason"]: print(r["reason"], r["count"])' "$TMP/exitprof.json" | sort > "$TMP/b"
if ! cmp -s "$TMP/a" "$TMP/b"; then
  echo "textcapture_compare.sh: per-reason counts differ (pipeline < > exitprof):" >&2
  diff "$TMP/a" "$TMP/b" >&2 || true
  exit 1
fi
EXITS=$(awk '{s+=$2} END{print s}' "$TMP/b")

printf '# text capture: %d lines, %.1f MB, %d kvm_exit lines (%d copies of %s); best of %d, page cache warm\n' \
  "$LINES" "$(awk -v b="$BYTES" 'BEGIN{print b/1e6}')" "$EXITS" "$COPIES" "${FILE:-perf script of small-vmx.data}" "$REPS"
printf '%-62s %9s %14s\n' "tool" "wall s" "lines/s"
printf '%-62s %9.3f %14.0f\n' "grep kvm_exit | awk reason | sort | uniq -c (exit reasons only)" "$T_PIPE" \
  "$(awk -v l="$LINES" -v t="$T_PIPE" 'BEGIN{print l/t}')"
printf '%-62s %9.3f %14.0f\n' "exitprof report --format json (every kvm event decoded)" "$T_EXITPROF" \
  "$(awk -v l="$LINES" -v t="$T_EXITPROF" 'BEGIN{print l/t}')"
printf 'ratio pipeline/exitprof: %.2f (above 1: exitprof is faster); counts equal: yes\n' \
  "$(awk -v a="$T_PIPE" -v b="$T_EXITPROF" 'BEGIN{print a/b}')"
