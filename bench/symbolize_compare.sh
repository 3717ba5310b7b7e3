#!/usr/bin/env bash
# bench/symbolize_compare.sh: `exitprof symbolize -f -i` side by side with GNU addr2line -f -i
# and llvm-symbolizer -f -i, in one run, on the same distinct addresses, and a check that the
# answers agree (lines that differ are counted and shown).
#
# Usage: bench/symbolize_compare.sh [--quick] [--count N] [--vmlinux FILE] [--build DIR] [--keep]
#   default    a real kernel with DWARF: /usr/lib/debug/boot/vmlinux-* (Debian's
#              linux-image-amd64-dbg, installed here with apt-get when missing: ~860 MB
#              download, 5.6 GB installed), N = 20,000 distinct addresses inside its functions
#   --quick    a small program compiled here with g++ -g -O2 (for CI: a second or two)
#   --count N  how many distinct addresses (default 20000)
#   --vmlinux  another ELF with DWARF to use
#   --build    build directory holding exitprof (default: build/)
#   --keep     keep the temporary directory (addresses and every tool's output)
# Times are wall seconds and CPU seconds (user+sys) of one run each with the page cache warm;
# on a shared, busy machine CPU seconds are the steadier figure.
# Exit status: 0 when exitprof agrees with addr2line (apart from the differences listed in
# docs/SYMBOLIZE.md), 1 when not, 2 on usage. Speed targets are reported, not enforced.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${EXITPROF_BUILD:-$ROOT/build}
COUNT=20000
QUICK=0
KEEP=0
ELF=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --count) COUNT="${2:?--count needs a number}"; shift 2 ;;
    --vmlinux) ELF="${2:?--vmlinux needs a file}"; shift 2 ;;
    --build) BUILD="${2:?--build needs a directory}"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "symbolize_compare.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
