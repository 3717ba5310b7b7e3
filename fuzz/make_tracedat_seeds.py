#!/usr/bin/env python3
"""Writes small trace.dat seeds for tracedat_fuzzer into fuzz/corpus/tracedat/ (checked in;
run this only to refresh them):  fuzz/make_tracedat_seeds.py

Each seed carries the kvm formats of tests/data/formats and two CPUs of ring-buffer pages with
kvm_exit/kvm_entry/kvm_pio events, a time extend, an absolute timestamp, padding and a page
flagged with dropped events. Versions: v6, v7 uncompressed, v7 zlib, v7 zstd (when the zstd
command is installed), and v7 with an instance buffer, tsc2nsec and a GUEST option.
The real recordings in ../shared/realdata/trace-cmd are added by scripts/fuzz.sh at run time.
"""
import os
import struct
import subprocess
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FORMATS = os.path.join(os.path.dirname(HERE), "tests", "data", "formats")
OUT = os.path.join(HERE, "corpus", "tracedat")
PAGE = 4096


def read(*parts):
    with open(os.path.join(FORMATS, *parts), "rb") as f:
        return f.read()


KVM = {name: read("kvm", name) for name in ("kvm_exit", "kvm_entry", "kvm_pio")}


def event_id(fmt):
    for line in fmt.decode().splitlines():
        if line.startswith("ID:"):
            return int(line.split()[1])
    raise ValueError("no ID")


def payload(name, pid, extra):
    return struct.pack("<HBBi", event_id(KVM[name]), 0, 0, pid) + extra


