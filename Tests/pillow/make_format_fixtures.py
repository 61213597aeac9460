#!/usr/bin/env python3
"""Writes JPEG, TIFF and BMP files of many kinds into OUT, with what Pillow reads from each.

For every file NAME it writes NAME.rgb and NAME.l: the bytes of Pillow's Image.open(NAME).convert("RGB")
and .convert("L"), and one line "FORMAT NAME WIDTH HEIGHT" in OUT/manifest.txt. 16-bit gray files are
the one deliberate difference: stpm keeps the high byte of each sample (value >> 8) where Pillow clips,
so their expected bytes are Pillow's sample values >> 8. Uncompressed 16-bit RGB TIFFs with separate planes
are the other: Pillow reads each plane as 8-bit samples (garbage), libtiff and stpm read the stored values,
so there the expected bytes are the samples >> 8. Usage: make_format_fixtures.py OUT
"""
import io
import random
import struct
import sys
import zlib

from PIL import Image

OUT = sys.argv[1]
SIZES = [(1, 1), (7, 5), (16, 16), (17, 33), (33, 17), (40, 24), (64, 48), (95, 71)]
manifest = []


def picture(size, seed):
    """Gradients, hard edges and noise: enough structure for subsampling and IDCT rounding to matter."""
    w, h = size
    rnd = random.Random(seed)
    data = bytearray()
    for y in range(h):
        for x in range(w):
            edge = 200 if (x // 5 + y // 3) % 2 else 30
            data += bytes(((x * 255 // max(w - 1, 1) + rnd.randrange(40)) % 256,
                           (edge + rnd.randrange(30)) % 256,
                           (y * 255 // max(h - 1, 1) ^ rnd.randrange(64)) % 256))
    return Image.frombytes("RGB", size, bytes(data))


def values16(size, seed):
    rnd = random.Random(seed)
    w, h = size
    return [(x * 65535 // max(w - 1, 1) + rnd.randrange(4096)) % 65536 for y in range(h) for x in range(w)]


def record(fmt, name, expected_rgb=None, expected_l=None):
    path = f"{OUT}/{name}"
    with Image.open(path) as im:
        im.load()
        size = im.size
        if expected_rgb is None:
            expected_rgb = im.convert("RGB").tobytes()
            expected_l = im.convert("L").tobytes()
    assert len(expected_rgb) == 3 * size[0] * size[1] and len(expected_l) == size[0] * size[1], name
    with open(path + ".rgb", "wb") as f:
        f.write(expected_rgb)
    with open(path + ".l", "wb") as f:
        f.write(expected_l)
    manifest.append(f"{fmt} {name} {size[0]} {size[1]}")


def gray16_expected(values):
    high = bytes(v >> 8 for v in values)
    return bytes(b for v in high for b in (v, v, v)), high


def rgb16_expected(size, values):
    im = Image.frombytes("RGB", size, bytes(v >> 8 for v in values))
    return im.tobytes(), im.convert("L").tobytes()


# ---------------------------------------------------------------- JPEG
n = 0
for size in SIZES:
    base = picture(size, n)
    for quality in (50, 90, 100):
        for subsampling in ("4:4:4", "4:2:2", "4:2:0"):
            for progressive in (False, True):
                name = f"j{n:03d}_q{quality}_{subsampling.replace(':', '')}{'_prog' if progressive else ''}.jpg"
                base.save(f"{OUT}/{name}", "JPEG", quality=quality, subsampling=subsampling, progressive=progressive)
                record("JPEG", name)
                n += 1
    for quality in (75, 95):
        for progressive in (False, True):
            name = f"j{n:03d}_gray_q{quality}{'_prog' if progressive else ''}.jpg"
            base.convert("L").save(f"{OUT}/{name}", "JPEG", quality=quality, progressive=progressive)
            record("JPEG", name)
            n += 1
        name = f"j{n:03d}_cmyk_q{quality}.jpg"  # Pillow writes Adobe (inverted) CMYK
        base.convert("CMYK").save(f"{OUT}/{name}", "JPEG", quality=quality)
        record("JPEG", name)
        n += 1
    for blocks in (1, 3):
        name = f"j{n:03d}_restart{blocks}.jpg"
        base.save(f"{OUT}/{name}", "JPEG", quality=85, restart_marker_blocks=blocks)
        record("JPEG", name)
        n += 1
    name = f"j{n:03d}_restart_rows_optimized.jpg"
    base.save(f"{OUT}/{name}", "JPEG", quality=85, restart_marker_rows=1, optimize=True, subsampling="4:2:0")
    record("JPEG", name)
    n += 1
    for orientation in (3, 6, 8):
        exif = Image.Exif()
        exif[0x0112] = orientation
        name = f"j{n:03d}_exif_orientation{orientation}.jpg"
        base.save(f"{OUT}/{name}", "JPEG", quality=90, exif=exif)
        with Image.open(f"{OUT}/{name}") as check:  # the tag is there, and Pillow's open does not apply it
            assert check.getexif()[0x0112] == orientation and check.size == size
        record("JPEG", name)
        n += 1

# ---------------------------------------------------------------- TIFF
def lzw(data):
    """TIFF LZW as libtiff encodes it (MSB first, 9 to 12 bits), for files Pillow cannot write itself."""
    out, acc, nbits = bytearray(), 0, 0
    width, table, prefix = 9, {bytes([i]): i for i in range(256)}, b""

    def put(code):
        nonlocal acc, nbits
        acc, nbits = (acc << width) | code, nbits + width
        while nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)

    put(256)
    for byte in data:
        candidate = prefix + bytes([byte])
        if candidate in table:
            prefix = candidate
            continue
        put(table[prefix])
        table[candidate] = len(table) + 2
        if len(table) + 2 == 4094:
            put(256)
            width, table = 9, {bytes([i]): i for i in range(256)}
        elif len(table) + 2 == 1 << width:
            width += 1
        prefix = bytes([byte])
    if prefix:
        put(table[prefix])
        if len(table) + 3 == 1 << width:
            width += 1
    put(257)
    if nbits:
        out.append((acc << (8 - nbits)) & 0xFF)
    return bytes(out)


def write_tiff(path, width, height, spp, bits, photometric, samples, big_endian=False, compression=1,
               planar=1, rows_per_strip=None, tile=None):
    """A baseline TIFF from a flat list of samples (pixel-interleaved), in strips or tiles."""
    e = ">" if big_endian else "<"
    fmt = {8: "B", 16: "H"}[bits]

    def pack(vals):
        return struct.pack(e + fmt * len(vals), *vals)

    def compress(raw):
        return {1: raw, 5: lzw(raw), 8: zlib.compress(raw)}[compression]

    planes = spp if planar == 2 else 1
    per = 1 if planar == 2 else spp
    def plane_rows(p, y0, y1, x0=0, x1=width):
        vals = []
        for y in range(y0, y1):
            for x in range(x0, x1):
                if x >= width or y >= height:
                    vals += [0] * per
                elif planar == 2:
                    vals.append(samples[(y * width + x) * spp + p])
                else:
                    vals += samples[(y * width + x) * spp:(y * width + x + 1) * spp]
        return pack(vals)

    chunks = []
    if tile:
        tw, th = tile
        for p in range(planes):
            for ty in range(0, height, th):
                for tx in range(0, width, tw):
                    chunks.append(compress(plane_rows(p, ty, ty + th, tx, tx + tw)))
    else:
        rps = rows_per_strip or height
        for p in range(planes):
            for y in range(0, height, rps):
                chunks.append(compress(plane_rows(p, y, min(y + rps, height))))
    body = bytearray(b"MM\x00\x2a" if big_endian else b"II\x2a\x00") + struct.pack(e + "I", 0)
    offsets = []
    for c in chunks:
        offsets.append(len(body))
        body += c
        if len(body) % 2:
            body += b"\x00"
    extra = bytearray()
    def array(typ, vals):
        """(type, count, value-or-offset field) with arrays longer than 4 bytes placed after the IFD."""
        code, size = {"H": (3, 2), "I": (4, 4)}[typ]
        data = struct.pack(e + typ * len(vals), *vals)
        if len(data) <= 4:
            return code, len(vals), data.ljust(4, b"\x00")
        pos = ifd_end + len(extra)
        extra.extend(data)
        return code, len(vals), struct.pack(e + "I", pos)
    tags = [(256, "I", [width]), (257, "I", [height]), (258, "H", [bits] * spp), (259, "H", [compression]),
            (262, "H", [photometric]), (277, "H", [spp]), (284, "H", [planar])]
    if spp == 4:
        tags.append((338, "H", [2]))  # unassociated alpha
    if tile:
        tags += [(322, "I", [tile[0]]), (323, "I", [tile[1]]), (324, "I", offsets), (325, "I", [len(c) for c in chunks])]
    else:
        tags += [(273, "I", offsets), (278, "I", [rows_per_strip or height]), (279, "I", [len(c) for c in chunks])]
    tags.sort()
    ifd_offset = len(body)
    ifd_end = ifd_offset + 2 + 12 * len(tags) + 4
    fields = bytearray()
    for tag, typ, vals in tags:
        code, count, value = array(typ, vals)
        fields += struct.pack(e + "HHI", tag, code, count) + value
    body += struct.pack(e + "H", len(tags)) + fields + struct.pack(e + "I", 0) + extra
    body[4:8] = struct.pack(e + "I", ifd_offset)
    with open(path, "wb") as f:
        f.write(body)


n = 0
for size in SIZES[1:6]:
    w, h = size
    base = picture(size, 100 + n)
    v16 = values16(size, n)
    gray16 = Image.frombytes("I;16", size, struct.pack("<" + "H" * len(v16), *v16))
    for compression in (None, "tiff_lzw", "tiff_adobe_deflate", "packbits"):
        tag = compression or "raw"
        for mode, im in (("l8", base.convert("L")), ("rgb8", base), ("rgba8", base.convert("RGBA"))):
            name = f"t{n:03d}_{mode}_{tag}.tif"
            im.save(f"{OUT}/{name}", "TIFF", compression=compression)
            record("TIFF", name)
            n += 1
        name = f"t{n:03d}_l16_{tag}.tif"
        gray16.save(f"{OUT}/{name}", "TIFF", compression=compression)
        record("TIFF", name, *gray16_expected(v16))
        n += 1
    name = f"t{n:03d}_rgb8_lzw_predictor.tif"
    base.save(f"{OUT}/{name}", "TIFF", compression="tiff_lzw", tiffinfo={317: 2})
    record("TIFF", name)
    n += 1
    rgb16 = [v for i in range(w * h) for v in (v16[i], (v16[i] * 7) % 65536, 65535 - v16[i])]
    for big in (False, True):
        for compression in (1, 5, 8):
            for planar, strip, tile in ((1, None, None), (2, 2, None), (1, None, (16, 16))):
                name = f"t{n:03d}_rgb16_{'mm' if big else 'ii'}_c{compression}_p{planar}{'_tiled' if tile else ''}.tif"
                write_tiff(f"{OUT}/{name}", w, h, 3, 16, 2, rgb16, big, compression, planar, strip, tile)
                if compression == 1 and planar == 2:
                    record("TIFF", name, *rgb16_expected(size, rgb16))
                else:
                    record("TIFF", name)
                n += 1
        name = f"t{n:03d}_l16_{'mm' if big else 'ii'}_tiled.tif"
        write_tiff(f"{OUT}/{name}", w, h, 1, 16, 1, v16, big, 8, 1, None, (16, 16))
        record("TIFF", name, *gray16_expected(v16))
        n += 1
        name = f"t{n:03d}_rgb8_{'mm' if big else 'ii'}_planar_lzw.tif"
        write_tiff(f"{OUT}/{name}", w, h, 3, 8, 2, list(base.tobytes()), big, 5, 2, 3, None)
        record("TIFF", name)
        n += 1

# ---------------------------------------------------------------- BMP
def write_bmp(path, width, height, bits, rows, palette=None, top_down=False, header=40, masks=None,
              palette_entry=4, colors_used=None):
    """rows: packed pixel bytes per row, top row first; padded and ordered here."""
    stride = ((width * bits + 31) >> 3) & ~3
    pixel_data = b"".join(r.ljust(stride, b"\x00") for r in (rows if top_down else rows[::-1]))
    pal = b"".join(bytes((b, g, r)) + (b"\x00" if palette_entry == 4 else b"") for r, g, b in (palette or []))
    compression = 3 if masks else 0
    if header == 12:
        dib = struct.pack("<IHHHH", 12, width, height, 1, bits)
    else:
        dib = struct.pack("<IiiHHIIiiII", header, width, -height if top_down else height, 1, bits, compression,
                          len(pixel_data), 2835, 2835, colors_used if colors_used is not None else len(palette or []), 0)
        if header > 40:
            dib += struct.pack("<4I", *(list(masks or [0, 0, 0]) + [0] * 4)[:4]) + b"\x00" * (header - 56)
        elif masks:
            dib += struct.pack("<3I", *masks[:3])
    offset = 14 + len(dib) + len(pal)
    with open(path, "wb") as f:
        f.write(b"BM" + struct.pack("<IHHI", offset + len(pixel_data), 0, 0, offset) + dib + pal + pixel_data)


n = 0
for size in SIZES[:7]:
    w, h = size
    base = picture(size, 200 + n)
    for mode in ("1", "L", "P", "RGB", "RGBA"):
        im = base.convert(mode) if mode != "P" else base.convert("P", palette=Image.Palette.ADAPTIVE, colors=37)
        name = f"b{n:03d}_pillow_{mode.lower()}.bmp"
        im.save(f"{OUT}/{name}", "BMP")
        record("BMP", name)
        n += 1
    rgb = base.tobytes()
    rnd = random.Random(n)
    palette = [(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)) for _ in range(256)]
    idx = [rnd.randrange(256) for _ in range(w * h)]
    for top_down in (False, True):
        td = "_topdown" if top_down else ""
        rows24 = [bytes(c for x in range(w) for c in rgb[(y * w + x) * 3:(y * w + x) * 3 + 3][::-1]) for y in range(h)]
        rows32 = [bytes(c for x in range(w) for c in rgb[(y * w + x) * 3:(y * w + x) * 3 + 3][::-1] + b"\x7f") for y in range(h)]
        rows8 = [bytes(idx[y * w:(y + 1) * w]) for y in range(h)]
        rows4 = [bytes((idx[y * w + x] % 16) << 4 | (idx[y * w + x + 1] % 16 if x + 1 < w else 0) for x in range(0, w, 2)) for y in range(h)]
        rows1 = [bytes(sum(((idx[y * w + x + k] & 1) << (7 - k)) for k in range(8) if x + k < w) for x in range(0, w, 8)) for y in range(h)]
        cases = [("24", 24, rows24, {}), ("32", 32, rows32, {}), ("8pal", 8, rows8, {"palette": palette}),
                 ("4pal", 4, rows4, {"palette": palette[:16]}), ("1pal", 1, rows1, {"palette": palette[:2]}),
                 ("32bitfields_bgra", 32, rows32, {"masks": [0xFF0000, 0xFF00, 0xFF], "header": 40}),
                 ("32bitfields_v5", 32, rows32, {"masks": [0xFF0000, 0xFF00, 0xFF, 0xFF000000], "header": 124}),
                 ("24_v4", 24, rows24, {"header": 108}),
                 ("8pal_v5", 8, rows8, {"palette": palette, "header": 124}),
                 # indices beyond a short palette: black in Pillow's P mode, the index itself when the palette is gray
                 ("8pal_short", 8, rows8, {"palette": palette[:40]}),
                 ("8pal_gray_short", 8, rows8, {"palette": [(i, i, i) for i in range(16)]})]
        if not top_down:
            cases.append(("24_core", 24, rows24, {"header": 12}))
            cases.append(("8pal_core", 8, rows8, {"palette": palette, "header": 12, "palette_entry": 3}))
        for label, bits, rows, kw in cases:
            name = f"b{n:03d}_{label}{td}.bmp"
            write_bmp(f"{OUT}/{name}", w, h, bits, rows, top_down=top_down, **kw)
            record("BMP", name)
            n += 1

with open(f"{OUT}/manifest.txt", "w") as f:
    f.write("\n".join(manifest) + "\n")
print(len(manifest), "files")
