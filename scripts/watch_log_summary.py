#!/usr/bin/env python3
"""Checks an `stpm watch` log against the folder it watched: every image logged exactly once.

    scripts/watch_log_summary.py LOG DIR

Prints the log's lines by verdict, the images logged twice and the images in DIR never logged, the
unreadable files by name, and the lag (seconds from a file's last modification to its log line).
Exits 1 when an image is doubled or missed.
"""
import collections, json, os, sys

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    log, folder = sys.argv[1], sys.argv[2]
    records = [json.loads(line) for line in open(log)]
    logged = collections.Counter(r["path"] for r in records)
    files = {os.path.abspath(os.path.join(d, n)) for d, _, names in os.walk(folder)
             for n in names if not n.startswith(".") and n.lower().endswith(IMAGE_EXTENSIONS)}
    verdicts = collections.Counter(r["verdict"] for r in records)
    doubled = sorted(p for p, n in logged.items() if n > 1)
    missed = sorted(files - set(logged))
    print(f"lines {len(records)}  ok {verdicts['ok']}  flagged {verdicts['flagged']}  unreadable {verdicts['unreadable']}"
          f"  doubled {len(doubled)}  missed {len(missed)}")
    for p in doubled + missed:
        print(("doubled " if p in logged else "missed ") + p)
    print("unreadable:", " ".join(sorted(os.path.basename(r["path"]) for r in records if r["verdict"] == "unreadable")))
    lags = sorted(r["lag"] for r in records if r["verdict"] != "unreadable")
    if lags:
        at = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]
        print(f"lag s: median {at(0.5):.3f}  p95 {at(0.95):.3f}  max {lags[-1]:.3f}")
    sys.exit(1 if doubled or missed else 0)


if __name__ == "__main__":
    main()
