#!/usr/bin/env python3
"""Reference values for stpm's DeLong test (Tests/DetectionTests/DeLongTests.swift) and for `stpm compare --json`.

The test below is the widely used fast DeLong of Sun & Xu (2014) as published in
yandexdataschool/roc_comparison (compare_auc_delong_xu.py), with numpy and scipy.

  python3 scripts/delong_reference.py              # prints the cases the Swift test hard-codes
  python3 scripts/delong_reference.py compare.json # recomputes the p-values of `stpm compare A B DATA --json compare.json`
"""
import json
import sys

import numpy as np
import scipy.stats


def compute_midrank(x):
    order = np.argsort(x, kind="mergesort")
    z = x[order]
    n = len(x)
    t = np.zeros(n, dtype=float)
    i = 0
    while i < n:
        j = i
        while j < n and z[j] == z[i]:
            j += 1
        t[i:j] = 0.5 * (i + j - 1)
        i = j
    ranks = np.empty(n, dtype=float)
    ranks[order] = t + 1
    return ranks


def fast_delong(predictions_sorted_transposed, label_1_count):
    m = label_1_count
    n = predictions_sorted_transposed.shape[1] - m
    positive = predictions_sorted_transposed[:, :m]
    negative = predictions_sorted_transposed[:, m:]
    k = predictions_sorted_transposed.shape[0]
    tx = np.array([compute_midrank(positive[r]) for r in range(k)])
    ty = np.array([compute_midrank(negative[r]) for r in range(k)])
    tz = np.array([compute_midrank(predictions_sorted_transposed[r]) for r in range(k)])
    aucs = tz[:, :m].sum(axis=1) / m / n - float(m + 1.0) / 2.0 / n
    v01 = (tz[:, :m] - tx) / n
    v10 = 1.0 - (tz[:, m:] - ty) / m
    sx = np.cov(v01)
    sy = np.cov(v10)
    return aucs, sx / m + sy / n


def delong_roc_test(labels, scores_a, scores_b):
    labels = np.asarray(labels, dtype=bool)
    order = np.concatenate([np.flatnonzero(labels), np.flatnonzero(~labels)])
    preds = np.vstack((np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)))[:, order]
    aucs, cov = fast_delong(preds, int(labels.sum()))
    l = np.array([[1, -1]])
    var = float((l @ cov @ l.T)[0, 0])
    z = (aucs[1] - aucs[0]) / np.sqrt(var)
    p = 2 * scipy.stats.norm.sf(abs(z))
    return float(aucs[0]), float(aucs[1]), var, float(z), float(p)


def cases():
    """The same inputs as DeLongTests.swift: one small hand-written set with ties, two integer formulas."""
    yield "small with ties", [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], \
        [0.9, 0.8, 0.8, 0.4, 0.3, 0.8, 0.5, 0.4, 0.4, 0.2, 0.1, 0.1], \
        [0.7, 0.9, 0.6, 0.6, 0.2, 0.6, 0.3, 0.5, 0.1, 0.2, 0.2, 0.0]
    n = 60
    yield "formula n=60", [i % 3 == 0 for i in range(n)], \
        [((i * 37) % 101 + 30 * (i % 3 == 0)) / 100 for i in range(n)], \
        [((i * 53) % 89 + 25 * (i % 3 == 0)) / 100 for i in range(n)]
    n = 300
    yield "formula n=300 (tail)", [i % 3 == 0 for i in range(n)], \
        [((i * 37) % 101) / 100 for i in range(n)], \
        [((i * 53) % 17 + 15 * (i % 3 == 0)) / 100 for i in range(n)]


def main():
    if len(sys.argv) == 2:
        report = json.load(open(sys.argv[1]))
        images = report["images"]
        groups = [("all", images)] + [(t, [x for x in images if x["type"] in (t, "good")]) for t in sorted(report["per_type"])]
        for name, group in groups:
            labels = [x["defective"] for x in group]
            a, b, var, z, p = delong_roc_test(labels, [x["score_a"] for x in group], [x["score_b"] for x in group])
            stored = report["all"] if name == "all" else report["per_type"][name]
            print(f"{name:14s} auc_a {a:.6f} auc_b {b:.6f} z {z:+.6f} p {p:.6g}   stpm: p {stored['delong_p']}")
        return
    for name, labels, a, b in cases():
        auc_a, auc_b, var, z, p = delong_roc_test(labels, a, b)
        print(f"{name}: aucA {auc_a!r} aucB {auc_b!r} variance {var!r} z {z!r} p {p!r}")


if __name__ == "__main__":
    main()
