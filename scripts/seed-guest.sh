#!/usr/bin/env bash
# The seed guest: a real Linux guest (Debian's cloud kernel, the current dependency of
# linux-image-cloud-amd64, never a pinned version) with a small initramfs of ours, for
# `exitprof demo --linux` and tests/seed.
#
# The guest loads virtio-pci, virtio-blk and virtio-rng from the kernel package, then (when
# exitprof is in its initramfs) adds a kprobe on vp_notify and records it with callchains while
# it reads BLOCKS 4 KiB blocks with O_DIRECT from /dev/vda and draws BYTES bytes from
# /dev/hwrng (virtio-rng). It writes its own account to its second serial port (ttyS1): the
# blocks read, the bytes drawn, /sys/block/vda/stat, the kallsyms lines the host needs for the
# KASLR offset, and the call graph into vp_notify. Then it powers off.
#
# Usage:
#   scripts/seed-guest.sh prepare                 fetch and build what the guest needs; prints the folder
#   scripts/seed-guest.sh initrd EXITPROF OUT     OUT = the cached initramfs + EXITPROF and its libraries
#   scripts/seed-guest.sh vmlinux                 the guest kernel's DWARF vmlinux (fetched once); prints its path
# The folder (under EXITPROF_LAB_CACHE, default /var/cache/exitprof-lab) holds vmlinuz, base.cpio.gz
# and version. The vmlinux comes from linux-image-VERSION-dbg (283 MB): only the one file is kept.
set -euo pipefail

die() { echo "seed-guest: $*" >&2; exit 2; }
cache=${EXITPROF_LAB_CACHE:-/var/cache/exitprof-lab}
. "$(dirname "$0")/lib/debian-kernel.sh"
kernel_version() { debian_kernel_version cloud-amd64; }

# Modules in load order; virtio-rng last, once the vp_notify probe records.
modules="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
  drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk
  drivers/char/hw_random/virtio-rng"

