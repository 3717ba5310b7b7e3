#!/usr/bin/env bash
# bench/device_attribution.sh: what device attribution costs `exitprof report`, side by side
# in one run, on one recording with the page cache warm (best of N wall seconds):
#   perf script | awk  perf script -i F | awk: port counts as a user gets them today (no devices)
#   report             exitprof report -i F --format json        (no device map: fixed names)
#   report + devices   exitprof report -i F --format json --device-map M   (every port and MMIO
#                      row attributed to device, BAR, register)
# and prints the ratio and the extra cost per exit. Checks in the same run that both reports
# count the same port and MMIO accesses, and that the attributed one named the rows.
# M is a device map kept by `exitprof record` of tests/devices/guest.S under QEMU 7.2
# (tests/data/devices/qemu-guest.devices.json).
#
# Usage: bench/device_attribution.sh [--quick] [--exits N] [--reps N] [--build DIR] [FILE]
#   FILE      an existing recording; without it exitprof-gen writes one (2,000,000 exits)
#   --quick   50,000 exits, one timed run, no perf (for scripts/test.sh)
# Exit status: 0 when the checks pass (timings are reported, not enforced), 1 when one fails.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${EXITPROF_BUILD:-$ROOT/build}
EXITS=2000000
REPS=3
QUICK=0
FILE=""
MAP=$ROOT/tests/data/devices/qemu-guest.devices.json
die() { echo "device_attribution.sh: $*" >&2; exit 2; }
while (($#)); do
  case $1 in
    --quick) QUICK=1; EXITS=50000; REPS=1 ;;
    --exits) EXITS=${2:?--exits needs a number}; shift ;;
    --reps) REPS=${2:?--reps needs a number}; shift ;;
    --build) BUILD=${2:?--build needs a directory}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z $FILE ]] || die "one FILE only"; FILE=$1 ;;
  esac
  shift
done
[[ -x $BUILD/exitprof ]] || die "$BUILD/exitprof not built"

TMP=$(mktemp -d /tmp/exitprof-devbench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
if [[ -z $FILE ]]; then
  [[ -x $BUILD/exitprof-gen ]] || die "$BUILD/exitprof-gen not built"
  FILE=$TMP/gen.data
  "$BUILD/exitprof-gen" --formats "$ROOT/tests/data/formats" -o "$FILE" --exits "$EXITS" >/dev/null
fi
cat "$FILE" >/dev/null  # warm the page cache

# Best wall time of REPS runs of a shell command, in seconds.
best() {
  local best_s="" start end s
  for ((i = 0; i < REPS; i++)); do
    start=$EPOCHREALTIME
    bash -c "$1" >/dev/null
    end=$EPOCHREALTIME
    s=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }')
    if [[ -z $best_s ]] || awk -v s="$s" -v b="$best_s" 'BEGIN { exit !(s < b) }'; then best_s=$s; fi
  done
  echo "$best_s"
}

plain="'$BUILD/exitprof' report -i '$FILE' --format json"
mapped="$plain --device-map '$MAP'"
bash -c "$plain" >"$TMP/plain.json"
bash -c "$mapped" >"$TMP/mapped.json"
t_plain=$(best "$plain")
t_mapped=$(best "$mapped")
t_perf=""
if [[ $QUICK -eq 0 ]] && command -v perf >/dev/null; then
  t_perf=$(best "perf script -i '$FILE' 2>/dev/null | awk '/kvm_pio/ { n[\$(NF-6)]++ } END { for (p in n) print n[p], p }'")
fi

python3 - "$TMP/plain.json" "$TMP/mapped.json" "$t_plain" "$t_mapped" "${t_perf:-}" "$FILE" <<'PY'
import json, sys
plain, mapped = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
t_plain, t_mapped, t_perf, path = float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
exits = plain["exits"]["total"] or sum(r["count"] for r in plain["userspace_exits"])
rows = lambda r, k: sorted((x.get("port", x.get("gpa")), x["count"]) for x in r[k])
ok = rows(plain, "pio") == rows(mapped, "pio") and rows(plain, "mmio") == rows(mapped, "mmio")
named = sum(1 for k in ("pio", "mmio") for x in mapped[k] if x["device"] is not None)
print(f"# device attribution: {path} ({exits} exits, {len(plain['pio'])} port rows, {len(plain['mmio'])} MMIO rows)")
if t_perf:
    print(f"  perf script | awk (ports, no devices) {float(t_perf):8.3f} s")
print(f"  exitprof report (no device map)       {t_plain:8.3f} s")
print(f"  exitprof report --device-map          {t_mapped:8.3f} s   ratio {t_mapped / t_plain:.3f}, "
      f"{(t_mapped - t_plain) * 1e9 / max(exits, 1):+.1f} ns per exit")
if t_perf:
    print(f"  exitprof report --device-map is {float(t_perf) / t_mapped:.1f}x faster than perf script | awk")
print(f"  check: same port/MMIO counts with and without the map: {'yes' if ok else 'NO'}; rows named by the map: {named}")
sys.exit(0 if ok and named > 0 else 1)
PY
