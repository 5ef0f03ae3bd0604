#!/usr/bin/env python3
"""The ASPP table of this folder (run.sh writes the JSON): per layer, the plan without the split tail (the
whole tiles the selection took before it: 64x128 on 33x33, 128x128 on 65x65) and the plan now (128x128
with the tail split, its two launches summed), profiled by the same build with the same sampling. Every
figure is a model (dsconv profile, card H100, uncalibrated), never a measurement."""
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
PEAK_TFLOPS = 989.0  # the model's H100 SXM5 dense f16 tensor-core peak


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return json.load(f)


def per_problem(rows):
    out = {}
    for r in rows:
        out.setdefault(r["problem"], []).append(r)
    return out


def layer(problem):
    h, w, c, o, d = re.match(r"conv2d_n\d+h(\d+)w(\d+)c(\d+)_k\dx\d_o(\d+)_s1x1_d(\d+)", problem).groups()
    return "%sx%s c%s→%s rate %s" % (h, w, c, o, d)


def nominal_flops(problem):
    n, h, w, c, kh, kw, o = map(int, re.match(r"conv2d_n(\d+)h(\d+)w(\d+)c(\d+)_k(\d+)x(\d+)_o(\d+)", problem).groups())
    return 2.0 * n * h * w * o * c * kh * kw  # SAME, stride 1


def tile(impl):
    m = re.search(r"tile(\d+x\d+)x32(_tailsplit\d+)?", impl)
    return m.group(1) + (m.group(2) or "")


def util(rows, t):
    return 100 * sum(r["mma_flops"] for r in rows) / (t * 1e-6) / (PEAK_TFLOPS * 1e12)


whole, now = {}, {}
for size, w in (("33", "whole64x128"), ("65", "whole128x128")):
    whole.update(per_problem(load("aspp%s_%s.json" % (size, w))))
    now.update(per_problem(load("aspp%s_chosen.json" % size)))

print("| layer (N=8, f16) | whole tiles | µs | mma util. | bound | now | slices µs | fixup µs | µs | mma util. | "
      "nominal TFLOP/s | bound | speed-up |")
print("|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---|---:|")
for problem, rows in now.items():
    w = whole[problem]
    tw = sum(r["modelled_us"] for r in w)
    t = sum(r["modelled_us"] for r in rows)
    print("| %s | %s | %.1f | %.0f%% | %s | %s | %.1f | %s | %.1f | %.0f%% | %.0f | %s | %.2fx |" % (
        layer(problem), tile(w[0]["implementation"]), tw, util(w, tw), w[0]["bound"], tile(rows[0]["implementation"]),
        rows[0]["modelled_us"], "%.1f" % rows[1]["modelled_us"] if len(rows) > 1 else "–", t, util(rows, t),
        nominal_flops(problem) / (t * 1e-6) / 1e12, rows[0]["bound"], tw / t))
