#!/usr/bin/env python3
"""Feeds images into a folder the way a camera PC does, to try `stpm watch` or `stpm console --watch`.

    scripts/feed_folder.py SRC DST [--rate 10] [--limit N] [--jpeg-half] [--slow-every 7] [--corrupt 3]

Copies the images under SRC (recursively, sorted) into DST at --rate images per second, a new subfolder
every 40 images. Every --slow-every'th file is written in 4 chunks 120 ms apart, kept open between them
(a file still being written must not be scored half-written); --corrupt files are truncated or random
bytes (reported by name as unreadable); with --jpeg-half every other image is re-encoded as JPEG
(quality 92) through Pillow. Then `scripts/watch_log_summary.py LOG DST` counts the log's lines and lags.
"""
import argparse, io, os, random, sys, time

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def images_under(root):
    found = []
    for folder, _, names in os.walk(root):
        found += [os.path.join(folder, n) for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(found)


def as_jpeg(path):
    from PIL import Image  # only needed for --jpeg-half
    buffer = io.BytesIO()
    Image.open(path).convert("RGB").save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def write(path, data, chunks):
    with open(path, "wb") as f:
        for c in range(chunks):
            f.write(data[c * len(data) // chunks:(c + 1) * len(data) // chunks])
            f.flush()
            if chunks > 1:
                time.sleep(0.12)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--rate", type=float, default=10, help="images per second (default 10)")
    p.add_argument("--limit", type=int, help="at most this many images")
    p.add_argument("--jpeg-half", action="store_true", help="every other image as JPEG (needs Pillow)")
    p.add_argument("--slow-every", type=int, default=7, help="every Nth image written slowly in chunks (0: none)")
    p.add_argument("--corrupt", type=int, default=3, help="corrupt files to add among the images")
    args = p.parse_args()

    files = images_under(args.src)[:args.limit]
    if not files:
        sys.exit(f"no images under {args.src}")
    rng = random.Random(0)
    corrupt_at = set(rng.sample(range(len(files)), min(args.corrupt, len(files))))
    start = time.time()
    for k, path in enumerate(files):
        name = f"{k:06d}_{os.path.basename(os.path.dirname(path))}_{os.path.basename(path)}"
        data = open(path, "rb").read()
        if args.jpeg_half and k % 2 == 1:
            data, name = as_jpeg(path), os.path.splitext(name)[0] + ".jpg"
        folder = os.path.join(args.dst, f"batch{k // 40}")
        os.makedirs(folder, exist_ok=True)
        slow = args.slow_every > 0 and k % args.slow_every == args.slow_every // 2
        write(os.path.join(folder, name), data, 4 if slow else 1)
        if k in corrupt_at:
            bad = data[:len(data) // 3] if len(corrupt_at) < 2 or k != max(corrupt_at) else rng.randbytes(5000)
            write(os.path.join(folder, f"corrupt_{k:06d}.png"), bad, 1)
        time.sleep(max(0, start + (k + 1) / args.rate - time.time()))
    elapsed = time.time() - start
    print(f"fed {len(files)} images and {len(corrupt_at)} corrupt files in {elapsed:.1f} s "
          f"({len(files) / elapsed:.2f} images/s)")


if __name__ == "__main__":
    main()
