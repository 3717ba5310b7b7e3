#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/, fuzzes each one for a
# bounded time over a scratch copy of its checked-in corpus (fuzz/corpus/<name>/), then
# replays the checked-in corpus. Exits non-zero if anything crashed, leaked, timed out or ran
# out of memory; the input that did it is kept under build-fuzz/fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh                       # 60 s per target
#   scripts/fuzz.sh --seconds 600 --target perfdata_fuzzer
#   scripts/fuzz.sh --replay-only         # only replay the corpus (a quick regression check)
# By default a target goes on after a crash (libFuzzer -fork=1 -ignore_crashes=1) so that one
# known bug does not end the run; every crashing input is kept.
#
# Needs (Debian 12): cmake, clang, libclang-rt-14-dev (libFuzzer and the sanitizer runtimes;
# clang only recommends it), llvm-14 (llvm-symbolizer, for readable stack traces), plus the
# project's own build dependencies.
# Reproduce a crash:  build-fuzz/fuzz/<target> <crash file>
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-fuzz"
SECONDS_PER_TARGET=60
JOBS=2
TARGETS=(perfdata_fuzzer tracing_data_fuzzer device_map_fuzzer elf_symbolizer_fuzzer kallsyms_fuzzer kvm_stats_fuzzer print_fmt_fuzzer tracedat_fuzzer probe_spec_fuzzer textcapture_fuzzer)
ONLY=()
BUILD_FIRST=1
FUZZ=1
KEEP_GOING=1

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<EOF
Options:
  --seconds N      fuzz each target for N seconds (default $SECONDS_PER_TARGET)
  --target NAME    only this target (repeatable): ${TARGETS[*]}
  --build-dir DIR  build directory (default build-fuzz)
  --jobs N         build parallelism (default $JOBS)
  --no-build       use the binaries already in the build directory
  --replay-only    skip fuzzing, only replay the checked-in corpus
  --stop-at-first  stop a target at its first crash (default: keep fuzzing for the whole
                   time in libFuzzer's -fork=1 mode, saving every crashing input)
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) SECONDS_PER_TARGET="${2:?--seconds needs a value}"; shift 2 ;;
    --seconds=*) SECONDS_PER_TARGET="${1#*=}"; shift ;;
    --target) ONLY+=("${2:?--target needs a value}"); shift 2 ;;
    --target=*) ONLY+=("${1#*=}"); shift ;;
    --build-dir) BUILD="$(realpath -m "${2:?--build-dir needs a value}")"; shift 2 ;;
    --jobs) JOBS="${2:?--jobs needs a value}"; shift 2 ;;
    --no-build) BUILD_FIRST=0; shift ;;
    --replay-only) FUZZ=0; shift ;;
    --stop-at-first) KEEP_GOING=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fuzz.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [[ "$SECONDS_PER_TARGET" -lt 1 ]]; then
  echo "fuzz.sh: --seconds wants a positive whole number, got '$SECONDS_PER_TARGET'" >&2
  exit 2
