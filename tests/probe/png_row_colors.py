#!/usr/bin/env python3
"""Prints how many pixels of each colour one row of a PNG has: "R,G,B COUNT" per line, most
first. A small decoder of our own (8-bit RGB/RGBA, not interlaced: what Chromium's screenshots
are), so the flame-graph test needs nothing beyond python3.
Usage: png_row_colors.py FILE.png Y"""
import struct
import sys
import zlib


def rows(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, width, height, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                sys.exit(f"{path}: expected 8-bit RGB(A), not interlaced")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    bpp = 4 if ctype == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    out = []
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(line)
        prev = line
    return out, width, bpp


def main():
    pixels, width, bpp = rows(sys.argv[1])
    row = pixels[int(sys.argv[2])]
    counts = {}
    for x in range(width):
        rgb = tuple(row[x * bpp:x * bpp + 3])
        counts[rgb] = counts.get(rgb, 0) + 1
    for rgb, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"{rgb[0]},{rgb[1]},{rgb[2]} {n}")


main()
