#!/usr/bin/env python3
"""Checks that a student exported by stpm is a plain PyTorch state_dict that gives stpm's anomaly maps.

This script is not part of stpm: the product and its tests neither import nor run it. It is the side
check for "a student exported by stpm loads into a PyTorch model with the same architecture and gives
the same anomaly map". Given a trained model directory MODEL (config.json + student.safetensors) and
some PNG images, it

  1. builds the backbone named in MODEL/config.json twice in plain torch.nn (no torchvision), with the
     module names stpm uses for its tensors (torchvision's for resnet18, efficientnet_pytorch's for
     efficientnet-lite0, open_nsfw's for resnet50-1by2), truncated after the third tapped level;
  2. student: conv(bias=False) + BatchNorm2d(eps=1e-5), loaded with
     load_state_dict(MODEL/student.safetensors, strict=True) -- every tensor of the file is used and
     every parameter/buffer of the model comes from it (num_batches_tracked, which stpm does not
     store, is the only key torch fills in itself) -- then put in eval mode;
     teacher: loaded from the teacher file named in config.json (its sha256 is checked against the
     config); where the file has conv biases (BN already folded, open_nsfw) the conv takes them,
     otherwise the file's BatchNorm is applied in eval mode (eps 1e-3 for EfficientNet, 1e-5 for
     ResNet-18), every module tensor must be in the file;
  3. prepares the images as stpm does: PNG -> RGB (Pillow), resized to the model size with Pillow 13's
     bilinear filter (a numpy port, bit-exact, of Pillow's fixed-point Resample.c, cross-checked
     against the installed Pillow when its version is 13), normalised per backbone
     (Sources/Backbones/BackboneKind.swift);
  4. computes the anomaly map as Sources/Detection/Model/AnomalyMapper.swift does: per level
     0.5 * sum_c (normalize(t) - normalize(s))^2, F.interpolate(bilinear, align_corners=False) to
     the model size, product over the three levels; the image score is the map's max;
  5. runs `stpm score MODEL IMAGES --maps DIR --csv FILE` and compares, per image,
       score:  |torch - stpm| / stpm with stpm's score from the CSV (printed with 6 significant digits);
       map:    max |torch map - stpm map| where stpm's map is map16 / 65535 * map_scale (the 16-bit
               PNG and the CSV's map_scale); 16-bit rounding alone gives up to 0.5 step
               (1 step = map_scale / 65535), so the map passes when the difference is at most
               --map-tol steps (default 1).

Prints a PASS/FAIL table per image; exit status 0 when all pass, 1 otherwise.

Usage (a venv with torch, numpy, safetensors and pillow, e.g. /tmp/torchvenv):
  /tmp/torchvenv/bin/python scripts/check_torch_parity.py MODEL IMAGE.png... [--stpm .build/release/stpm]
      [--threads 2] [--dtype float32|float64] [--score-tol 1e-4] [--map-tol 1] [--keep DIR]
"""

import argparse
import csv
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

STUDENT_EPS = 1e-5


# ---------------------------------------------------------------------------------------------------
# Building blocks. `mode` is "bn" (bias-free conv followed by a BatchNorm2d of its own name) or "bias"
# (conv with bias, BN already folded in the weight file; the BN module is an nn.Identity without state).
# ---------------------------------------------------------------------------------------------------

def tf_same_pad(x, k, stride):
    """TensorFlow "SAME": output ceil(n / stride), the odd padding pixel at the bottom/right."""
    pads = []
    for n in (x.shape[3], x.shape[2]):  # F.pad order: left, right, top, bottom
        total = max((math.ceil(n / stride) - 1) * stride + k - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads) if any(pads) else x


class Conv(nn.Conv2d):
    """nn.Conv2d with optional TF-SAME padding; `padding` is torch's symmetric padding otherwise."""

    def __init__(self, cin, cout, k, stride=1, padding=0, groups=1, bias=False, same=False):
        super().__init__(cin, cout, k, stride, 0 if same else padding, groups=groups, bias=bias)
        self.same = same

    def forward(self, x):
        return super().forward(tf_same_pad(x, self.kernel_size[0], self.stride[0]) if self.same else x)