fi
if [[ ${#ONLY[@]} -gt 0 ]]; then
  for t in "${ONLY[@]}"; do
    [[ " ${TARGETS[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target '$t' (have: ${TARGETS[*]})" >&2; exit 2; }
  done
  TARGETS=("${ONLY[@]}")
fi

# ---- build ----
if [[ $BUILD_FIRST -eq 1 ]]; then
  CLANG="$(command -v clang || true)"
  CLANGXX="$(command -v clang++ || true)"
  if [[ -z "$CLANG" || -z "$CLANGXX" ]]; then
    echo "fuzz.sh: clang not found: apt-get install clang libclang-rt-14-dev llvm-14" >&2
    exit 2
  fi
  if [[ -f "$BUILD/CMakeCache.txt" ]] && ! grep -q '^CMAKE_CXX_COMPILER:.*clang++' "$BUILD/CMakeCache.txt"; then
    echo "fuzz.sh: $BUILD was configured with another compiler; remove it and run again" >&2
    exit 2
  fi
  CC="$CLANG" CXX="$CLANGXX" cmake -S "$ROOT" -B "$BUILD" -DEXITPROF_FUZZ=ON \
    -DEXITPROF_TESTS=OFF -DEXITPROF_BENCH=OFF >"$BUILD.configure.log" 2>&1 || {
    cat "$BUILD.configure.log" >&2
    echo "fuzz.sh: configuring $BUILD failed" >&2
    exit 2
  }
  rm -f "$BUILD.configure.log"
  cmake --build "$BUILD" -j "$JOBS" --target "${TARGETS[@]}"
fi
for t in "${TARGETS[@]}"; do
  [[ -x "$BUILD/fuzz/$t" ]] || { echo "fuzz.sh: $BUILD/fuzz/$t missing (build first)" >&2; exit 2; }
done

# ---- run ----
SYMBOLIZER="$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)"
[[ -z "$SYMBOLIZER" && -x /usr/lib/llvm-14/bin/llvm-symbolizer ]] && SYMBOLIZER=/usr/lib/llvm-14/bin/llvm-symbolizer
if [[ -n "$SYMBOLIZER" ]]; then
  export ASAN_SYMBOLIZER_PATH="$SYMBOLIZER"
else
  echo "fuzz.sh: warning: no llvm-symbolizer (apt-get install llvm-14): stack traces unsymbolized" >&2
fi
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Leaks made inside libtraceevent on malformed formats are not ours to fix (fuzz/lsan.supp).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/fuzz/lsan.supp:print_suppressions=0}"

SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/exitprof-fuzz.XXXXXX")"
trap 'rm -rf "$SCRATCH"' EXIT
FLAGS=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
SUMMARY=()
STATUS=0

# Runs: executed units in a libFuzzer log.
runs_in() {
  local n
  n="$(grep -ao 'stat::number_of_executed_units: [0-9]*' "$1" | tail -1 | awk '{print $2}')"
  [[ -z "$n" ]] && n="$(grep -aoE '^#[0-9]+' "$1" | tail -1 | tr -d '#')"
  echo "${n:-0}"
}

# Prints what went wrong in a libFuzzer log: each distinct sanitizer summary, then the first
# full report.
report_crash() {
  local log="$1" what="$2"
  echo "---- $what: $log ----"
  grep -a '^SUMMARY: \|ERROR: libFuzzer: ' "$log" | sort | uniq -c | sed 's/^/  /' || true
  sed -n '/ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:\|ERROR: libFuzzer/,/^SUMMARY/p' "$log" |
    grep -av '^  0x\|^Shadow\|^  [A-Z][a-z]' | head -60 || true  # head closes early: not a failure
}

# Replays each saved input, keeps its report beside it (FILE.txt) and groups the inputs by
# kind and top three stack frames, so that one bug found 20 times reads as one line.
# Prints the group lines; sets DISTINCT.
triage() {
  local bin="$1"; shift
  local f key groups=""
  for f in "$@"; do
    timeout 60 "$bin" -timeout=10 -rss_limit_mb=2048 "$f" >"$f.txt" 2>&1 || true
    key="$(
      {
        grep -aoE 'SUMMARY: [A-Za-z]+: [A-Za-z-]+|ERROR: libFuzzer: [a-z-]+|runtime error: [a-z -]+' "$f.txt" | head -1 || true
        grep -aE '^    #[0-9]+ ' "$f.txt" | grep -avE '__interceptor_|__sanitizer|libFuzzer|fuzzer::|__asan|__ubsan' |
          sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ (in )?//; s/ \(BuildId.*//; s/\(([^()]*\/)?([^/()]+)\+(0x[0-9a-f]+)\)/\2+\3/; s/\(.*//' |
          head -3 || true
      } | tr '\n' '|' | sed 's/|$//')"
    [[ -z "$key" ]] && key="(did not reproduce on replay)"
    groups+="$key"$'\t'"$f"$'\n'
  done
  DISTINCT="$(printf '%s' "$groups" | cut -f1 | sort -u | grep -c . || true)"
  printf '%s' "$groups" | sort | awk -F'\t' '
    $1 != last { if (n) printf "  %3d x %s\n        e.g. %s\n", n, last, first; last = $1; first = $2; n = 0 }
    { n++ } END { if (n) printf "  %3d x %s\n        e.g. %s\n", n, last, first }'
}

# Lists the crash inputs saved since the marker file was made.
new_artifacts() {
  find "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' -o -name 'slow-unit-*' \) ! -name '*.txt' -newer "$2" | sort
}

for t in "${TARGETS[@]}"; do
  bin="$BUILD/fuzz/$t"
  name="${t%_fuzzer}"
  corpus="$ROOT/fuzz/corpus/$name"
  [[ -d "$corpus" ]] || { echo "fuzz.sh: no corpus $corpus" >&2; exit 2; }
  artifacts="$BUILD/fuzz/artifacts/$t"
  mkdir -p "$artifacts"
  runs=0
  crashes=0
  crash_note=""

  if [[ $FUZZ -eq 1 ]]; then
    work="$SCRATCH/$name"
    mkdir -p "$work"
    cp -r "$corpus/." "$work/"
    # Real recordings by other tools (shared/realdata, beside the checkout) seed the perf.data
    # target too; they are read from there, not copied into the repository.
    if [[ $name == perfdata && -d "$ROOT/../shared/realdata/perf" ]]; then
      find "$ROOT/../shared/realdata/perf" -type f -size -70k -exec cp {} "$work/" \;
    fi
    # trace.dat: the real trace-cmd recordings (megabytes each: libFuzzer mutates their prefix).
    if [[ $name == tracedat && -d "$ROOT/../shared/realdata/trace-cmd" ]]; then
      find "$ROOT/../shared/realdata/trace-cmd" -type f -name '*.dat' -exec cp {} "$work/" \;
    fi
    log="$SCRATCH/$t.fuzz.log"
    marker="$SCRATCH/$t.marker"
    touch "$marker"
    mode=()
    [[ $KEEP_GOING -eq 1 ]] && mode=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
    echo "fuzz: $t for ${SECONDS_PER_TARGET}s (log $log while running)"
    set +e
    (cd "$SCRATCH" && timeout --kill-after=30 $((SECONDS_PER_TARGET + 300)) \
      "$bin" "${FLAGS[@]}" "${mode[@]}" -max_total_time="$SECONDS_PER_TARGET" \
      -artifact_prefix="$artifacts/" "$work") >"$log" 2>&1
    rc=$?
    set -e
    runs="$(runs_in "$log")"
    mapfile -t saved < <(new_artifacts "$artifacts" "$marker")
    crashes=${#saved[@]}
    if [[ $rc -ne 0 && $crashes -eq 0 ]]; then crashes=1; fi  # died without saving an input
    if [[ $crashes -gt 0 ]]; then
      STATUS=1
      keep="$artifacts/fuzz-$(date +%Y%m%d-%H%M%S).log"
      cp "$log" "$keep"
      if [[ ${#saved[@]} -gt 0 ]]; then
        echo "---- $t: $crashes crashing input(s) under $artifacts/ (log $keep), by kind and top frames:"
        triage "$bin" "${saved[@]}"
        crash_note=" ($DISTINCT distinct)"
        echo "fuzz: each input's report is beside it as FILE.txt; reproduce with: $bin FILE"
      else
        report_crash "$log" "$t (exit $rc)"
      fi
    fi
  fi

  # Replay the checked-in corpus: every seed must still go through cleanly.
  log="$SCRATCH/$t.replay.log"
  set +e
  "$bin" "${FLAGS[@]}" -runs=0 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
  rc=$?
  set -e
  if [[ $rc -ne 0 ]]; then
    crashes=$((crashes + 1))
    STATUS=1
    report_crash "$log" "$t replay of $corpus (exit $rc)"
    echo "fuzz: $t fails on the checked-in corpus; the input is saved under $artifacts/"
  fi
  runs=$((runs + $(runs_in "$log")))
  SUMMARY+=("fuzz: $t $runs runs, $crashes crashes$crash_note")
done

for line in "${SUMMARY[@]}"; do echo "$line"; done
exit "$STATUS"
