#!/usr/bin/env python3
"""stpm next to the runtimes a CPU user of anomalib deploys, in one invocation on one machine.

For each backbone this runs `stpm bench --json` and then, on the same STPM inference graph (teacher +
eval-mode student + anomaly map, built from scripts/bench_torch.py's modules with random weights and
exported to ONNX opset 17), PyTorch eager, ONNX Runtime and OpenVINO at batch 1 and 8, f32, with the
same thread count. Each runtime's map is checked against PyTorch's (max |difference| / max |map|,
printed). PyTorch's training step (teacher features computed under no_grad, as bench_torch.py), and the
same step on teacher features computed once (as stpm's, which reads them from its cache), are timed in
both memory layouts and the faster of each is kept. Each backbone is measured in --rounds rounds, every round
one `stpm bench` and every peer, stpm first in odd rounds and last in even ones, since a virtual machine's speed
can wander by tens of % over minutes. All figures are images/s, best of --repeats after one warm-up within a
round, and the tables give each figure's median over the rounds, then stpm-infer over the fastest peer of the
same round, round by round; GFLOP/s and % of the sgemm peak use the FLOPs per image stpm counts from its layer shapes
and the sgemm rate stpm measures in the same run. A second table bounds training from above: the student's
training FLOPs (counted here with forward hooks, next to stpm's own count) with every 3x3 stride-1 convolution
as Winograd, only the products counted, at that sgemm rate; stpm's step and three times PyTorch's are shown as
shares of that ceiling.

Not part of stpm: the product and its tests never import these packages. A venv outside the repo:
  python3 -m venv /work/venv-peers
  /work/venv-peers/bin/pip install torch==2.13.0+cpu openvino onnxruntime onnx numpy
  /work/venv-peers/bin/python scripts/bench_peers.py --threads 2
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_torch as bt  # noqa: E402

MAX_RELATIVE_ERROR = 1e-3


class STPM(nn.Module):
    def __init__(self, name, size):
        super().__init__()
        self.size = size
        self.teacher = bt.make(name, student=False)
        self.student = bt.make(name, student=True).eval()

    def forward(self, x):
        return bt.anomaly_map(self.teacher(x), self.student(x), self.size)


def stpm_bench(binary, name, args):
    cmd = [binary, "bench", "--json", "--backbones", name, "--threads", str(args.threads), "--size", str(args.size),
           "--repeats", str(args.repeats)]
    env = dict(os.environ, **({"STPM_ISA": "avx2"} if args.isa == "avx2" else {}))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def training_floor(name, size):
    """The student's training FLOPs per image, counted with forward hooks as stpm counts them (forward, weight
    gradient, and input gradient for every convolution but the first, whose input is the image), and the least
    of them any kernel must still multiply when every 3x3 stride-1 convolution runs as Winograd F(m x m, 3x3)
    in all three passes: (m + 2)^2 products per m x m outputs instead of 9 m^2, nothing else counted (no
    transforms, BatchNorm, pooling, loss or update). At the sgemm peak that floor gives the fastest training
    step any implementation of these FLOPs could reach."""
    model = bt.make(name, student=True)
    convs = []
    hooks = [m.register_forward_hook(lambda m, i, o: convs.append((m, o.shape[2] * o.shape[3])))
             for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    plain, winograd = 0.0, 0.0
    for index, (m, positions) in enumerate(convs):
        flops = 2.0 * m.out_channels * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1] * positions
        passes = 2 if index == 0 else 3
        plain += passes * flops
        if m.kernel_size == (3, 3) and m.stride == (1, 1) and m.groups == 1 and m.dilation == (1, 1):
            winograd += passes * flops
    floors = {t: (plain - winograd + winograd * (t + 2) ** 2 / (9 * t * t)) / 1e9 for t in (4, 6)}
    return plain / 1e9, floors


def relative_error(a, ref):
    return float(np.abs(a - ref).max() / np.abs(ref).max())


class Peers:
    """One backbone's graph, exported and compiled once; `time()` is one round of every peer's figures."""

    def __init__(self, name, args, tmp):
        import onnxruntime as ort
        import openvino as ov

        torch.manual_seed(0)
        self.name, self.args = name, args
        self.model = STPM(name, args.size).eval()
        self.runs, self.errors = {}, {}
        for bs in (1, 8):
            x = torch.randn(bs, 3, args.size, args.size)
            xn = x.numpy()
            path = os.path.join(tmp, f"{name}_b{bs}.onnx")
            torch.onnx.export(self.model, x, path, opset_version=17, dynamo=False, input_names=["x"],
                              output_names=["map"])
            with torch.no_grad():
                ref = self.model(x).numpy()
            compiled = ov.Core().compile_model(path, "CPU", {"INFERENCE_NUM_THREADS": args.threads,
                                                             "PERFORMANCE_HINT": "LATENCY",
                                                             "INFERENCE_PRECISION_HINT": "f32"})
            req = compiled.create_infer_request()
            so = ort.SessionOptions()
            so.intra_op_num_threads = args.threads
            so.inter_op_num_threads = 1
            sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            self.errors[f"ov_b{bs}"] = relative_error(req.infer({0: xn})[0], ref)
            self.errors[f"ort_b{bs}"] = relative_error(sess.run(None, {"x": xn})[0], ref)
            self.runs[f"torch_b{bs}"] = (bs, lambda m=self.model, x=x: m(x))
            self.runs[f"ov_b{bs}"] = (bs, lambda req=req, xn=xn: req.infer({0: xn}))
            self.runs[f"ort_b{bs}"] = (bs, lambda sess=sess, xn=xn: sess.run(None, {"x": xn}))

    def time(self):
        r = {}
        with torch.no_grad():
            for key, (bs, body) in self.runs.items():
                r[key] = bt.rate(bs, self.args.repeats, body)
        if not self.args.no_train:
            # bench_torch.run's training steps, in both memory layouts; the faster is PyTorch's best.
            runs = [bt.run(self.name, self.args.size, self.args.repeats, True, cl) for cl in (False, True)]
            r["torch_train_b8"] = max(run[3] for run in runs)
            r["torch_train_cached_b8"] = max(run[4] for run in runs)
        return r


def median(values):
    return float(np.median(values))


def header(s, args):
    import onnxruntime as ort
    import openvino as ov
    print(f"{args.size}x{args.size}, {args.threads} threads, f32, images/s (best of {args.repeats} within a round, median of "
          f"{args.rounds} rounds); torch {torch.__version__}, "
          f"onnxruntime {ort.__version__}, openvino {ov.__version__}")
    limit = "OpenVINO's oneDNN limited to AVX2 (ONEDNN_MAX_CPU_ISA)" if args.isa == "avx2" else "OpenVINO unlimited"
    print(f"ISA: stpm's kernels {s.get('isa', 'AVX2')}, its OpenBLAS {s['blasCore']} "
          f"(OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '')}); {limit}; ONNX Runtime and PyTorch "
          "use what the CPU offers", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds per backbone, each one `stpm bench` and every peer, in alternating order; the tables "
                         "give each figure's median, and stpm against the fastest peer round by round")
    ap.add_argument("--backbones", default="efficientnet-lite0,resnet18,resnet50-1by2")
    ap.add_argument("--stpm", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "stpm"),
                    help="the stpm binary (default: this checkout's release build)")
    ap.add_argument("--no-train", action="store_true", help="skip the training figures")
    ap.add_argument("--isa", choices=("native", "avx2"), default="native",
                    help="avx2 holds stpm (STPM_ISA=avx2) and OpenVINO (ONEDNN_MAX_CPU_ISA=AVX2) to AVX2, as on a CPU "
                         "without AVX-512; ONNX Runtime and PyTorch have no such switch")
    args = ap.parse_args()
    if args.rounds < 1:
        sys.exit("--rounds must be at least 1")
    # oneDNN (inside OpenVINO) reads its ISA limit once, at first use: set it before the import.
    if args.isa == "avx2":
        os.environ["ONEDNN_MAX_CPU_ISA"] = "AVX2"
    warnings.filterwarnings("ignore")  # the exporter's tracing notes
    torch.set_num_threads(args.threads)
    names = [n for n in args.backbones.split(",") if n]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            peers = Peers(name, args, tmp)
            bad = {k: v for k, v in peers.errors.items() if not v < MAX_RELATIVE_ERROR}
            if bad:
                sys.exit(f"{name}: map differs from PyTorch's: {bad}")
            # The machine's speed wanders by tens of % over minutes: alternating who goes first keeps a slow spell
            # from landing on one side only, and each round's stpm and peers ran minutes apart at most.
            stpm_rounds, peer_rounds = [], []
            for k in range(args.rounds):
                for side in (("stpm", "peers") if k % 2 == 0 else ("peers", "stpm")):
                    if side == "stpm":
                        s = stpm_bench(args.stpm, name, args)
                        if not rows and not stpm_rounds:
                            header(s, args)
                        stpm_rounds.append(s)
                        print(f"{name} round {k + 1}: stpm {json.dumps(s)}", flush=True)
                    else:
                        peer_rounds.append(peers.time())
                        print(f"{name} round {k + 1}: peers " + " ".join(f"{key}={v:.1f}" for key, v in peer_rounds[-1].items()),
                              flush=True)
            print(f"{name}: max rel. error vs torch: " + " ".join(f"{k}={v:.1e}" for k, v in peers.errors.items()),
                  flush=True)
            s = dict(stpm_rounds[0], **{k: median([x[k] for x in stpm_rounds])
                                         for k in ("inferBatch1", "inferBatch8", "trainBatch8", "sgemmGFLOPS")})
            r = {k: median([x[k] for x in peer_rounds]) for k in peer_rounds[0]}
            rows.append((name, s, r, stpm_rounds, peer_rounds))

    columns = [("stpm infer b1", "s", "inferBatch1", ("infer",)), ("stpm infer b8", "s", "inferBatch8", ("infer",)),
               ("OpenVINO b1", "r", "ov_b1", ("infer",)), ("OpenVINO b8", "r", "ov_b8", ("infer",)),
               ("ORT b1", "r", "ort_b1", ("infer",)), ("ORT b8", "r", "ort_b8", ("infer",)),
               ("torch b1", "r", "torch_b1", ("infer",)), ("torch b8", "r", "torch_b8", ("infer",))]
    if not args.no_train:
        # stpm's step reads cached teacher features, as `stpm train` does; PyTorch's runs the teacher too (as
        # anomalib's does), and, in the last column, reads teacher features computed once, as stpm's.
        columns += [("stpm train b8", "s", "trainBatch8", ("train",)),
                    ("torch train b8", "r", "torch_train_b8", ("train", "forward")),
                    ("torch train b8, teacher cached", "r", "torch_train_cached_b8", ("train",))]
    print()
    print(f"images/s, median of {args.rounds} rounds (GFLOP/s, % of the median sgemm peak stpm measured in those rounds)")
    print("| backbone | sgemm GFLOP/s | " + " | ".join(c[0] for c in columns) + " |")
    print("|---" * (len(columns) + 2) + "|")
    for name, s, r, _, _ in rows:
        cells = []
        for _, source, key, work in columns:
            v = (s if source == "s" else r)[key]
            gflop = v * sum(s["gflopPerImage"][w] for w in work)
            cells.append(f"{v:.1f} ({gflop:.0f}, {100 * gflop / s['sgemmGFLOPS']:.0f} %)")
        print(f"| {name} | {s['sgemmGFLOPS']:.0f} | " + " | ".join(cells) + " |")
    print()
    print("stpm-infer over the fastest peer (OpenVINO or ONNX Runtime) of the same round, round by round")
    print("| backbone | b1 | b8 | rounds ahead b1 / b8 |")
    print("|---|---|---|---|")
    for name, _, _, stpm_rounds, peer_rounds in rows:
        ratios = {bs: [s[f"inferBatch{bs}"] / max(r[f"ov_b{bs}"], r[f"ort_b{bs}"]) for s, r in zip(stpm_rounds, peer_rounds)]
                  for bs in (1, 8)}
        ahead = " / ".join(f"{sum(x > 1 for x in ratios[bs])} of {len(ratios[bs])}" for bs in (1, 8))
        print(f"| {name} | " + " | ".join(" ".join(f"{x:.2f}" for x in ratios[bs]) for bs in (1, 8)) + f" | {ahead} |")
    if args.no_train:
        return
    print()
    print("Training's ceiling: the student's training FLOPs per image with every 3x3 stride-1 convolution as Winograd "
          "F(4x4,3x3) (stpm's) or F(6x6,3x3), nothing but those products counted, at the sgemm peak of the same run; "
          "what stpm reaches and what 3x PyTorch would need, as % of that ceiling")
    print("| backbone | train GFLOP/img (counted here / by stpm) | floor F(4x4) / F(6x6) GFLOP | ceiling images/s F(4x4) / F(6x6) "
          "| stpm train b8 | 3x torch train b8 | 3x torch, teacher cached |")
    print("|---" * 7 + "|")
    for name, s, r, _, _ in rows:
        plain, floors = training_floor(name, args.size)
        ceilings = {t: s["sgemmGFLOPS"] / f for t, f in floors.items()}
        share = lambda v: f"{v:.1f} ({100 * v / ceilings[4]:.0f} % / {100 * v / ceilings[6]:.0f} %)"
        print(f"| {name} | {plain:.2f} / {s['gflopPerImage']['train']:.2f} | {floors[4]:.2f} / {floors[6]:.2f} "
              f"| {ceilings[4]:.1f} / {ceilings[6]:.1f} | {share(s['trainBatch8'])} | {share(3 * r['torch_train_b8'])} "
              f"| {share(3 * r['torch_train_cached_b8'])} |")


if __name__ == "__main__":
    main()