write_init() {  # the guest's PID 1 (busybox sh); its orders come from the kernel command line
  cat <<'INIT'
#!/bin/sh
export PATH=/bin:/usr/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tracefs nodev /sys/kernel/tracing; mount -t debugfs nodev /sys/kernel/debug; mount -t tmpfs tmp /tmp
arg() { sed -n "s/.*seed\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
out=/dev/ttyS1
say() { echo "$*" >$out; }
mark() { say "SEED-T $(cut -d" " -f1 /proc/uptime) $*"; }
blocks=$(arg blocks); bytes=$(arg bytes)
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci; do
  insmod /mod/$m.ko || say "SEED-ERROR insmod $m failed"
done
say "SEED-BEGIN"
# The guest's own call graph into vp_notify (iowrite16, the notify itself, is notrace), from
# before the drivers load: every notify of virtio-blk and virtio-rng is in it.
rec=""
if [ -x /bin/exitprof ]; then
  exitprof probe --add vp_notify >/tmp/probe.out 2>&1 || say "SEED-ERROR probe: $(cat /tmp/probe.out)"
  exitprof record -e probe:vp_notify -g -a -o /tmp/guest.data >/tmp/record.out 2>&1 &
  rec=$!
  i=0; while [ ! -s /tmp/guest.data ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  sleep 1
fi
mark recording
insmod /mod/virtio_blk.ko || say "SEED-ERROR insmod virtio_blk failed"
i=0; while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
sleep 1  # the partition scan's read completes
stat0=$(cat /sys/block/vda/stat)
insmod /mod/virtio-rng.ko || say "SEED-ERROR insmod virtio-rng failed"
i=0; while [ ! -c /dev/hwrng ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
mark workload
dd if=/dev/vda of=/dev/null bs=4096 count="$blocks" iflag=direct 2>/tmp/dd.out || say "SEED-ERROR dd: $(cat /tmp/dd.out)"
read_blocks=$(sed -n 's/^\([0-9]*\)+[0-9]* records in$/\1/p' /tmp/dd.out)
dd if=/dev/hwrng of=/tmp/rng bs="$bytes" count=1 iflag=fullblock 2>/tmp/rng.out || say "SEED-ERROR rng: $(cat /tmp/rng.out)"
drawn=$(wc -c </tmp/rng)
stat1=$(cat /sys/block/vda/stat)
# Unbound before the recording stops: hwrng_fillfn draws from virtio-rng whenever the kernel's
# CRNG reseeds, and none of those may come after the recording. (Unbound, not unloaded: the
# guest's report still names virtio_rng's functions.)
for d in /sys/bus/virtio/drivers/virtio_rng/virtio*; do echo "${d##*/}" >/sys/bus/virtio/drivers/virtio_rng/unbind; done
if [ -n "$rec" ]; then sleep 1; kill -INT $rec; wait $rec; fi
mark recorded
say "SEED-ACCOUNT blocks_read=$read_blocks bytes_drawn=$drawn"
say "SEED-VDA-STAT-BEFORE $stat0"
say "SEED-VDA-STAT-AFTER $stat1"
say "SEED-KALLSYMS-BEGIN"
grep -E ' (_text|_stext|iowrite16|vp_notify|virtio_queue_rq|virtio_read)([[:space:]]|$)' /proc/kallsyms >$out
say "SEED-KALLSYMS-END"
if [ -n "$rec" ]; then
  say "SEED-RECORD $(tail -1 /tmp/record.out)"
  if [ "$(arg callgraph)" != 0 ]; then
    say "SEED-CALLGRAPH-BEGIN"
    exitprof report -i /tmp/guest.data --callgraph >$out 2>&1
    say "SEED-CALLGRAPH-END"
  fi
  say "SEED-FOLDED-BEGIN"
  exitprof report -i /tmp/guest.data --format folded >$out 2>&1
  say "SEED-FOLDED-END"
  exitprof probe -d 'probe:vp_notify' >/dev/null 2>&1
else
  say "SEED-ERROR no exitprof in the initramfs"
fi
mark reported
say "SEED-DONE"
# A moment for the host's `exitprof stat` to read the VM's counters.
sleep "$(arg linger)"
poweroff -f
INIT
}

prepare() {  # prints the cache folder of the current cloud kernel, building it when missing
  need cpio cpio; need busybox busybox-static
  local ver here dir tmp M m
  ver=$(kernel_version)
  here=$( (write_init; echo "$modules") | md5sum | cut -c1-8)
  dir=$cache/seed-$ver-$here
  if [[ ! -s $dir/base.cpio.gz ]]; then
    echo "seed-guest: preparing the guest kernel $ver in $dir" >&2
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' RETURN
    mkdir -p "$tmp"/deb "$tmp"/ir/{bin,proc,sys,dev,mod,tmp}
    download "linux-image-$ver" "$tmp/deb"
    dpkg-deb -x "$tmp"/deb/*.deb "$tmp/x"
    M=$(echo "$tmp"/x/lib/modules/*/kernel)
    for m in $modules; do cp "$M/$m.ko" "$tmp/ir/mod/" 2>/dev/null || die "linux-image-$ver has no $m.ko"; done
    cp "$(command -v busybox)" "$tmp/ir/bin/busybox"
    for a in sh mount insmod sed cat sleep dd wc grep tail kill poweroff; do ln -s busybox "$tmp/ir/bin/$a"; done
    write_init >"$tmp/ir/init"; chmod +x "$tmp/ir/init"
    mkdir -p "$dir.new"
    cp "$tmp"/x/boot/vmlinuz-* "$dir.new/vmlinuz"; echo "$ver" >"$dir.new/version"
    (cd "$tmp/ir" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$dir.new/base.cpio.gz")
    rm -rf "$dir" && mv "$dir.new" "$dir"
  fi
  echo "$dir"
}

initrd() {  # initrd EXITPROF OUT: the base archive with EXITPROF and its ldd closure appended
  local bin=$1 out=$2 dir tmp lib
  [[ -x $bin ]] || die "$bin is not an executable"
  dir=$(prepare)
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' RETURN
  mkdir -p "$tmp/bin"
  strip --strip-debug -o "$tmp/bin/exitprof" "$bin" 2>/dev/null || cp "$bin" "$tmp/bin/exitprof"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$tmp$(dirname "$lib")"; cp -L "$lib" "$tmp$lib"
  done
  (cd "$tmp" && find . -mindepth 1 | cpio -o -H newc 2>/dev/null | gzip -1 >"$tmp.cpio.gz")
  cat "$dir/base.cpio.gz" "$tmp.cpio.gz" >"$out"; rm -f "$tmp.cpio.gz"
}

vmlinux() {  # the DWARF vmlinux of the current cloud kernel, extracted once from its -dbg package
  local ver out tmp
  ver=$(kernel_version)
  out=$cache/dbg/vmlinux-$ver
  if [[ ! -s $out ]]; then
    echo "seed-guest: fetching linux-image-$ver-dbg (about 283 MB) for its vmlinux" >&2
    mkdir -p "$cache/dbg"; tmp=$(mktemp -d "$cache/dbg/tmp.XXXXXX"); trap 'rm -rf "$tmp"' RETURN
    download "linux-image-$ver-dbg" "$tmp"
    dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" "./usr/lib/debug/boot/vmlinux-$ver" ||
      die "linux-image-$ver-dbg has no usr/lib/debug/boot/vmlinux-$ver"
    mv "$tmp/usr/lib/debug/boot/vmlinux-$ver" "$out"
  fi
  echo "$out"
}

case ${1:-} in
  prepare) prepare ;;
  initrd) [[ $# -eq 3 ]] || die "usage: initrd EXITPROF OUT"; initrd "$2" "$3" ;;
  vmlinux) vmlinux ;;
  *) sed -n '/^# Usage:/,/^# The folder/p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
