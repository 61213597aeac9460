#!/usr/bin/env python3
"""How close `stpm score` and `stpm eval` come to `stpm bench`'s stpm-infer rate, and their peak memory.

One invocation, one machine, rounds alternating the commands so that drifting machine speed touches
each figure alike:
  - `stpm bench --infer-only --json` for the model's backbone and size: stpm-infer at batch 1 and 8;
  - `stpm score MODEL` on a folder of --images copies of the dataset's images (cycled through
    train/good and test/*, written to a temporary folder) and on one of them: score's rate is
    images / (wall of the folder - wall of one image), the process start-up and model load cancelled;
  - `stpm eval MODEL DATA`: its rate is test images / wall, start-up and metrics included.
Each ratio is the median rate over the median bench b8 rate (the batch `stpm score` and `stpm eval`
use). Peak RSS is each process's own (wait4's ru_maxrss); CPU is user + system seconds.
With --train-epochs E, a model is first trained on DATA for E epochs (its wall time and peak RSS
reported) and measured instead of --model.

  scripts/bench_end_to_end.py --stpm .build/release/stpm --data ../shared/datasets/tire --model M
  scripts/bench_end_to_end.py --data ../shared/datasets/tire --train-epochs 100

Standard library only; benchmarks are commands, not tests.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


class Run:
    def __init__(self, wall, cpu, peak_kib, stdout):
        self.wall, self.cpu, self.peak_kib, self.stdout = wall, cpu, peak_kib, stdout


def run(cmd, scratch):
    """Runs cmd with stdout and stderr in files; exits naming the command when it fails."""
    out, err = os.path.join(scratch, "stdout"), os.path.join(scratch, "stderr")
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
               (os.POSIX_SPAWN_OPEN, 2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
    start = time.perf_counter()
    pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        with open(err, errors="replace") as f:
            sys.exit(f"{' '.join(cmd)} failed ({os.waitstatus_to_exitcode(status)}):\n{f.read()[-2000:]}")
    with open(out, errors="replace") as f:
        return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, f.read())


def dataset_images(root):
    """train/good then test/<type> images of an MVTec AD root, sorted."""
    folders = [os.path.join(root, "train", "good")]
    test = os.path.join(root, "test")
    if os.path.isdir(test):
        folders += [os.path.join(test, t) for t in sorted(os.listdir(test))]
    images = [os.path.join(d, f) for d in folders if os.path.isdir(d)
              for f in sorted(os.listdir(d)) if f.lower().endswith(IMAGE_SUFFIXES)]
    if not images:
        sys.exit(f"{root}: no images under train/good or test/* (expected an MVTec AD root)")
    return images


def fill_folder(folder, images, count):
    os.makedirs(folder)
    width = len(str(count - 1))
    for i in range(count):
        source = images[i % len(images)]
        shutil.copyfile(source, os.path.join(folder, f"{i:0{width}d}{os.path.splitext(source)[1].lower()}"))


def median(xs):
    return statistics.median(xs)


def span(xs, digits):
    return f"{median(xs):.{digits}f} ({min(xs):.{digits}f}-{max(xs):.{digits}f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stpm", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "stpm"))
    ap.add_argument("--data", required=True, help="MVTec AD root: eval's test set, and the images score reads")
    ap.add_argument("--model", help="model directory (from stpm train)")
    ap.add_argument("--train-epochs", type=int, help="train a model on DATA for this many epochs and measure it")
    ap.add_argument("--images", type=int, default=500, help="images in score's folder")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if (args.model is None) == (args.train_epochs is None):
        ap.error("give either --model or --train-epochs")
    stpm = os.path.abspath(args.stpm)
    if not os.access(stpm, os.X_OK):
        sys.exit(f"{stpm}: not an executable (build with: swift build -c release --product stpm)")
    threads = ["--threads", str(args.threads)]

    with tempfile.TemporaryDirectory(prefix="stpm-e2e-") as scratch:
        model = args.model
        if args.train_epochs is not None:
            model = os.path.join(scratch, "model")
            trained = run([stpm, "train", args.data, "--out", model, "--epochs", str(args.train_epochs)] + threads, scratch)
            print(f"train {args.train_epochs} epochs: {trained.wall:.1f} s wall, {trained.cpu:.1f} s CPU, "
                  f"peak RSS {trained.peak_kib} KiB")
        try:
            with open(os.path.join(model, "config.json")) as f:
                config = json.load(f)
            backbone, size = config["backbone"], int(config["size"])
        except (OSError, ValueError, KeyError) as e:
            sys.exit(f"{model}/config.json: {e}")

        images = dataset_images(args.data)
        many, one = os.path.join(scratch, "many"), os.path.join(scratch, "one")
        fill_folder(many, images, args.images)
        fill_folder(one, images, 1)

        bench_cmd = [stpm, "bench", "--infer-only", "--json", "--backbones", backbone, "--size", str(size)] + threads
        b1, b8, score_rates, eval_rates = [], [], [], []
        score_peak, eval_peak, score_cpu, eval_cpu, eval_images = [], [], [], [], None
        for r in range(args.rounds):
            figures = json.loads(run(bench_cmd, scratch).stdout.strip().splitlines()[-1])
            b1.append(figures["inferBatch1"])
            b8.append(figures["inferBatch8"])
            single = run([stpm, "score", model, one] + threads, scratch)
            folder = run([stpm, "score", model, many] + threads, scratch)
            score_rates.append(args.images / max(folder.wall - single.wall, 1e-9))
            score_peak.append(folder.peak_kib)
            score_cpu.append(folder.cpu)
            report = os.path.join(scratch, "eval.json")
            evaluated = run([stpm, "eval", model, args.data, "--json", report] + threads, scratch)
            with open(report) as f:
                eval_images = json.load(f)["images"]
            eval_rates.append(eval_images / evaluated.wall)
            eval_peak.append(evaluated.peak_kib)
            eval_cpu.append(evaluated.cpu)
            print(f"round {r + 1}: bench b8 {b8[-1]:.1f}, score {score_rates[-1]:.1f} ({score_rates[-1] / b8[-1]:.3f}), "
                  f"eval {eval_rates[-1]:.1f} ({eval_rates[-1] / b8[-1]:.3f}) images/s", flush=True)

    bench = median(b8)
    print(f"\n{backbone} at {size} px, {args.threads} threads, {args.rounds} rounds: median (min-max)")
    print(f"{'':34}{'images/s':>24}{'of bench b8':>14}{'peak RSS KiB':>14}{'CPU s':>8}")
    print(f"{'stpm bench stpm-infer b1':34}{span(b1, 1):>24}")
    print(f"{'stpm bench stpm-infer b8':34}{span(b8, 1):>24}{'1.000':>14}")
    print(f"{f'stpm score, {args.images} images':34}{span(score_rates, 1):>24}{median(score_rates) / bench:>14.3f}"
          f"{max(score_peak):>14}{median(score_cpu):>8.2f}")
    print(f"{f'stpm eval, {eval_images} test images':34}{span(eval_rates, 1):>24}{median(eval_rates) / bench:>14.3f}"
          f"{max(eval_peak):>14}{median(eval_cpu):>8.2f}")


if __name__ == "__main__":
    main()
