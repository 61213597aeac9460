#!/usr/bin/env python3
"""PyTorch (CPU, eager) counterpart of `stpm bench`, for side-by-side comparison only.

This script is not part of stpm: the product and its tests neither import nor run it. It exists so
that `stpm bench` numbers can be put next to what stock PyTorch does on the same machine with the
same work. It measures, for each backbone at --size x --size (default 256), images per second of:

  fwd b1         teacher forward, batch 1 (no grad)
  fwd b8         teacher forward, batch 8 (no grad)
  stpm-infer b8  teacher forward + student forward (eval mode) + anomaly map, batch 8 (no grad):
                 per level 0.5 * ||normalize(t) - normalize(s)||^2 over channels, bilinear upsampling
                 (align_corners=False) to --size, product over the three levels
  train b8       teacher forward (no grad) + student forward (train mode) + STPM loss (per level: sum over
                 channels of the squared difference of the channel-normalised features, mean over N*h*w;
                 levels summed) + backward + SGD step (lr 0.4, momentum 0.9, weight decay 1e-4), batch 8

Each figure is the best of --repeats timed runs after one warm-up run, as in Sources/Detection/Training/Benchmark.swift.
The backbones are written in plain torch.nn (no torchvision), truncated after the third pyramid level
like stpm's, with random weights (speed does not depend on the weights' values):

  resnet18            torchvision ResNet-18 up to layer3; taps layer1/layer2/layer3
  efficientnet-lite0  EfficientNet-Lite0 up to block 10 (ReLU6, TF-SAME padding, no SE); taps blocks 2/4/10
  resnet50-1by2       open_nsfw ResNet-50-1by2 up to stage 2 (Caffe bottlenecks, stride on the first 1x1);
                      taps ends of stages 0/1/2

Teachers are conv(bias=True) without BatchNorm (stpm folds the teacher's BN into the convolutions);
students are conv(bias=False) + BatchNorm2d.

--channels-last additionally measures everything with torch.channels_last memory format and prints three
tables: the default (contiguous NCHW) one, the channels_last one, and the faster of the two per cell.

Usage (needs only a CPU build of torch, e.g. in a venv at /tmp/torchvenv):
  /tmp/torchvenv/bin/python scripts/bench_torch.py --threads 2 --repeats 3
  /tmp/torchvenv/bin/python scripts/bench_torch.py --threads 2 --repeats 3 --channels-last
"""

import argparse
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BACKBONES = ["resnet18", "efficientnet-lite0", "resnet50-1by2"]


# ---------------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------------

def conv_unit(cin, cout, k, stride=1, padding=0, groups=1, student=False, bn_eps=1e-5):
    """Teacher: conv with bias (BN folded). Student: conv without bias + BatchNorm2d."""
    if student:
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=False),
                             nn.BatchNorm2d(cout, eps=bn_eps))
    return nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=True)