def bn(c, mode, eps):
    return nn.BatchNorm2d(c, eps=eps) if mode == "bn" else nn.Identity()


class CaffeConv(Conv):
    """open_nsfw naming: the BatchNorm is a child of the conv (`conv_1.bn.weight`)."""

    def __init__(self, cin, cout, k, stride, mode, eps):
        super().__init__(cin, cout, k, stride, k // 2, bias=(mode == "bias"))
        self.bn = bn(cout, mode, eps)

    def forward(self, x):
        return self.bn(super().forward(x))


# --- ResNet-18 (torchvision names) up to layer3; taps layer1/2/3 -----------------------------------

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, mode, eps):
        super().__init__()
        b = mode == "bias"
        self.conv1, self.bn1 = Conv(cin, cout, 3, stride, 1, bias=b), bn(cout, mode, eps)
        self.conv2, self.bn2 = Conv(cout, cout, 3, 1, 1, bias=b), bn(cout, mode, eps)
        self.downsample = nn.Sequential(Conv(cin, cout, 1, stride, 0, bias=b), bn(cout, mode, eps)) \
            if (stride != 1 or cin != cout) else None

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet18(nn.Module):
    def __init__(self, mode, eps):
        super().__init__()
        self.conv1, self.bn1 = Conv(3, 64, 7, 2, 3, bias=(mode == "bias")), bn(64, mode, eps)
        cin = 64
        for i, width in enumerate([64, 128, 256]):
            setattr(self, f"layer{i + 1}", nn.Sequential(*[
                BasicBlock(cin if b == 0 else width, width, 2 if (b == 0 and i > 0) else 1, mode, eps) for b in range(2)]))
            cin = width

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        taps = []
        for layer in (self.layer1, self.layer2, self.layer3):
            x = layer(x)
            taps.append(x)
        return taps


# --- EfficientNet-Lite0 (efficientnet_pytorch names) up to block 10; taps blocks 2/4/10 --------------

class MBConvBlock(nn.Module):
    def __init__(self, cin, cout, expand, k, stride, mode, eps):
        super().__init__()
        mid, b = cin * expand, mode == "bias"
        if expand != 1:
            self._expand_conv, self._bn0 = Conv(cin, mid, 1, same=True, bias=b), bn(mid, mode, eps)
        else:
            self._expand_conv = None
        self._depthwise_conv = Conv(mid, mid, k, stride, groups=mid, same=True, bias=b)
        self._bn1 = bn(mid, mode, eps)
        self._project_conv, self._bn2 = Conv(mid, cout, 1, same=True, bias=b), bn(cout, mode, eps)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = F.relu6(self._bn0(self._expand_conv(x))) if self._expand_conv is not None else x
        y = self._bn2(self._project_conv(F.relu6(self._bn1(self._depthwise_conv(y)))))
        return y + x if self.residual else y


