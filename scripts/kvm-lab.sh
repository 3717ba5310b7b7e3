#!/usr/bin/env bash
# exitprof's KVM lab: a real KVM host booted under QEMU TCG, for machines whose own /dev/kvm is
# missing or does not fire kvm:kvm_exit (PVM backends).
#
# QEMU's `-cpu max` emulates AMD SVM with nested paging, so Debian's own kernel (the current
# dependency of linux-image-amd64, fetched with apt-get download; never a pinned version) loads
# kvm + kvm-amd and runs guests for real: kvm_exit and kvm_entry fire with SVM reason names.
# This machine's root is shared read-only over 9p, with a tmpfs overlay on top so the lab can
# write anywhere (its writes vanish with it); directories given with --rw are shared writable at
# the same path. Commands run chrooted into that root as root, in the directory they were started
# from, with proc, sys, dev, tracefs, debugfs and bpffs mounted.
#
# Usage:
#   scripts/kvm-lab.sh [OPTIONS] -- COMMAND [ARGS...]   run COMMAND in the lab; exit with its status
#   scripts/kvm-lab.sh [OPTIONS] shell                  an interactive root shell (exit or Ctrl-D ends it)
#   scripts/kvm-lab.sh prepare                          fetch and build the lab kernel/initrd only
#   scripts/kvm-lab.sh check                            print why the lab cannot run here, or "ok"
# Options:
#   --smp N        lab CPUs (default 3; keep busy guest vCPUs below it)
#   --mem MB       lab memory (default 3072)
#   --timeout S    stop the lab after S seconds (default 1800); status 124 then
#   --rw DIR       share DIR writable at the same path (repeatable); results written elsewhere vanish
#   --console      show the whole serial console (kernel messages included), not just the command's
#   --idle S       stop the lab when its console has been silent for S seconds (a wedged lab); 124
#   --log FILE     keep the whole serial console (kernel warnings included) in FILE
# Environment: EXITPROF_LAB_CACHE (default /var/cache/exitprof-lab) keeps the kernel and initrd.
set -euo pipefail

usage() { sed -n '/^# Usage:/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
die() { echo "kvm-lab: $*" >&2; exit 2; }

smp=${KVMLAB_SMP:-3} mem=${KVMLAB_MEM:-3072} limit=1800 idle=0 conlog="" console=0 mode="" rw=()
while (($#)); do
  case $1 in
    --smp) smp=${2:?}; shift 2 ;;
    --mem) mem=${2:?}; shift 2 ;;
    --timeout) limit=${2:?}; shift 2 ;;
    --rw) rw+=("$(readlink -f "${2:?}")"); shift 2 ;;
    --console) console=1; shift ;;
    --idle) idle=${2:?}; shift 2 ;;
    --log) conlog=${2:?}; shift 2 ;;
    --) shift; mode=run; break ;;
    shell|prepare|check) mode=$1; shift; break ;;
    -h|--help) usage ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ -n $mode ]] || usage
