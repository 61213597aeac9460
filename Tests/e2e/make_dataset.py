#!/usr/bin/env python3
"""A tiny MVTec-layout dataset of synthetic 64x64 PNGs for the console's end-to-end test.

Written with zlib and struct only, so the test needs no imaging library. Good images are
a striped, noisy texture; defective ones carry a dark square, whose mask is the ground truth.
"""
import math
import os
import random
import struct
import sys
import zlib

SIZE = 64


def write_png(path, rows, gray=False):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 0 if gray else 2, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def texture(rng):
    phase = rng.uniform(0, 6.28)
    return [[max(0, min(255, int(120 + 50 * math.sin(x / 3.0 + phase) + rng.uniform(-12, 12)))) for x in range(SIZE)]
            for y in range(SIZE)]


def rgb(gray_rows):
    return [[c for v in row for c in (v, v, min(255, v + 20))] for row in gray_rows]


def main(root, train=12, good=4, defects=("scratch", "hole"), per_defect=3):
    rng = random.Random(7)
    for folder in ["train/good", "test/good"] + [f"test/{d}" for d in defects] + [f"ground_truth/{d}" for d in defects]:
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    for i in range(train):
        write_png(f"{root}/train/good/{i:03d}.png", rgb(texture(rng)))
    for i in range(good):
        write_png(f"{root}/test/good/{i:03d}.png", rgb(texture(rng)))
    for d in defects:
        for i in range(per_defect):
            img, mask = texture(rng), [[0] * SIZE for _ in range(SIZE)]
            x0, y0, side = rng.randint(8, 40), rng.randint(8, 40), rng.randint(10, 16)
            for y in range(y0, y0 + side):
                for x in range(x0, x0 + side):
                    img[y][x], mask[y][x] = 10, 255
            write_png(f"{root}/test/{d}/{i:03d}.png", rgb(img))
            write_png(f"{root}/ground_truth/{d}/{i:03d}_mask.png", mask, gray=True)


if __name__ == "__main__":
    main(sys.argv[1])