class SameConv(nn.Module):
    """TF "SAME" padding: symmetric k//2 for stride 1, otherwise F.pad with the (possibly asymmetric)
    amount TensorFlow would use, then an unpadded convolution."""

    def __init__(self, cin, cout, k, stride=1, groups=1, student=False, bn_eps=1e-3):
        super().__init__()
        self.k, self.stride = k, stride
        self.conv = conv_unit(cin, cout, k, stride, k // 2 if stride == 1 else 0, groups, student, bn_eps)

    def forward(self, x):
        if self.stride != 1:
            pads = []
            for size in (x.shape[3], x.shape[2]):  # F.pad order: left, right, top, bottom
                total = max((math.ceil(size / self.stride) - 1) * self.stride + self.k - size, 0)
                pads += [total // 2, total - total // 2]
            x = F.pad(x, pads)
        return self.conv(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, student):
        super().__init__()
        self.conv1 = conv_unit(cin, cout, 3, stride, 1, student=student)
        self.conv2 = conv_unit(cout, cout, 3, 1, 1, student=student)
        self.downsample = conv_unit(cin, cout, 1, stride, 0, student=student) \
            if (stride != 1 or cin != cout) else None

    def forward(self, x):
        y = self.conv2(F.relu(self.conv1(x)))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet18(nn.Module):
    def __init__(self, student):
        super().__init__()
        self.stem = conv_unit(3, 64, 7, 2, 3, student=student)
        self.pool = nn.MaxPool2d(3, 2, 1)
        layers, cin = [], 64
        for i, width in enumerate([64, 128, 256]):
            blocks = [BasicBlock(cin if b == 0 else width, width, 2 if (b == 0 and i > 0) else 1, student)
                      for b in range(2)]
            layers.append(nn.Sequential(*blocks))
            cin = width
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        x = self.pool(F.relu(self.stem(x)))
        taps = []
        for layer in self.layers:
            x = layer(x)
            taps.append(x)
        return taps


class MBConv(nn.Module):
    def __init__(self, cin, cout, expand, k, stride, student):
        super().__init__()
        mid = cin * expand
        self.expand = SameConv(cin, mid, 1, 1, student=student) if expand != 1 else None
        self.depthwise = SameConv(mid, mid, k, stride, groups=mid, student=student)
        self.project = SameConv(mid, cout, 1, 1, student=student)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = F.relu6(self.expand(x)) if self.expand is not None else x
        y = self.project(F.relu6(self.depthwise(y)))
        return y + x if self.residual else y


class EfficientNetLite0(nn.Module):
    # (expand ratio, kernel, first stride, output channels, repeats), blocks 0...10
    STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3)]
    TAPS = (2, 4, 10)

    def __init__(self, student):
        super().__init__()
        self.stem = SameConv(3, 32, 3, 2, student=student)
        blocks, cin = [], 32
        for expand, k, stride, cout, repeats in self.STAGES:
            for r in range(repeats):
                blocks.append(MBConv(cin, cout, expand, k, stride if r == 0 else 1, student))
                cin = cout
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        x = F.relu6(self.stem(x))
        taps = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.TAPS:
                taps.append(x)
        return taps


class CaffeBottleneck(nn.Module):
    """relu(2c(relu(2b(relu(2a x)))) + shortcut(x)), stride on the first 1x1 (branch2a)."""

    def __init__(self, cin, width, cout, stride, project, student):
        super().__init__()
        self.branch2a = conv_unit(cin, width, 1, stride, 0, student=student)
        self.branch2b = conv_unit(width, width, 3, 1, 1, student=student)
        self.branch2c = conv_unit(width, cout, 1, 1, 0, student=student)
        self.proj = conv_unit(cin, cout, 1, stride, 0, student=student) if project else None

    def forward(self, x):
        y = self.branch2c(F.relu(self.branch2b(F.relu(self.branch2a(x)))))
        return F.relu(y + (self.proj(x) if self.proj is not None else x))


class ResNet50Half(nn.Module):
    def __init__(self, student):
        super().__init__()
        self.stem = conv_unit(3, 64, 7, 2, 3, student=student)
        self.pool = nn.MaxPool2d(3, 2, 0)
        stages, cin = [], 64
        for s, (width, n) in enumerate([(32, 3), (64, 4), (128, 6)]):
            blocks = []
            for b in range(n):
                blocks.append(CaffeBottleneck(cin, width, width * 4, 2 if (b == 0 and s > 0) else 1, b == 0, student))
                cin = width * 4
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = self.pool(F.pad(x, (0, 1, 0, 1)))  # TF-SAME max-pool: one extra column/row at the right/bottom
        taps = []
        for stage in self.stages:
            x = stage(x)
            taps.append(x)
        return taps


def make(name, student):
    model = {"resnet18": ResNet18, "efficientnet-lite0": EfficientNetLite0, "resnet50-1by2": ResNet50Half}[name](student)
    if not student:
        # Keep the BN-less teacher's activations in a sane range (no overflow, no denormals).
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
    return model


# ---------------------------------------------------------------------------------------------------
# STPM pieces
# ---------------------------------------------------------------------------------------------------

def anomaly_map(teacher_taps, student_taps, size):
    amap = None
    for t, s in zip(teacher_taps, student_taps):
        d = 0.5 * (F.normalize(t, dim=1) - F.normalize(s, dim=1)).pow(2).sum(dim=1, keepdim=True)
        d = F.interpolate(d, size=(size, size), mode="bilinear", align_corners=False)
        amap = d if amap is None else amap * d
    return amap


