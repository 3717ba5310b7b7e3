#!/usr/bin/env bash
# bench/report_compare.sh: `exitprof report` side by side with what people run today, on one
# recording, with the page cache warm. Times (best of N wall seconds), CPU seconds and peak RSS:
#   pipeline      perf script -i F | grep "reason IO_INSTRUCTION" | awk '{print $12}' | sort | uniq -c | sort -rn
#   perf kvm      perf kvm -i F stat report --event=vmexit
#   exitprof      exitprof report -i F, on 1 thread (-j 1) and on 2 (-j 2); text and --format
#                 json; --latency; --by reason,sym with guest kallsyms
#   scan floor    exitprof-scan (bench/scan_floor.cc): sum every 8-byte word, mmap and read()
# The runs are interleaved (rep 1 of every tool, then rep 2, ...), so that other work on the
# machine weighs on all of them alike; the load average is printed at the start and the end.
# It checks, in the same run, that the pipeline's per-rip counts equal exitprof's by_rip
# counts, that -j 2 prints exactly what -j 1 prints, and how perf kvm stat's total compares.
#
# Usage: bench/report_compare.sh [--quick] [--exits N] [--reps N] [--reason NAME]
#                                [--no-pipeline] [--build DIR] [--keep] [FILE]
#   FILE       an existing recording (Intel VMX reasons unless --reason says otherwise);
#              without it one is generated with exitprof-gen (900,000 exits: 2.0 M samples,
#              227 MB, the size of issue 19's file) under /tmp
#   --quick    50,000 exits, one timed run (for CI: a few seconds)
#   --exits N  exits in the generated recording
#   --reps N   timed runs per tool (best is shown; default 3)
#   --reason   the exit reason the pipeline greps for (default IO_INSTRUCTION; SVM: io)
#   --no-pipeline  leave out the perf script pipeline (the slowest by far) and its check
#   --build    build directory holding exitprof, exitprof-gen, bench/exitprof-scan
#              (default: $EXITPROF_BUILD, else build/ or build-bench/, whichever holds both)
#   --keep     keep the temporary directory (generated file, every tool's output)
# Exit status: 0 when the correctness checks pass (the performance targets are reported,
# not enforced: timings on shared CI machines are noise), 1 when a check fails, 2 on usage.
set -euo pipefail
export LC_ALL=C  # '.' as the decimal point in $EPOCHREALTIME and awk

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The build to measure: --build, else $EXITPROF_BUILD, else the first of build/ (what
# scripts/build.sh and CI make) and build-bench/ (the Release build of docs/BENCHMARKS.md)
# that holds both exitprof and bench/exitprof-scan.
BUILD=${EXITPROF_BUILD:-}
if [[ -z $BUILD ]]; then
  BUILD=$ROOT/build
  for dir in "$ROOT/build" "$ROOT/build-bench"; do
    if [[ -x $dir/exitprof && -x $dir/bench/exitprof-scan ]]; then BUILD=$dir; break; fi
  done
fi
EXITS=900000
REPS=3
REASON=IO_INSTRUCTION
KEEP=0
QUICK=0
PIPELINE=1
FILE=""

die() { echo "report_compare.sh: $*" >&2; exit 2; }
while (($#)); do
  case $1 in
    --quick) QUICK=1; EXITS=50000; REPS=1 ;;
    --exits) EXITS=${2:?--exits needs a number}; shift ;;
    --reps) REPS=${2:?--reps needs a number}; shift ;;
    --reason) REASON=${2:?--reason needs a name}; shift ;;
    --no-pipeline) PIPELINE=0 ;;
    --build) BUILD=${2:?--build needs a directory}; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z $FILE ]] || die "one FILE only"; FILE=$1 ;;
  esac
  shift
done
[[ $EXITS =~ ^[0-9]+$ && $EXITS -gt 0 ]] || die "--exits: expected a positive number"
[[ $REPS =~ ^[0-9]+$ && $REPS -gt 0 ]] || die "--reps: expected a positive number"

