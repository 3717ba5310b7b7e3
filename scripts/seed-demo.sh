#!/usr/bin/env bash
# The seed, end to end (what `exitprof demo --linux` runs): a real Linux guest (scripts/seed-guest.sh)
# under QEMU with KVM, virtio-blk and virtio-rng, recorded from the host with exitprof.
#   1. `exitprof record -- qemu ...`: every exit of the guest's life, and QEMU's device map (QMP);
#   2. `exitprof stat -1 -i`: KVM's exit counters for the VM, read while it still runs;
#   3. `exitprof report` with the guest's vmlinux (DWARF) and the KASLR offset from the guest's own
#      kallsyms: the exits are virtio-blk and virtio-rng queue notifies, at iowrite16;
#   4. the guest's own account and, from inside it, `exitprof probe --add vp_notify` + `record -g`:
#      the call paths into vp_notify from virtio-blk's request path and virtio-rng's read path.
# Usage: scripts/seed-demo.sh [--blocks N] [--bytes M] [--dir DIR] [--exitprof BIN] [--check] [--initrd FILE]
#   --blocks N   4 KiB blocks the guest reads with O_DIRECT (default 200)
#   --bytes M    bytes it draws from /dev/hwrng (default 4096)
#   --dir DIR    keep everything here (default: a new folder under /tmp)
#   --exitprof   the exitprof binary (default: the one next to this script's build/)
#   --check      only the check (JSON report, no text report, no call graph text): what tests/seed runs
#   --initrd F   the guest's initramfs, made beforehand by `seed-guest.sh initrd` (saves time in the lab)
# Needs root and a /dev/kvm whose kvm:kvm_exit fires (else run it in the lab:
# scripts/kvm-lab.sh -- build/exitprof demo --linux). Exit status: 0 when the checks hold, 1 when
# one does not, 3 when KVM stopped the guest with an internal error (nested SVM, now and then:
# run it again), 2 for anything else.
set -euo pipefail
die() { echo "seed-demo: $*" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
blocks=200 bytes=4096 dir="" exitprof=$here/../build/exitprof initrd="" check_only=0
while (($#)); do
  case $1 in
    --blocks) blocks=${2:?}; shift 2 ;;
    --bytes) bytes=${2:?}; shift 2 ;;
    --dir) dir=${2:?}; shift 2 ;;
    --exitprof) exitprof=${2:?}; shift 2 ;;
    --check) check_only=1; shift ;;
    --initrd) initrd=$(readlink -f "${2:?}"); shift 2 ;;
    -h|--help) sed -n '/^# Usage:/,/^# run it again/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $blocks =~ ^[1-9][0-9]*$ && $bytes =~ ^[1-9][0-9]*$ ]] || die "--blocks and --bytes take positive integers"
((blocks <= 16384)) || die "--blocks: at most 16384 (the guest's disk is 64 MiB)"
[[ -x $exitprof ]] || die "no exitprof binary at $exitprof (build it, or give --exitprof)"
exitprof=$(readlink -f "$exitprof")
[[ -w /dev/kvm ]] || die "/dev/kvm is not usable here (no KVM, or not root)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)"
if [[ -z $dir ]]; then dir=$(mktemp -d /tmp/exitprof-seed.XXXXXX); else mkdir -p "$dir"; fi
dir=$(readlink -f "$dir")

kdir=$("$here/seed-guest.sh" prepare)
vmlinux=$("$here/seed-guest.sh" vmlinux)
if [[ -n $initrd ]]; then cp "$initrd" "$dir/initrd.gz"; else "$here/seed-guest.sh" initrd "$exitprof" "$dir/initrd.gz"; fi
# QMP's unix socket lives on a local filesystem (not 9p, as DIR may be in the lab).
sock=$(mktemp -d /tmp/exitprof-seed-qmp.XXXXXX)/qmp.sock
trap 'rm -rf "$(dirname "$sock")"' EXIT
rm -f "$dir/disk.img" "$dir/channel.txt"
truncate -s 64M "$dir/disk.img"
ver=$(cat "$kdir/version")

echo "# exitprof demo --linux: Debian's $ver as a KVM guest with virtio-blk and virtio-rng"
echo "# The guest reads $blocks blocks of 4 KiB with O_DIRECT from /dev/vda and draws $bytes bytes from /dev/hwrng."
echo "# Everything is kept in $dir"
echo "#"
qemu=(qemu-system-x86_64 -enable-kvm -cpu host -m 512 -smp 1 -name seed -display none -vga none -monitor none
  -no-reboot -nic none -kernel "$kdir/vmlinuz" -initrd "$dir/initrd.gz"
  -append "console=ttyS0 quiet loglevel=3 panic=-1 seed.blocks=$blocks seed.bytes=$bytes seed.linger=5 seed.callgraph=$((1 - check_only))"
  -drive "file=$dir/disk.img,if=none,id=disk0,format=raw" -device virtio-blk-pci,drive=disk0,id=blk0
  -device virtio-rng-pci,id=rng0 -serial "file:$dir/console.txt" -serial "file:$dir/channel.txt"
  -qmp "unix:$sock,server=on,wait=off")