EXITPROF=$BUILD/exitprof
[[ -x $EXITPROF ]] || { echo "symbolize_compare.sh: $EXITPROF not built (cmake --build build --target exitprof)" >&2; exit 2; }
LLVM=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
command -v addr2line >/dev/null || { echo "symbolize_compare.sh: needs GNU addr2line (binutils)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/exitprof-symbolize-bench.XXXXXX)
cleanup() { if [[ $KEEP -eq 1 ]]; then echo "kept: $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT

if [[ $QUICK -eq 1 ]]; then
  cat > "$TMP/a.cc" <<'SRC'
#include <cstdio>
static inline int sq(int x) { return x * x; }
inline int tw(int x) { return 2 * x + (x & 1); }
static int helper(int n) { int s = 0; for (int i = 0; i < n; ++i) s += sq(i) + tw(i); return s; }
int main(int argc, char**) { int t = 0; for (int i = 0; i < argc * 50; ++i) t += helper(i); std::printf("%d\n", t); }
SRC
  g++ -g -O2 "$TMP/a.cc" -o "$TMP/prog"
  ELF=$TMP/prog
  COUNT=0  # every address of the program's functions
elif [[ -z $ELF ]]; then
  ELF=$(ls /usr/lib/debug/boot/vmlinux-* 2>/dev/null | sort -V | tail -1 || true)
  if [[ -z $ELF ]]; then
    echo "symbolize_compare.sh: installing Debian's kernel debug image (linux-image-amd64-dbg) for a real vmlinux with DWARF"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq linux-image-amd64-dbg >/dev/null
    ELF=$(ls /usr/lib/debug/boot/vmlinux-* | sort -V | tail -1)
  fi
fi

# Distinct addresses inside sized function symbols, chosen with a fixed seed.
nm -S "$ELF" | awk '$3 ~ /^[tTwW]$/ && NF == 4 {print $1, $2}' > "$TMP/syms"
python3 - "$TMP/syms" "$COUNT" "$TMP/addrs" <<'PY'
import random, sys
syms = [(int(a, 16), int(s, 16)) for a, s in (l.split() for l in open(sys.argv[1])) if int(s, 16) > 0]
count = int(sys.argv[2])
r = random.Random(20240601)
if count == 0:
    addrs = sorted({a + o for a, s in syms for o in range(s)})
else:
    chosen = set()
    while len(chosen) < count:
        a, s = r.choice(syms)
        chosen.add(a + r.randrange(s))
    addrs = list(chosen)
    r.shuffle(addrs)
open(sys.argv[3], "w").write("".join("0x%x\n" % a for a in addrs))
PY
N=$(wc -l < "$TMP/addrs")
echo "# symbolize_compare: $N distinct addresses in $ELF ($(du -h "$ELF" | cut -f1)), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# One timed run: "wall cpu" seconds.
timed() {
  local out=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$TMP/time" "$@" < "$TMP/addrs" > "$out" 2> "$TMP/stderr" || true
  awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$TMP/time"
}
# Warm the page cache for everyone.
cat "$ELF" > /dev/null

read -r ep_wall ep_cpu < <(timed "$TMP/exitprof.out" "$EXITPROF" symbolize -e "$ELF" -f -i)
read -r a2l_wall a2l_cpu < <(timed "$TMP/addr2line.out" addr2line -e "$ELF" -f -i)
llvm_wall=""; llvm_cpu=""
if [[ -n $LLVM ]]; then
  read -r llvm_wall llvm_cpu < <(timed "$TMP/llvm.out" "$LLVM" --obj="$ELF" -f -i)
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
printf "%-22s %10s %10s %14s %14s\n" "tool" "wall s" "cpu s" "wall ratio" "cpu ratio"
printf "%-22s %10s %10s %14s %14s\n" "exitprof symbolize" "$ep_wall" "$ep_cpu" "1.0x" "1.0x"
printf "%-22s %10s %10s %14s %14s\n" "GNU addr2line" "$a2l_wall" "$a2l_cpu" "$(ratio "$a2l_wall" "$ep_wall")" "$(ratio "$a2l_cpu" "$ep_cpu")"
if [[ -n $LLVM ]]; then
  printf "%-22s %10s %10s %14s %14s\n" "$(basename "$LLVM")" "$llvm_wall" "$llvm_cpu" "$(ratio "$llvm_wall" "$ep_wall")" "$(ratio "$llvm_cpu" "$ep_cpu")"
fi

# Agreement. addr2line names a C++ function after its ELF symbol only the first time it meets
# it (docs/SYMBOLIZE.md), so the exact comparison is with its warm answers: the list asked
# twice, the second half kept. The timed (cold) run is compared too, for the record.
lines=$(wc -l < "$TMP/exitprof.out")
cat "$TMP/addrs" "$TMP/addrs" | addr2line -e "$ELF" -f -i | tail -n "$lines" > "$TMP/addr2line.warm"
warm_diff=$(diff "$TMP/addr2line.warm" "$TMP/exitprof.out" | grep -c '^<' || true)
cold_diff=$(diff "$TMP/addr2line.out" "$TMP/exitprof.out" | grep -c '^<' || true)
echo "# agreement with addr2line: $lines lines; differing: $warm_diff (warm addr2line), $cold_diff (its timed cold run)"
if [[ -n $LLVM ]]; then
  # llvm-symbolizer prints file:line:column and a blank line after each address; compare the
  # function and file:line lines.
  sed -e '/^$/d' -e 's/^\(.*:[0-9]*\):[0-9]*$/\1/' -e 's/ (discriminator [0-9]*)$//' "$TMP/llvm.out" > "$TMP/llvm.norm"
  sed -e 's/ (discriminator [0-9]*)$//' "$TMP/exitprof.out" > "$TMP/exitprof.norm"
  llvm_diff=$(diff "$TMP/llvm.norm" "$TMP/exitprof.norm" | grep -c '^<' || true)
  echo "# agreement with $(basename "$LLVM") (function and file:line lines, columns and discriminators dropped): $(wc -l < "$TMP/llvm.norm") vs $lines lines; differing: $llvm_diff"
fi
if [[ $warm_diff -gt 0 ]]; then
  diff "$TMP/addr2line.warm" "$TMP/exitprof.out" | head -20
fi
# Known: at most 1 differing line in 10,000 (docs/SYMBOLIZE.md lists them).
if [[ $((warm_diff * 10000)) -gt $lines ]]; then
  echo "symbolize_compare.sh: exitprof differs from addr2line on $warm_diff of $lines lines" >&2
  exit 1
fi
