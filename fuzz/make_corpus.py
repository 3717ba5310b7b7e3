#!/usr/bin/env python3
"""Regenerates the seed corpora in fuzz/corpus/ (checked in; run this only to refresh them).

  fuzz/make_corpus.py --gen build-fuzz/exitprof-gen [--realdata /work/shared/realdata/perf]

perfdata/: small synthetic recordings from exitprof-gen (file and pipe mode, VMX and SVM, an
old kvm_exit format, LOST records), one pipe recording whose events are zstd-compressed
(COMPRESSED and COMPRESSED2 records, a record split across the two), and the real recordings
under 64 KiB. tracing_data/: TRACING_DATA feature sections cut out of file-mode recordings,
each followed by an example kvm_exit payload and its u16 length (the tracing_data_fuzzer
input layout).
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FORMATS = os.path.join(ROOT, "tests", "data", "formats")
MAX_SEED = 64 * 1024
REAL = [
    "quipper-perf.data.lost_samples-4.4",
    "quipper-perf.data.piped.header_features_aligned-6.12",
    "quipper-perf.data.piped.corrupted.zero_size_sample-3.2",
]
RECORD_SAMPLE, RECORD_TRACING_DATA, RECORD_AUXTRACE = 9, 66, 71
RECORD_COMPRESSED, RECORD_COMPRESSED2 = 81, 83
FEAT_TRACING_DATA = 1


def pipe_records(data):
    """(offset, bytes) of each record of a pipe-mode file, payloads included."""
    pos, out = 16, []
    while pos + 8 <= len(data):
        rtype, _misc, size = struct.unpack_from("<IHH", data, pos)
        end = pos + size
        if rtype == RECORD_TRACING_DATA:
            end += struct.unpack_from("<I", data, pos + 8)[0]
        elif rtype == RECORD_AUXTRACE:
            end += struct.unpack_from("<Q", data, pos + 8)[0]
        out.append((pos, data[pos:end], rtype))
        pos = end
    return out


def zstd(raw):
    return subprocess.run(["zstd", "-q", "-c", "-19"], input=raw, check=True,
                          stdout=subprocess.PIPE).stdout


def compressed_pipe(data):
    """The pipe recording with everything from its first sample on zstd-compressed into one
    COMPRESSED and one COMPRESSED2 record, split mid-record."""
    recs = pipe_records(data)
    first = next(i for i, r in enumerate(recs) if r[2] == RECORD_SAMPLE)
    head = data[:recs[first][0]]
    events = b"".join(r[1] for r in recs[first:])
    cut = len(events) // 2 + 3  # inside a record
    a, b = zstd(events[:cut]), zstd(events[cut:])
    assert len(a) + 8 < 65536 and len(b) + 16 < 65536
    rec1 = struct.pack("<IHH", RECORD_COMPRESSED, 0, 8 + len(a)) + a
    pad = (-len(b)) % 8
    rec2 = struct.pack("<IHHQ", RECORD_COMPRESSED2, 0, 16 + len(b) + pad, len(b)) + b + bytes(pad)
    return head + rec1 + rec2


def tracing_data(data):
    """The TRACING_DATA feature section of a file-mode recording, or None."""
    if data[:8] != b"PERFILE2":
        return None
    data_offset, data_size = struct.unpack_from("<QQ", data, 40)
    bits = int.from_bytes(data[72:104], "little")
    table = data_offset + data_size
    for feat in range(256):
        if not bits >> feat & 1:
            continue
        offset, size = struct.unpack_from("<QQ", data, table)
        table += 16
        if feat == FEAT_TRACING_DATA:
            return data[offset:offset + size]
    return None


def kvm_exit_payload(reason, isa):
    """A kvm_exit record as the current format lays it out (72 bytes)."""
    p = bytearray(72)
    struct.pack_into("<HBBi", p, 0, 103, 0, 0, 4242)   # common_type (the fuzzer sets it), pid
    struct.pack_into("<I", p, 8, reason)               # exit_reason
    struct.pack_into("<Q", p, 16, 0xfff0)              # guest_rip
    struct.pack_into("<I", p, 24, isa)                 # isa: 1 VMX, 2 SVM
    struct.pack_into("<QQ", p, 32, 0x1f0, 0)           # info1, info2
    struct.pack_into("<I", p, 56, 1)                   # vcpu_id
    return bytes(p)


def with_payload(blob, payload):
    return blob + payload + struct.pack("<H", len(payload))


def write(path, data):
    assert len(data) < MAX_SEED, (path, len(data))
    with open(path, "wb") as f:
        f.write(data)
    print(f"{os.path.relpath(path, ROOT)}: {len(data)} bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gen", required=True, help="exitprof-gen binary")
    ap.add_argument("--realdata", default="/work/shared/realdata/perf")
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    args = ap.parse_args()
    perf_dir = os.path.join(args.out, "perfdata")
    td_dir = os.path.join(args.out, "tracing_data")
    for d in (perf_dir, td_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)

    gens = {
        "gen-vmx.data": [],
        "gen-vmx-pipe.data": ["--pipe"],
        "gen-svm.data": ["--svm", "--vms", "2"],
        "gen-svm-pipe-lost.data": ["--svm", "--pipe", "--lost-every", "7"],
        "gen-vmx-linux419.data": ["--kvm-exit-format", os.path.join(FORMATS, "linux-4.19", "kvm_exit")],
    }
    made = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in gens.items():
            out = os.path.join(tmp, name)
            subprocess.run([args.gen, "--formats", FORMATS, "-o", out, "--exits", "20", "--seed", "7"]
                           + extra, check=True)
            with open(out, "rb") as f:
                made[name] = f.read()
    for name, data in made.items():
        write(os.path.join(perf_dir, name), data)
    write(os.path.join(perf_dir, "gen-vmx-pipe-zstd.data"), compressed_pipe(made["gen-vmx-pipe.data"]))
    # The real recordings in shared/realdata (REAL) are not copied into the corpus:
    # scripts/fuzz.sh adds them to its scratch corpus from ../shared at run time.

    blobs = [
        ("gen-vmx.td", made["gen-vmx.data"], kvm_exit_payload(30, 1)),          # IO_INSTRUCTION
        ("gen-svm.td", made["gen-svm.data"], kvm_exit_payload(0x7b, 2)),        # io
        ("gen-linux419.td", made["gen-vmx-linux419.data"], kvm_exit_payload(12, 1)[:48]),  # HLT
    ]
    timechart = os.path.join(args.realdata, "perf-4.13-timechart-tracepoints.data")
    if os.path.exists(timechart):
        with open(timechart, "rb") as f:
            blobs.append(("perf-4.13-timechart.td", f.read(), bytes(range(64))))
    for name, data, payload in blobs:
        blob = tracing_data(data)
        if blob is None:
            print(f"warning: no TRACING_DATA in the source of {name}", file=sys.stderr)
            continue
        write(os.path.join(td_dir, name), with_payload(blob, payload))


if __name__ == "__main__":
    main()