"$exitprof" record -o "$dir/host.data" -- "${qemu[@]}" >"$dir/record.txt" 2>&1 &
rec=$!
# stat while the VM still runs: the guest lingers a few seconds after its last line.
internal=0
for _ in $(seq 1200); do
  grep -q '^SEED-DONE' "$dir/channel.txt" 2>/dev/null && break
  kill -0 $rec 2>/dev/null || break
  if grep -q 'KVM internal error' "$dir/record.txt"; then
    # QEMU pauses a guest KVM stopped with an internal error: end it through QMP.
    internal=1
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.recv(4096)
s.sendall(b"{\"execute\":\"qmp_capabilities\"}\n"); s.recv(4096); s.sendall(b"{\"execute\":\"quit\"}\n"); s.recv(4096)' "$sock" || true
    break
  fi
  sleep 0.5
done
"$exitprof" stat -1 -i -g seed -f 'exits|io_exits|mmio_exits|halt_exits|irq_exits|signal_exits' >"$dir/stat.txt" 2>&1 || true
"$exitprof" stat -1 -i -g seed --json >"$dir/stat.json" 2>/dev/null || true
wait $rec || ((internal)) || { cat "$dir/record.txt" >&2; die "exitprof record failed (its output: $dir/record.txt)"; }
if ((internal)); then
  grep -A3 'KVM internal error' "$dir/record.txt" >&2
  echo "seed-demo: KVM stopped the guest with an internal error (nested SVM does now and then): run it again" >&2
  exit 3
fi

section() { sed -n "/^SEED-$1-BEGIN/,/^SEED-$1-END/{/^SEED-$1-/d;p}" "$dir/channel.txt"; }
section KALLSYMS >"$dir/guest.kallsyms"
section CALLGRAPH >"$dir/guest-callgraph.txt"
section FOLDED >"$dir/guest-folded.txt"
# A guest that stops before its end under nested SVM (seen once in a few lab runs, its serial
# channel cut short) is, like an internal error, status 3: run it again.
grep -q '^SEED-DONE' "$dir/channel.txt" || { cat "$dir/channel.txt" "$dir/console.txt" >&2; echo "seed-demo: the guest did not finish (its output above)" >&2; exit 3; }

echo "## On the host: exitprof stat -1 -i -g seed (KVM's counters for the VM, since it started)"
cat "$dir/stat.txt"
echo
report=("$exitprof" report -i "$dir/host.data" --kallsyms "$dir/guest.kallsyms" --vmlinux "$vmlinux")
if ((!check_only)); then
  echo "## On the host: exitprof report --by reason (the top 8)"
  "${report[@]}" --by reason | awk 'NR <= 3 || (/^#/ && NR > 4) || n++ < 8'
  echo
  echo "## On the host: exitprof report --by device (the device map QEMU gave over QMP), the top 6 and the queue notifies"
  "${report[@]}" --by device | awk 'NR > 4 && (/^#/ || n++ < 6 || /queue notify/)'
  echo
  echo "## On the host: exitprof report --reason npf --by rip --top 3 --kallsyms guest.kallsyms --vmlinux vmlinux-$ver"
  "${report[@]}" --reason npf --by rip --top 3 | awk 'NR == 4 || NR > 5'
  echo
fi
"${report[@]}" --format json >"$dir/report.json"
# The notify exits (kvm_exit, then kvm_mmio on the same thread), for the check's RIP join.
"$exitprof" script -i "$dir/host.data" | grep -E 'kvm:kvm_exit: .* reason npf |kvm:kvm_mmio: mmio write ' >"$dir/script.txt" || true
if ((!check_only)); then
  echo "## In the guest: exitprof probe --add vp_notify; exitprof record -e probe:vp_notify -g -a; exitprof report --callgraph"
  cat "$dir/guest-callgraph.txt"
fi
echo "## The guest's own account"
grep -E '^SEED-(ACCOUNT|VDA-STAT|RECORD|ERROR|T )' "$dir/channel.txt" | sed 's/^SEED-/  /'
echo
status=0; python3 "$here/seed-check.py" "$dir" "$blocks" "$bytes" || status=1
exit $status