[[ $mode != run || $# -gt 0 ]] || die "no command after --"
[[ $smp =~ ^[1-9][0-9]*$ && $mem =~ ^[1-9][0-9]*$ && $limit =~ ^[1-9][0-9]*$ && $idle =~ ^[0-9]+$ ]] || die "--smp, --mem, --timeout and --idle take positive integers"

cache=${EXITPROF_LAB_CACHE:-/var/cache/exitprof-lab}
. "$(dirname "$0")/lib/debian-kernel.sh"

check() {
  [[ $(id -u) -eq 0 ]] || { echo "the lab needs root (its 9p root share and chroot)"; return 1; }
  return 0
}

# Modules the lab needs, in load order: virtio + 9p for the shares, overlay for a writable root,
# kvm + kvm-amd for the point of it all.
modules="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
  drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci fs/netfs/netfs fs/fscache/fscache
  net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay virt/lib/irqbypass
  drivers/crypto/ccp/ccp arch/x86/kvm/kvm arch/x86/kvm/kvm-amd"

write_init() {  # the lab's PID 1 (busybox sh); reads its orders from the kernel command line
  cat <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
arg() { sed -n "s/.*exitprof.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
for m in $(cat /mod/order); do insmod /mod/$m.ko 2>/dev/null || echo "kvm-lab: insmod $m failed"; done
ip link set lo up
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose hostroot /lower || echo "kvm-lab: 9p root failed"
mount -t tmpfs -o size=75% upper /rw && mkdir -p /rw/up /rw/work
if ! mount -t overlay -o lowerdir=/lower,upperdir=/rw/up,workdir=/rw/work overlay /host 2>/dev/null; then
  echo "kvm-lab: no overlay over 9p; the root stays read-only"; mount --bind /lower /host
fi
mount -t 9p -o trans=virtio,version=9p2000.L ctl /ctl || echo "kvm-lab: 9p ctl failed"
mount -t proc proc /host/proc; mount -t sysfs sys /host/sys; mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm; mount -t devpts devpts /host/dev/pts; mount -t tmpfs shm /host/dev/shm
mount -t tracefs nodev /host/sys/kernel/tracing; mount -t debugfs nodev /host/sys/kernel/debug
mount -t bpf bpf /host/sys/fs/bpf 2>/dev/null
mount -t tmpfs run /host/run; mount -t tmpfs tmp /host/tmp
mkdir -p /host/run/exitprof-lab && mount --bind /ctl /host/run/exitprof-lab
# Writable shares last, so that one under /tmp or /run is not hidden by their tmpfs.
i=0
for d in $(arg rw | tr ',' ' '); do
  mkdir -p /host$d 2>/dev/null; mount -t 9p -o trans=virtio,version=9p2000.L rw$i /host$d || echo "kvm-lab: 9p share $d failed"
  i=$((i+1))
done
hostname kvm-lab
echo EXITPROF-LAB-READY
if [ "$(arg mode)" = shell ]; then
  chroot /host /usr/bin/setsid -c /bin/bash -c "cd $(arg cwd) 2>/dev/null; exec bash -i" </dev/ttyS0 >/dev/ttyS0 2>&1
else
  chroot /host /bin/bash -c "cd $(arg cwd) && . /run/exitprof-lab/env && bash /run/exitprof-lab/job" </dev/null
  echo "$?" >/ctl/rc
fi
sync; poweroff -f
INIT
}

prepare() {  # prints the cache folder of the current kernel, building it when missing
  need qemu-system-x86_64 qemu-system-x86; need cpio cpio; need busybox busybox-static
  local ver dir here tmp M m order=""
  ver=$(debian_kernel_version amd64)
  here=$( (write_init; echo "$modules") | md5sum | cut -c1-8)
  dir=$cache/$ver-$here
  if [[ ! -s $dir/initrd.gz ]]; then
    echo "kvm-lab: preparing the lab kernel $ver in $dir" >&2
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' RETURN
    mkdir -p "$tmp"/deb "$tmp"/ir/{bin,proc,sys,dev,mod,lower,rw,host,ctl}
    download "linux-image-$ver" "$tmp/deb"
    dpkg-deb -x "$tmp"/deb/*.deb "$tmp/x"
    M=$(echo "$tmp"/x/lib/modules/*/kernel)
    for m in $modules; do
      cp "$M/$m.ko" "$tmp/ir/mod/" 2>/dev/null || die "linux-image-$ver has no $m.ko"
      order="$order $(basename "$m")"
    done
    echo "$order" >"$tmp/ir/mod/order"
    cp "$(command -v busybox)" "$tmp/ir/bin/busybox"
    for a in sh mount insmod chroot poweroff mkdir echo ip sed cat tr sync hostname; do ln -s busybox "$tmp/ir/bin/$a"; done
    write_init >"$tmp/ir/init"; chmod +x "$tmp/ir/init"
    mkdir -p "$dir.new"
    cp "$tmp"/x/boot/vmlinuz-* "$dir.new/vmlinuz"; cp "$tmp"/x/boot/System.map-* "$dir.new/System.map"
    (cd "$tmp/ir" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$dir.new/initrd.gz")
    rm -rf "$dir" && mv "$dir.new" "$dir"
  fi
  echo "$dir"
}

case $mode in
  check) if why=$(check); then echo ok; else echo "$why"; exit 1; fi; exit 0 ;;
  prepare) prepare; exit 0 ;;
esac
why=$(check) || die "$why"
kdir=$(prepare)
here=$(cd "$(dirname "$0")" && pwd -P)

ctl=$(mktemp -d "${TMPDIR:-/tmp}/exitprof-lab.XXXXXX")
trap 'rm -rf "$ctl"' EXIT
cwd=$(pwd -P)
shares=() i=0 rwlist=""
for d in "${rw[@]}"; do
  [[ -d $d ]] || die "--rw $d is not a directory"
  shares+=(-virtfs "local,path=$d,mount_tag=rw$i,security_model=none,multidevs=remap")
  rwlist+="${rwlist:+,}$d"; i=$((i + 1))
done
append="console=ttyS0 quiet loglevel=4 panic=-1 exitprof.cwd=$cwd exitprof.rw=$rwlist exitprof.mode=$mode"

# The job: the command, quoted as given, with the caller's useful environment.
if [[ $mode == run ]]; then
  { printf 'export TMPDIR=/tmp EXITPROF_LAB=1 HOME=/root PATH=%q\n' "$PATH"
    for v in CI EXITPROF_FUZZ_SECONDS EXITPROF_REQUIRE_LIVE GTEST_FILTER; do
      [[ -n ${!v:-} ]] && printf 'export %s=%q\n' "$v" "${!v}"
    done; true; } >"$ctl/env"
  { printf 'bash %q </dev/null &\n' "$here/lib/lab-watch.sh"; printf '%q ' "$@"; echo; } >"$ctl/job"
fi

qemu=(qemu-system-x86_64 -accel tcg -cpu max -m "$mem" -smp "$smp" -kernel "$kdir/vmlinuz"
  -initrd "$kdir/initrd.gz" -nographic -no-reboot -nic none -append "$append"
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
  -virtfs "local,path=$ctl,mount_tag=ctl,security_model=none" "${shares[@]}")

if [[ $mode == shell ]]; then
  echo "kvm-lab: booting (about 20-60 s); 'exit' leaves the lab" >&2
  exec timeout --foreground "$limit" "${qemu[@]}"
fi

# The whole console goes to the log (kernel lines included: "quiet loglevel=4" keeps warnings
# and worse); the caller sees the command's output, or everything with --console. The watcher's
# heartbeat (scripts/lib/lab-watch.sh) stays in the log only; $ctl/progress gets the rest, so its
# age is the job's silence and the log's age the lab's.
conlog=${conlog:-$ctl/console.log}
: >"$conlog"
show='/EXITPROF-LAB-READY$/,${/EXITPROF-LAB-READY$/d;/^\[ *[0-9.]*\] /d;p}'
((console)) && show='p'
status=0
{ timeout "$limit" "${qemu[@]}" </dev/null 2>&1 & echo $! >"$ctl/pid"; wait $!; echo $? >"$ctl/status"; } |
  sed -u 's/\r//g' | tee -a "$conlog" | grep -av --line-buffered '^kvm-lab-hb' | tee "$ctl/progress" | sed -u -n "$show" &
pipe=$!
age() { echo $(($(date +%s) - $(stat -c %Y "$1"))); }
stop() {  # stop the lab; its last kernel lines and why go to stderr and the log
  { echo "kvm-lab: $*: stopping it; its last kernel lines:"; grep -a '^\[ *[0-9.]*\] ' "$conlog" | tail -20; } | tee -a "$conlog" >&2 || true
  kill "$(cat "$ctl/pid")" 2>/dev/null; touch "$ctl/idle"
}
while ((idle)) && kill -0 $pipe 2>/dev/null; do
  sleep 5
  [[ -e $ctl/progress ]] || continue
  if grep -aq '^kvm-lab-hb' "$conlog" && (($(age "$conlog") > 90)); then
    # No heartbeat for 90 s: the emulated machine itself stopped. Where QEMU's threads are tells
    # an emulator deadlock from a guest spinning.
    { echo "kvm-lab: QEMU's threads after 90 s without a heartbeat:"
      gdb -p "$(pgrep -P "$(cat "$ctl/pid")" -x qemu-system-x86_64 || cat "$ctl/pid")" -batch -ex 'info threads' -ex 'thread apply all bt 12' 2>&1 | grep -a '^#\|^Thread\|^ *[0-9]* *Thread' ; } >>"$conlog" 2>&1
    stop "the lab froze (no heartbeat for 90 s)"
    break
  fi
  if (($(age "$ctl/progress") > idle)); then
    touch "$ctl/dump"; sleep 25  # the watcher prints the lab's processes and kernel stacks
    stop "the job printed nothing for ${idle}s (hung?)"
    break
  fi
done
wait $pipe || true
status=$(cat "$ctl/status" 2>/dev/null || echo 125)
[[ -e $ctl/idle ]] && status=124
if [[ -s $ctl/rc ]]; then exit "$(cat "$ctl/rc")"; fi
echo "kvm-lab: the lab ended without the command's status (timeout after ${limit}s, or a crash); its last kernel lines:" >&2
grep -a '^\[ *[0-9.]*\] ' "$conlog" | tail -10 >&2 || true
exit $((status ? status : 125))