class EfficientNetLite0(nn.Module):
    # (expand ratio, kernel, first stride, output channels, repeats), blocks 0...10
    STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3)]
    TAPS = (2, 4, 10)

    def __init__(self, mode, eps):
        super().__init__()
        self._conv_stem = Conv(3, 32, 3, 2, same=True, bias=(mode == "bias"))
        self._bn0 = bn(32, mode, eps)
        blocks, cin = [], 32
        for expand, k, stride, cout, repeats in self.STAGES:
            for r in range(repeats):
                blocks.append(MBConvBlock(cin, cout, expand, k, stride if r == 0 else 1, mode, eps))
                cin = cout
        self._blocks = nn.ModuleList(blocks)

    def forward(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        taps = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self.TAPS:
                taps.append(x)
        return taps


# --- open_nsfw ResNet-50-1by2 up to stage 2; taps ends of stages 0/1/2 ------------------------------

class Bottleneck(nn.Module):
    """Caffe v1 bottleneck: stride on branch2a (1x1). relu(2c(relu(2b(relu(2a x)))) + shortcut(x))."""

    def __init__(self, cin, width, cout, stride, project, mode, eps):
        super().__init__()
        self.branch2a = CaffeConv(cin, width, 1, stride, mode, eps)
        self.branch2b = CaffeConv(width, width, 3, 1, mode, eps)
        self.branch2c = CaffeConv(width, cout, 1, 1, mode, eps)
        self.proj_shortcut = CaffeConv(cin, cout, 1, stride, mode, eps) if project else None

    def forward(self, x):
        y = self.branch2c(F.relu(self.branch2b(F.relu(self.branch2a(x)))))
        return F.relu(y + (self.proj_shortcut(x) if self.proj_shortcut is not None else x))


class Stage(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        for b, block in enumerate(blocks):
            setattr(self, f"block{b}", block)
        self.n = len(blocks)

    def forward(self, x):
        for b in range(self.n):
            x = getattr(self, f"block{b}")(x)
        return x


class ResNet50Half(nn.Module):
    def __init__(self, mode, eps):
        super().__init__()
        self.conv_1 = CaffeConv(3, 64, 7, 2, mode, eps)
        cin = 64
        for s, (width, n) in enumerate([(32, 3), (64, 4), (128, 6)]):
            blocks = []
            for b in range(n):
                blocks.append(Bottleneck(cin, width, width * 4, 2 if (b == 0 and s > 0) else 1, b == 0, mode, eps))
                cin = width * 4
            setattr(self, f"stage{s}", Stage(blocks))

    def forward(self, x):
        x = F.relu(self.conv_1(x))
        # TF-SAME max-pool: one extra row/column at the bottom/right that never wins.
        x = F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=-math.inf), 3, 2)
        taps = []
        for stage in (self.stage0, self.stage1, self.stage2):
            x = stage(x)
            taps.append(x)
        return taps


ARCH = {"resnet18": ResNet18, "efficientnet-lite0": EfficientNetLite0, "resnet50-1by2": ResNet50Half}
TEACHER_BN_EPS = {"resnet18": 1e-5, "efficientnet-lite0": 1e-3, "resnet50-1by2": 1e-5}


def normalize_input(rgb_u8, backbone):
    """N x H x W x 3 uint8 RGB -> N x 3 x H x W float32, as BackboneKind.normalize."""
    x = torch.from_numpy(rgb_u8.astype(np.float32)).permute(0, 3, 1, 2).contiguous()
    if backbone == "resnet18":
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        return (x / 255 - mean) / std
    if backbone == "efficientnet-lite0":
        return (x - 127) / 128
    if backbone == "resnet50-1by2":
        return x.flip(1) - torch.tensor([104.0, 117.0, 123.0]).view(1, 3, 1, 1)  # BGR minus Caffe means
    raise SystemExit(f"unknown backbone {backbone}")


# ---------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_student(backbone, path):
    model = ARCH[backbone]("bn", STUDENT_EPS)
    tensors = load_file(path)
    expected = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    # strict=True: raises on any missing or unexpected key and on any shape mismatch.
    model.load_state_dict(tensors, strict=True)
    assert set(tensors) == expected, "student file and model keys differ"
    return model.eval(), len(tensors)


def build_teacher(backbone, path):
    tensors = load_file(path)
    # The teacher file either has conv biases (BN folded, open_nsfw) or torch BatchNorm state.
    convs_with_bias = any(k.endswith(".bias") and k[:-5] + ".weight" in tensors and tensors[k[:-5] + ".weight"].dim() == 4
                          for k in tensors)
    mode = "bias" if convs_with_bias else "bn"
    model = ARCH[backbone](mode, TEACHER_BN_EPS[backbone])
    wanted = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    missing = sorted(wanted - set(tensors))
    if missing:
        raise SystemExit(f"{path}: teacher tensors missing: {missing[:5]}...")
    model.load_state_dict({k: tensors[k] for k in wanted}, strict=False)
    return model.eval(), mode, len(wanted)


# ---------------------------------------------------------------------------------------------------
# Pillow 13 bilinear resize in numpy (from /work/shared/reference/make_reference.py), bit-exact
# ---------------------------------------------------------------------------------------------------
PREC_BITS = 32 - 8 - 2


