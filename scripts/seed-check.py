#!/usr/bin/env python3
"""The seed's check (scripts/seed-demo.sh prints it; tests/seed asserts its status): what the host
recorded against what the guest says it did and saw.

  seed-check.py DIR BLOCKS BYTES

DIR holds report.json (host report with the guest's vmlinux + kallsyms), script.txt (`exitprof
script` of the host recording), channel.txt (the guest's account) and guest-folded.txt (the
guest's own vp_notify call stacks). Exit status 0 when every line holds, 1 otherwise."""
import json
import re
import sys

RNG_CHUNK = 64  # the hwrng core reads in rng_buffer_size() = 64-byte requests, each one notify


def main():
    d, blocks, nbytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    report = json.load(open(f"{d}/report.json"))
    channel = open(f"{d}/channel.txt").read()

    # Host: queue-notify writes per device (the device map attributes them).
    host = {"virtio-blk-pci": 0, "virtio-rng-pci": 0}
    notify_gpas = {}
    for row in report.get("mmio", []):
        dev = row.get("device") or {}
        if "queue notify" in dev.get("register", "") and row.get("direction") == "write":
            host[dev["name"]] = host.get(dev["name"], 0) + row["count"]
            notify_gpas[int(row["gpa"], 16)] = dev["name"]

    # Host: the RIP of each notify exit (the kvm_exit before its kvm_mmio, same thread), named
    # through the report's guest symbols (vmlinux DWARF + KASLR offset from the guest's kallsyms).
    # RIPs below 1 MiB are the firmware's (SeaBIOS drives virtio-blk before the kernel boots).
    last_rip, notify_rips, kernel_notifies, firmware_notifies = {}, {}, {}, {}
    for line in open(f"{d}/script.txt"):
        m = re.match(r"\s*\S.*?\s+(\d+)\s+\[\d+\]\s+[\d.]+:\s+kvm:(kvm_exit|kvm_mmio):(.*)", line)
        if not m:
            continue
        tid, ev, rest = m.groups()
        if ev == "kvm_exit":
            r = re.search(r"rip 0x([0-9a-f]+)", rest)
            last_rip[tid] = int(r.group(1), 16) if r else None
        else:
            g = re.search(r"mmio write len \d+ gpa 0x([0-9a-f]+)", rest)
            if g and int(g.group(1), 16) in notify_gpas and last_rip.get(tid) is not None:
                rip, dev = last_rip[tid], notify_gpas[int(g.group(1), 16)]
                notify_rips[rip] = notify_rips.get(rip, 0) + 1
                side = firmware_notifies if rip < 0x100000 else kernel_notifies
                side[dev] = side.get(dev, 0) + 1
    names = {int(r["rip"], 16): f"{r.get('symbol', '?')}+{r.get('offset', '?')}"
             for r in report["exits"]["by_rip"] if r["reason"] == "npf"}

    # Guest: its account and its own vp_notify stacks (recorded from before virtio-blk loaded).
    acct = dict(re.findall(r"(\w+)=(\S+)", re.search(r"^SEED-ACCOUNT (.*)$", channel, re.M).group(1)))
    before = int(re.search(r"^SEED-VDA-STAT-BEFORE\s+(\d+)", channel, re.M).group(1))
    after = int(re.search(r"^SEED-VDA-STAT-AFTER\s+(\d+)", channel, re.M).group(1))
    stacks = []
    for line in open(f"{d}/guest-folded.txt"):
        if line.strip():
            frames, n = line.rsplit(" ", 1)
            stacks.append((frames.split(";"), int(n)))
    g_blk = sum(n for f, n in stacks if any(x.startswith(("virtio_queue_rq", "virtio_commit_rqs", "virtblk")) for x in f))
    g_rng = sum(n for f, n in stacks if any(x in ("virtio_read", "probe_common") for x in f) and
                not any(x.startswith("virtblk") for x in f))
    g_rng_read = sum(n for f, n in stacks if "rng_dev_read" in f and "virtio_read" in f)
    blk_path = any(f[-1] == "vp_notify" and "virtio_queue_rq" in f for f, _ in stacks)
    rng_path = any(f[-1] == "vp_notify" and "virtio_read" in f and "rng_dev_read" in f for f, _ in stacks)

    ok = True

    def line(what, want, got):
        nonlocal ok
        good = want == got
        ok &= good
        print(f"  {what:58} {str(want):>14} {str(got):>14}   {'equal' if good else 'DIFFERENT'}")

    print(f"# Check: {blocks} blocks of 4 KiB read with O_DIRECT, {nbytes} bytes drawn from virtio-rng")
    print(f"  {'':58} {'expected':>14} {'seen':>14}")
    line("guest: blocks read (dd)", blocks, int(acct.get("blocks_read", -1)))
    line("guest: read requests completed on vda during dd (diskstats)", blocks, after - before)
    line("guest: bytes drawn from /dev/hwrng", nbytes, int(acct.get("bytes_drawn", -1)))
    blk, rng = kernel_notifies.get("virtio-blk-pci", 0), kernel_notifies.get("virtio-rng-pci", 0)
    line("host: notify exits in the script (kvm_exit + kvm_mmio) = report", sum(host.values()), sum(notify_rips.values()))
    line("host: virtio-blk notifies from the kernel = guest: vp_notify", g_blk, blk)
    line("guest: vp_notify from virtio-blk = read requests on vda", after, g_blk)
    line("host: virtio-rng notifies from the kernel = guest: vp_notify", g_rng, rng)
    line(f"guest: vp_notify from rng_dev_read = bytes / {RNG_CHUNK}", -(-nbytes // RNG_CHUNK), g_rng_read)
    print(f"  (and from the firmware, before the kernel: {firmware_notifies or 'none'})")
    syms = sorted({names.get(r, hex(r)) for r in notify_rips if r >= 0x100000})
    line("host: the kernel's notify exits' guest RIPs resolve to", "iowrite16+...", "iowrite16+..." if syms and all(
        s.startswith("iowrite16+") for s in syms) else ",".join(syms))
    line("guest: call path vp_notify <- virtio_queue_rq (virtio-blk)", True, blk_path)
    line("guest: call path vp_notify <- virtio_read <- rng_dev_read", True, rng_path)
    print(f"# notify RIPs: {', '.join(f'{names.get(r, hex(r))} ({hex(r)}) x{n}' for r, n in sorted(notify_rips.items()))}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