# ---- requirements (checked, never installed here) ----
missing=0
need() {  # need PATH-OR-COMMAND "how to get it"
  if [[ $1 == */* ]]; then [[ -x $1 ]] && return 0; else command -v "$1" >/dev/null && return 0; fi
  echo "report_compare.sh: requires $1 -- $2" >&2
  missing=1
}
need /usr/bin/time "GNU time, for peak RSS (Debian: apt-get install time)"
need perf "perf 6.x (Debian: apt-get install linux-perf)"
need python3 "python3, for the correctness checks (Debian: apt-get install python3)"
need "$BUILD/exitprof" "build it: cmake -B $BUILD -DCMAKE_BUILD_TYPE=Release && cmake --build $BUILD -j2"
need "$BUILD/bench/exitprof-scan" "build it: cmake --build $BUILD -j2 --target exitprof-scan (needs EXITPROF_BENCH=ON)"
[[ -n $FILE ]] || need "$BUILD/exitprof-gen" "build it: cmake --build $BUILD -j2 --target exitprof-gen"
((missing == 0)) || exit 2
[[ -z $FILE || -r $FILE ]] || die "$FILE: cannot read"

WORK=$(mktemp -d /tmp/exitprof-compare.XXXXXX)
cleanup() { if ((KEEP)); then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

if [[ -z $FILE ]]; then
  FILE=$WORK/kvm.data
  echo "generating $FILE: $EXITS kvm_exit samples (exitprof-gen)..." >&2
  "$BUILD/exitprof-gen" --formats "$ROOT/tests/data/formats" -o "$FILE" --exits "$EXITS"
fi

# The pipeline as a user types it. "CPU 0/KVM" thread names hold a space, so the rip is $12.
cat >"$WORK/pipeline.sh" <<EOF
perf script -i "\$1" | grep "reason $REASON" | awk '{print \$12}' | sort | uniq -c | sort -rn
EOF

# ---- timing ----
# Each timed run goes under perf stat when it works here: duration_time (wall, from the
# child's start, so perf's own start-up is not counted) and task-clock (CPU time of every
# process of the run, ms resolution). Otherwise: $EPOCHREALTIME around the run and GNU time's
# user+sys (10 ms resolution). GNU time gives the peak RSS either way.
PERF_STAT=0
if perf stat -x, -e task-clock,duration_time -o /dev/null true >/dev/null 2>&1; then PERF_STAT=1; fi
timed() {  # timed NAME CMD...
  local name=$1
  shift
  : >"$WORK/$name.stat"
  if ((PERF_STAT)); then
    perf stat -x, -e task-clock,duration_time -o "$WORK/$name.stat" -- \
      /usr/bin/time -f '%U %S %M' -o "$WORK/$name.time" "$@"
  else
    /usr/bin/time -f '%U %S %M' -o "$WORK/$name.time" "$@"
  fi
}
stat_value() {  # stat_value NAME EVENT DIVISOR: the counter from perf stat's CSV, divided
  awk -F, -v ev="$2" -v d="$3" '$3 == ev && $1 ~ /^[0-9.]+$/ { printf "%.4f", $1 / d; found = 1 }
                                END { exit !found }' "$WORK/$1.stat"
}
declare -A BEST CPU RSS
declare -a TOOLS
declare -A CMDS
tool() {  # tool NAME CMD...: one of the measured commands
  TOOLS+=("$1")
  CMDS[$1]=$(printf '%q ' "${@:2}")
}
run_once() {  # run_once NAME: one timed run; stdout/stderr kept; best wall, least CPU, most RSS
  local name=$1 t0 t1 wall cpu u s m
  t0=$EPOCHREALTIME
  if ! eval "timed $name ${CMDS[$name]}" >"$WORK/$name.out" 2>"$WORK/$name.err"; then
    echo "report_compare.sh: $name failed:" >&2
    tail -5 "$WORK/$name.err" >&2
    exit 1
  fi
  t1=$EPOCHREALTIME
  read -r u s m <"$WORK/$name.time"
  wall=$(stat_value "$name" duration_time 1e9) || wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
  cpu=$(stat_value "$name" task-clock 1e3) || cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.4f", u + s }')
  if [[ -z ${BEST[$name]:-} ]] || awk -v a="$wall" -v b="${BEST[$name]}" 'BEGIN { exit !(a < b) }'; then
    BEST[$name]=$wall
  fi
  if [[ -z ${CPU[$name]:-} ]] || awk -v a="$cpu" -v b="${CPU[$name]}" 'BEGIN { exit !(a < b) }'; then
    CPU[$name]=$cpu
  fi
  if [[ -z ${RSS[$name]:-} ]] || ((m > RSS[$name])); then RSS[$name]=$m; fi
}
measure_all() {  # a warm-up run of each tool, then REPS rounds of one run of each
  local name i
  for name in "${TOOLS[@]}"; do eval "${CMDS[$name]}" >/dev/null 2>&1 || true; done
  for ((i = 0; i < REPS; i++)); do
    for name in "${TOOLS[@]}"; do run_once "$name"; done
  done
}

size=$(stat -c %s "$FILE")
echo "# $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(uname -sr)," \
     "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# build: $BUILD ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt" 2>/dev/null))"
echo "# file: $FILE ($(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }') MiB), best of $REPS warm runs"
cat "$FILE" >/dev/null

X=$BUILD/exitprof
KALLSYMS=$ROOT/tests/data/demo-guest.kallsyms
if ((PIPELINE)); then tool pipeline bash "$WORK/pipeline.sh" "$FILE"; fi
tool perfkvm perf kvm -i "$FILE" stat report --event=vmexit
tool exitprof_j1 "$X" report -j 1 -i "$FILE"
tool exitprof_j2 "$X" report -j 2 -i "$FILE"
tool exitprof_json "$X" report -j 2 -i "$FILE" --format json
tool latency_j1 "$X" report -j 1 -i "$FILE" --latency
tool latency_j2 "$X" report -j 2 -i "$FILE" --latency
tool sym_j2 "$X" report -j 2 -i "$FILE" --by reason,sym --kallsyms "$KALLSYMS"
tool scan_mmap "$BUILD/bench/exitprof-scan" --mmap "$FILE"
tool scan_read "$BUILD/bench/exitprof-scan" --read "$FILE"
measure_all
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- table ----
ref=${BEST[exitprof_j2]}
cref=${CPU[exitprof_j2]}
row() {  # row NAME LABEL
  [[ -n ${BEST[$1]:-} ]] || return 0
  awk -v l="$2" -v t="${BEST[$1]}" -v c="${CPU[$1]}" -v m="${RSS[$1]}" -v r="$ref" -v cr="$cref" \
    'BEGIN { x = r > 0 ? sprintf("%.2fx", t / r) : "n/a"; y = cr > 0 ? sprintf("%.2fx", c / cr) : "n/a"
             printf "| %-50s | %8.3f | %11s | %6.3f | %15s | %7.1f |\n", l, t, x, c, y, m / 1024 }'
}
echo
echo "| tool                                               | seconds  | vs -j 2     | CPU s  | CPU vs -j 2     | RSS MB  |"
echo "|----------------------------------------------------|----------|-------------|--------|-----------------|---------|"
row pipeline "perf script + grep + awk + sort + uniq -c (1)"
row perfkvm "perf kvm stat report --event=vmexit"
row exitprof_j1 "exitprof report -j 1 (text)"
row exitprof_j2 "exitprof report -j 2 (text)"
row exitprof_json "exitprof report -j 2 --format json"
row latency_j1 "exitprof report -j 1 --latency"
row latency_j2 "exitprof report -j 2 --latency"
row sym_j2 "exitprof report -j 2 --by reason,sym --kallsyms"
row scan_mmap "exitprof-scan --mmap (the floor)"
row scan_read "exitprof-scan --read, 1 MiB blocks (2)"
echo
echo "seconds: best wall time of the runs; CPU s: least CPU time (user+sys) of the runs, of all the"
echo "run's processes: steadier than wall time when other work shares the CPUs."
echo "RSS MB: largest peak resident set of the runs (GNU time %M). (1) of the pipeline's largest process."
echo "(2) read() copies through a 1 MiB buffer: low RSS, more system time than the mapping."

# ---- targets ----
target() {  # target TEXT VALUE OP LIMIT [NOTE]
  local verdict
  verdict=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { ok = (op == ">=" ? v >= l : op == "<=" ? v <= l : v < l); print (ok ? "met" : "MISSED") }')
  printf "  %-34s %8s  %-6s  %-6s  %s\n" "$1" "$2" "$3 $4" "$verdict" "${5:-}"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
echo
echo "targets (wall-time ratios; the CPU-time ratio in brackets):"
if ((PIPELINE)); then
  target "pipeline / exitprof -j 2 (x)" "$(ratio "${BEST[pipeline]}" "$ref")" ">=" 50 "[CPU $(ratio "${CPU[pipeline]}" "$cref")]"
fi
for name in exitprof_j1 exitprof_j2 latency_j1 latency_j2 sym_j2; do
  target "perf kvm stat / $name (x)" "$(ratio "${BEST[perfkvm]}" "${BEST[$name]}")" ">=" 4 \
    "[CPU $(ratio "${CPU[perfkvm]}" "${CPU[$name]}")]"
done
for name in exitprof_j1 exitprof_j2 latency_j1 latency_j2 sym_j2; do
  target "$name / mmap scan floor (x)" "$(ratio "${BEST[$name]}" "${BEST[scan_mmap]}")" "<=" 1.0 \
    "[CPU $(ratio "${CPU[$name]}" "${CPU[scan_mmap]}")]"
done
target "exitprof -j 2 peak RSS, text (MB)" "$(awk -v m="${RSS[exitprof_j2]}" 'BEGIN { printf "%.1f", m / 1024 }')" "<" 64
target "exitprof -j 2 peak RSS, json (MB)" "$(awk -v m="${RSS[exitprof_json]}" 'BEGIN { printf "%.1f", m / 1024 }')" "<" 64
if ((QUICK)); then echo "  (--quick: a small file and one run; the ratios mean little)"; fi

# ---- correctness ----
"$X" report -i "$FILE" --reason "$REASON" --top 0 --format json >"$WORK/reason.json"
# The column: the first matching lines must have "rip" in field 11 (thread names with one space).
bad=0
if ((PIPELINE)); then
  bad=$(set +o pipefail; perf script -i "$FILE" 2>/dev/null | grep -m 1000 "reason $REASON" |
        awk '$11 != "rip" { bad++ } END { print bad + 0 }')
fi
if ((bad > 0)); then
  echo "warning: $bad of the first 1000 '$REASON' lines do not have the rip in field 12" \
       "(thread names with other than one space): the pipeline miscounts on this file"
fi
echo
echo "checks:"
python3 - "$WORK" "$REASON" "$PIPELINE" <<'EOF'
import json, os, re, sys
work, reason, with_pipeline = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
failed = False

# 0. -j 2 prints exactly what -j 1 prints (the outputs of the timed runs).
for a, b in (("exitprof_j1", "exitprof_j2"), ("latency_j1", "latency_j2")):
    if open(f"{work}/{a}.out").read() == open(f"{work}/{b}.out").read():
        print(f"  PASS {b} output == {a} output, byte for byte")
    else:
        failed = True
        print(f"  FAIL {b} output differs from {a} output")

# 1. The pipeline's per-rip counts against exitprof --reason R --top 0 by_rip.
pipe = {}
for line in (open(f"{work}/pipeline.out") if with_pipeline else []):
    parts = line.split()
    if len(parts) == 2:
        pipe[int(parts[1], 16)] = int(parts[0])
ours = {}
for row in json.load(open(f"{work}/reason.json"))["exits"]["by_rip"]:
    if row["reason"] == reason:
        ours[int(row["rip"], 16)] = ours.get(int(row["rip"], 16), 0) + row["count"]
if not with_pipeline:
    print("  (--no-pipeline: the pipeline check is left out)")
elif not pipe and not ours:
    failed = True
    print(f"  FAIL no '{reason}' exits in the recording (an AMD SVM recording? try --reason io)")
elif pipe == ours:
    print(f"  PASS pipeline == exitprof by_rip for {reason}: {len(ours)} rips, {sum(ours.values())} exits")
else:
    failed = True
    print(f"  FAIL pipeline != exitprof by_rip for {reason}")
    for rip in sorted(set(pipe) | set(ours)):
        if pipe.get(rip) != ours.get(rip):
            print(f"       {rip:#x}: pipeline {pipe.get(rip)}  exitprof {ours.get(rip)}")

# 2. perf kvm stat's total (and per reason) against exitprof's: reported, not failed.
full = json.load(open(f"{work}/exitprof_json.out"))
ex_total = full["exits"]["total"]
ex_reason = {r["reason"]: r["count"] for r in full["exits"]["by_reason"]}
threads = len(full["exits"].get("by_vcpu", []))
err = open(f"{work}/perfkvm.err").read()
m = re.search(r"Total Samples:\s*(\d+)", err)
if not m:
    failed = True
    print("  FAIL perf kvm stat printed no 'Total Samples:' line")
else:
    pk_total = int(m.group(1))
    pk_reason = {}
    for line in err.splitlines():
        r = re.match(r"\s*(\S+)\s+(\d+)\s+[\d.]+%\s", line)
        if r:
            pk_reason[r.group(1)] = int(r.group(2))
    diff = ex_total - pk_total
    print(f"  total exits: exitprof {ex_total}, perf kvm stat {pk_total} (difference {diff})")
    if diff == 0:
        print("  PASS perf kvm stat counts the same exits")
    elif diff == threads:
        print(f"  NOTE the difference equals the recording's {threads} vCPU threads: perf kvm stat learns a")
        print("       thread's vCPU from kvm_entry, so it drops each thread's exits before its first")
        print("       kvm_entry (here one exit each); exitprof counts every kvm_exit sample.")
    else:
        print(f"  NOTE difference {diff} with {threads} vCPU threads: perf kvm stat drops exits it cannot pair")
        print("       (before a thread's first kvm_entry, or with lost events); not treated as a failure")
    worse = {k: ex_reason.get(k, 0) - pk_reason.get(k, 0)
             for k in set(ex_reason) | set(pk_reason) if ex_reason.get(k, 0) != pk_reason.get(k, 0)}
    if worse:
        print("       per reason (exitprof - perf kvm): " + ", ".join(f"{k} {v:+d}" for k, v in sorted(worse.items())))
sys.exit(1 if failed else 0)
EOF