def pil_coeffs(in_size, out_size):
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 1.0 * filterscale
    out = []
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        k = []
        for x in range(xmax):
            t = abs((x + xmin - center + 0.5) / filterscale)
            k.append(1.0 - t if t < 1.0 else 0.0)
        ww = sum(k)
        k = [v / ww for v in k] if ww != 0.0 else k
        kk = [int(-0.5 + v * (1 << PREC_BITS)) if v < 0 else int(0.5 + v * (1 << PREC_BITS)) for v in k]
        out.append((xmin, kk))
    return out


def pil_pass_h(a, ow):
    H, W, C = a.shape
    res = np.empty((H, ow, C), np.int64)
    for xx, (xmin, kk) in enumerate(pil_coeffs(W, ow)):
        s = np.full((H, C), 1 << (PREC_BITS - 1), np.int64)
        for i, k in enumerate(kk):
            s += a[:, xmin + i, :] * k
        res[:, xx, :] = np.clip(s >> PREC_BITS, 0, 255)
    return res


def pil_resize_np(img_u8, ow, oh):
    a = img_u8.astype(np.int64)
    H, W, _ = a.shape
    need_h, need_v = ow != W, oh != H
    pass_v = lambda x, n: pil_pass_h(x.transpose(1, 0, 2), n).transpose(1, 0, 2)
    if need_h and need_v:
        vertical_first = (oh < H) and (2 * (W - ow) < (H - oh))   # Pillow 13's pass order
        out = pil_pass_h(pass_v(a, oh), ow) if vertical_first else pass_v(pil_pass_h(a, ow), oh)
    elif need_h:
        out = pil_pass_h(a, ow)
    elif need_v:
        out = pass_v(a, oh)
    else:
        out = a
    return out.astype(np.uint8)


def prepare(path, size):
    """(size x size x 3 uint8, note) -- note says whether the installed Pillow agrees with the port."""
    im = Image.open(path).convert("RGB")
    rgb = np.asarray(im)
    if im.size == (size, size):
        return rgb, "no resize"
    mine = pil_resize_np(rgb, size, size)
    if Image.__version__.split(".")[0] != "13":
        return mine, f"port (Pillow {Image.__version__} not compared)"
    theirs = np.asarray(im.resize((size, size), Image.Resampling.BILINEAR))
    return mine, "port == Pillow" if np.array_equal(mine, theirs) else "port != Pillow (port used)"


# ---------------------------------------------------------------------------------------------------
# Anomaly map
# ---------------------------------------------------------------------------------------------------