def record(delta, data):
    """One ring-buffer record: type_len = words of data when it fits, else 0 + length."""
    data += b"\0" * (-len(data) % 4)
    if len(data) <= 28 * 4:
        return struct.pack("<I", (delta << 5) | (len(data) // 4)) + data
    return struct.pack("<II", delta << 5, len(data) + 4) + data


def page(ts, records, missed=False):
    body = b"".join(records)
    commit = len(body) | ((1 << 31) if missed else 0)
    raw = struct.pack("<QQ", ts, commit) + body
    return raw + b"\0" * (PAGE - len(raw))


def cpu_pages(cpu):
    pid = 1000 + cpu
    exit_ = payload("kvm_exit", pid, struct.pack("<IIQII", 30, 0, 0xfff0, 0, 0))
    entry = payload("kvm_entry", pid, struct.pack("<IQ", cpu, 0xfff2))
    pio = payload("kvm_pio", pid, struct.pack("<IIIII", 1, 0x3f8, 1, 1, 0x5a))
    first = [record(10, exit_), record(5, pio), record(7, entry),
             struct.pack("<II", (1 << 5) | 30, 2),  # time extend: delta (2 << 27) | 1
             record(3, exit_), record(4, entry),
             struct.pack("<II", (0 << 5) | 29, 12) + b"\0" * 4]  # padding
    second = [struct.pack("<II", (5 << 5) | 31, 0),  # absolute timestamp (low 27 bits 5)
              record(1, exit_), record(2, entry)]
    return page(1_000_000 + cpu, first) + page(9_000_000_000 + cpu, second, missed=True)


def metadata():
    """header info, ftrace formats (none), event formats, kallsyms, printk, cmdlines."""
    header = (b"header_page\0" + struct.pack("<Q", len(read("header_page"))) + read("header_page") +
              b"header_event\0" + struct.pack("<Q", len(read("header_event"))) + read("header_event"))
    ftrace = struct.pack("<I", 0)
    events = struct.pack("<I", 1) + b"kvm\0" + struct.pack("<I", len(KVM))
    for fmt in KVM.values():
        events += struct.pack("<Q", len(fmt)) + fmt
    kallsyms = b"ffffffff81000000 T _text\n"
    printk = b""
    cmdlines = b"1000 CPU 0/KVM\n1001 CPU 1/KVM\n"
    return header, ftrace, events, kallsyms, printk, cmdlines


def v6():
    header, ftrace, events, kallsyms, printk, cmdlines = metadata()
    out = b"\x17\x08Dtracing6\0" + bytes([0, 8]) + struct.pack("<I", PAGE)
    out += header + ftrace + events
    out += struct.pack("<I", len(kallsyms)) + kallsyms + struct.pack("<I", len(printk)) + printk
    out += struct.pack("<Q", len(cmdlines)) + cmdlines + struct.pack("<I", 2)
    clock = b"local global counter [x86-tsc]\n\0"
    out += b"options  \0" + struct.pack("<HI", 4, len(clock)) + clock + struct.pack("<H", 0)
    out += b"flyrecord\0"
    table_at = len(out)
    out += b"\0" * 32
    out += b"\0" * (-len(out) % PAGE)
    table = b""
    for cpu in range(2):
        data = cpu_pages(cpu)
        table += struct.pack("<QQ", len(out), len(data))
        out += data
    return out[:table_at] + table + out[table_at + 32:]


def compress(algo, data):
    if algo == "zlib":
        return zlib.compress(data)
    return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout


def v7(algo="none", instance=False):
    header, ftrace, events, kallsyms, printk, cmdlines = metadata()
    out = bytearray(b"\x17\x08Dtracing7\0" + bytes([0, 8]) + struct.pack("<I", PAGE))
    out += algo.encode() + b"\0" + b"1.0\0"
    first_options_at = len(out)
    out += b"\0" * 8

    def section(sid, body, compressible=True):
        flags = 0
        if algo != "none" and compressible:
            z = compress(algo, body)
            body = struct.pack("<II", len(z), len(body)) + z
            flags = 1
        at = len(out)
        out.extend(struct.pack("<HHIQ", sid, flags, 0, len(body)) + body)
        return at

    offsets = {16: section(16, header), 17: section(17, ftrace), 18: section(18, events),
               19: section(19, struct.pack("<I", len(kallsyms)) + kallsyms),
               20: section(20, struct.pack("<I", len(printk)) + printk),
               21: section(21, struct.pack("<Q", len(cmdlines)) + cmdlines)}
    buffers = []
    for name in ([b"", b"inst"] if instance else [b""]):
        sec_at = len(out)
        out.extend(struct.pack("<HHIQ", 3, 1 if algo != "none" else 0, 0, 0))
        out.extend(b"\0" * (-len(out) % PAGE))
        cpus = []
        for cpu in range(2):
            data = cpu_pages(cpu)
            at = len(out)
            if algo != "none":
                z = compress(algo, data)
                chunk = struct.pack("<I", 1) + struct.pack("<II", len(z), len(data)) + z
                out.extend(chunk)
                cpus.append((cpu, at, len(chunk) - 4))  # trace-cmd leaves the chunk count out
            else:
                out.extend(data)
                cpus.append((cpu, at, len(data)))
        struct.pack_into("<Q", out, sec_at + 8, len(out) - sec_at - 16)
        buffers.append((name, sec_at, cpus))
    opts = b""
    for sid, at in offsets.items():
        opts += struct.pack("<HIQ", sid, 8, at)
    clock = b"local global counter [x86-tsc]\n\0"
    opts += struct.pack("<HI", 4, len(clock)) + clock
    opts += struct.pack("<HI", 8, 4) + struct.pack("<I", 2)
    if instance:
        opts += struct.pack("<HI", 14, 16) + struct.pack("<IIQ", 0x2bdc11f7, 31, 0)
        guest = b"vm0\0" + struct.pack("<QI", 7, 1) + struct.pack("<II", 0, 1000)
        opts += struct.pack("<HI", 13, len(guest)) + guest
    for name, sec_at, cpus in buffers:
        body = struct.pack("<Q", sec_at) + name + b"\0" + b"x86-tsc\0" + struct.pack("<II", PAGE, len(cpus))
        for cpu, at, size in cpus:
            body += struct.pack("<IQQ", cpu, at, size)
        opts += struct.pack("<HI", 3, len(body)) + body
    opts += struct.pack("<HIQ", 0, 8, 0)
    struct.pack_into("<Q", out, first_options_at, len(out))
    out.extend(struct.pack("<HHIQ", 0, 0, 0, len(opts)) + opts)
    return bytes(out)


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {"v6.dat": v6(), "v7-none.dat": v7(), "v7-zlib.dat": v7("zlib"),
             "v7-instance-tsc2nsec.dat": v7("none", instance=True)}
    try:
        seeds["v7-zstd.dat"] = v7("zstd")
    except (OSError, subprocess.CalledProcessError):
        print("make_tracedat_seeds: no zstd command: v7-zstd.dat skipped")
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