def stpm_loss(teacher_taps, student_taps):
    loss = 0
    for t, s in zip(teacher_taps, student_taps):
        loss = loss + (F.normalize(t, dim=1) - F.normalize(s, dim=1)).pow(2).sum(dim=1).mean()
    return loss


def rate(n, repeats, body):
    """Images per second of `body` on batches of n, best of `repeats` after one warm-up."""
    body()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        body()
        best = min(best, time.perf_counter() - start)
    return n / best


def run(name, size, repeats, train_only, channels_last):
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    teacher = make(name, student=False).to(memory_format=fmt)
    student = make(name, student=True).to(memory_format=fmt)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255
    x1 = ((torch.rand(1, 3, size, size) * 255 - mean) / std).contiguous(memory_format=fmt)
    x8 = ((torch.rand(8, 3, size, size) * 255 - mean) / std).contiguous(memory_format=fmt)

    f1 = f8 = inference = 0.0
    if not train_only:
        with torch.no_grad():
            f1 = rate(1, repeats, lambda: teacher(x1))
            f8 = rate(8, repeats, lambda: teacher(x8))
            student.eval()
            inference = rate(8, repeats, lambda: anomaly_map(teacher(x8), student(x8), size))

    student.train()
    sgd = torch.optim.SGD(student.parameters(), lr=0.4, momentum=0.9, weight_decay=1e-4)

    def step():
        with torch.no_grad():
            t = teacher(x8)
        loss = stpm_loss(t, student(x8))
        sgd.zero_grad(set_to_none=True)
        loss.backward()
        sgd.step()

    train = rate(8, repeats, step)

    # The same step on teacher features computed once, as `stpm train` reads them from its cache.
    with torch.no_grad():
        cached = teacher(x8)

    def cached_step():
        loss = stpm_loss(cached, student(x8))
        sgd.zero_grad(set_to_none=True)
        loss.backward()
        sgd.step()

    train_cached = rate(8, repeats, cached_step)
    return f1, f8, inference, train, train_cached


HEADER = "backbone              fwd b1   fwd b8   stpm-infer b8   train b8   train b8, teacher cached"


def row(name, r):
    return name.ljust(20)[:20] + " %8.1f %8.1f %15.1f %10.1f %26.1f" % r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=256, help="input size (square)")
    ap.add_argument("--backbones", default=",".join(BACKBONES), help="backbones to measure (comma-separated)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repetitions per measurement (the best is kept)")
    ap.add_argument("--threads", type=int, help="torch.set_num_threads(N) (default: torch's default)")
    ap.add_argument("--train-only", action="store_true", help="measure only training throughput")
    ap.add_argument("--channels-last", action="store_true",
                    help="also measure with torch.channels_last and print that table and the per-cell best")
    args = ap.parse_args()

    names = [n for n in args.backbones.split(",") if n]
    for n in names:
        if n not in BACKBONES:
            sys.exit("unknown backbone '%s'; choose from %s" % (n, BACKBONES))
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    print("torch %s (%s), %d threads, mkldnn %s" % (torch.__version__, sys.executable, torch.get_num_threads(),
                                                    "on" if torch.backends.mkldnn.is_available() else "off"))
    print("torch bench: %dx%d, %d threads, images/s (best of %d)" % (args.size, args.size, torch.get_num_threads(),
                                                                      args.repeats))
    formats = [("default (contiguous NCHW)", False)] + ([("channels_last", True)] if args.channels_last else [])
    results = {}
    for label, cl in formats:
        if args.channels_last:
            print("\nmemory format: " + label)
        print(HEADER)
        results[cl] = []
        for n in names:
            r = run(n, args.size, args.repeats, args.train_only, cl)
            results[cl].append(r)
            print(row(n, r), flush=True)
    if args.channels_last:
        print("\nfaster of the two per cell")
        print(HEADER)
        for n, r0, r1 in zip(names, results[False], results[True]):
            print(row(n, tuple(max(a, b) for a, b in zip(r0, r1))))


if __name__ == "__main__":
    main()