@torch.no_grad()
def anomaly_maps(teacher, student, x, size):
    maps = torch.ones(x.shape[0], 1, size, size, dtype=x.dtype)
    for t, s in zip(teacher(x), student(x)):
        d = 0.5 * (F.normalize(t, dim=1) - F.normalize(s, dim=1)).pow(2).sum(1, keepdim=True)
        maps = maps * F.interpolate(d, size=(size, size), mode="bilinear", align_corners=False)
    maps = maps[:, 0]
    return maps, maps.flatten(1).max(1).values


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="stpm model directory (config.json, student.safetensors)")
    ap.add_argument("images", nargs="+", help="PNG files")
    ap.add_argument("--stpm", default=os.path.join(here, "..", ".build", "release", "stpm"), help="stpm executable")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="torch arithmetic")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--score-tol", type=float, default=1e-4, help="max relative score difference (default 1e-4)")
    ap.add_argument("--map-tol", type=float, default=1.0, help="max map difference in 16-bit steps (default 1)")
    ap.add_argument("--keep", help="write stpm's maps and CSV here (default: a temporary folder, removed)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)

    with open(os.path.join(args.model, "config.json")) as f:
        config = json.load(f)
    backbone, size = config["backbone"], config["size"]
    teacher_path = config["teacherWeights"]
    if sha256(teacher_path) != config["teacherWeightsSHA256"]:
        raise SystemExit(f"{teacher_path}: sha256 differs from the one in config.json")
    student, n_student = build_student(backbone, os.path.join(args.model, "student.safetensors"))
    teacher, teacher_mode, n_teacher = build_teacher(backbone, teacher_path)
    teacher, student = teacher.to(dtype), student.to(dtype)
    print(f"model      {args.model}: {backbone}, size {size}")
    print(f"student    {n_student} tensors loaded with load_state_dict(strict=True), eval mode, BN eps {STUDENT_EPS:g}")
    print(f"teacher    {teacher_path}: {n_teacher} tensors, "
          + ("conv bias (BN folded in file)" if teacher_mode == "bias"
             else f"eval BatchNorm eps {TEACHER_BN_EPS[backbone]:g}"))
    print(f"torch      {torch.__version__}, {args.dtype}, {args.threads} threads")

    # stpm's own scores and maps.
    work = args.keep or tempfile.mkdtemp(prefix="stpm-parity-")
    maps_dir, csv_path = os.path.join(work, "maps"), os.path.join(work, "scores.csv")
    cmd = [args.stpm, "score", args.model, *args.images, "--maps", maps_dir, "--csv", csv_path]
    print("stpm       " + " ".join(cmd))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(csv_path, newline="") as f:
        rows = [r for r in csv.DictReader(f)]
    bad = [r["path"] for r in rows if r["error"]]
    if bad:
        raise SystemExit(f"stpm could not read: {bad}")

    # torch, on the same files in the same order.
    prepared = [prepare(r["path"], size) for r in rows]
    torch_maps, torch_scores = [], []
    for start in range(0, len(rows), args.batch):
        x = normalize_input(np.stack([p[0] for p in prepared[start:start + args.batch]]), backbone).to(dtype)
        m, s = anomaly_maps(teacher, student, x, size)
        torch_maps += [mm.double().numpy() for mm in m]
        torch_scores += [float(v) for v in s]

    print()
    header = f"{'image':<40} {'stpm score':>12} {'torch score':>12} {'score rel':>10} {'map max|d|':>11} {'steps':>6} {'step':>10} {'px!=16bit':>10}  result  resize"
    print(header)
    print("-" * len(header))
    failures = 0
    worst_rel, worst_steps = 0.0, 0.0
    for r, tmap, tscore, (_, note) in zip(rows, torch_maps, torch_scores, prepared):
        stpm_score, scale = float(r["score"]), float(r["map_scale"])
        q = np.asarray(Image.open(os.path.join(maps_dir, r["map16"])))
        assert q.shape == (size, size) and q.dtype == np.uint16, f"{r['map16']}: {q.shape} {q.dtype}"
        stpm_map = q.astype(np.float64) / 65535 * scale
        step = scale / 65535
        rel = abs(tscore - stpm_score) / abs(stpm_score) if stpm_score != 0 else abs(tscore)
        diff = float(np.abs(np.clip(tmap, 0, scale) - stpm_map).max())
        # The torch map quantised by stpm's rule (OverlayHeatmap.gray16): pixels whose 16-bit value differs.
        tq = np.round(np.clip(tmap / scale, 0, 1) * 65535)
        differing = int((tq != q).sum())
        ok = rel <= args.score_tol and diff <= args.map_tol * step
        failures += not ok
        worst_rel, worst_steps = max(worst_rel, rel), max(worst_steps, diff / step)
        name = r["path"] if len(r["path"]) <= 40 else "..." + r["path"][-37:]
        print(f"{name:<40} {stpm_score:>12.6g} {tscore:>12.6g} {rel:>10.2e} {diff:>11.3e} {diff / step:>6.3f} "
              f"{step:>10.3e} {differing:>10}  {'PASS' if ok else 'FAIL':<6}  {note}")
    print()
    print(f"score rel = |torch - stpm| / stpm (stpm from the CSV, 6 significant digits), tolerance {args.score_tol:g}")
    print(f"map max|d| = max |torch map - map16 / 65535 * map_scale|; steps = max|d| / step, step = map_scale / 65535 "
          f"(rounding alone: <= 0.5), tolerance {args.map_tol:g} step(s)")
    print(f"px!=16bit = pixels (of {size}x{size}) where the torch map, quantised as stpm does, differs from stpm's map16")
    print(f"worst: score rel {worst_rel:.2e}, map {worst_steps:.3f} steps")
    print(f"{'PASS' if failures == 0 else 'FAIL'}: {len(rows) - failures} of {len(rows)} images within tolerance")
    if not args.keep:
        import shutil
        shutil.rmtree(work)
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
