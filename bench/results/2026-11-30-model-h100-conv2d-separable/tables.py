#!/usr/bin/env python3
"""The markdown tables of this folder's modelled figures (run.sh writes the JSON): the ASPP conv2d per tile
and the one the selection takes, and the separable layers fused and in two passes. Every figure is a model
(dsconv profile, card H100, uncalibrated), never a measurement."""
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
PEAK_TFLOPS = 989.0  # the model's H100 SXM5 dense f16 tensor-core peak


def load(name):
    return json.load(open(os.path.join(HERE, name)))


def layer(problem):
    m = re.match(r"(\w+?)_n(\d+)h(\d+)w(\d+)c(\d+)_k(\d+)x\d+(?:_m\d+)?_o(\d+)_s\dx\d_d(\d+)x\d+", problem)
    op, n, h, w, c, k, o, d = m.groups()
    return "%sx%s c%s→%s rate %s" % (h, w, c, o, d)


def tile(impl):
    t = re.search(r"tile(\d+x\d+)", impl).group(1)
    return t + " cp.async" if "_async" in impl else t


def nominal_flops(problem):
    m = re.match(r"conv2d_n(\d+)h(\d+)w(\d+)c(\d+)_k(\d+)x(\d+)_o(\d+)", problem)
    n, h, w, c, kh, kw, o = map(int, m.groups())
    return 2.0 * n * h * w * o * c * kh * kw  # SAME, stride 1: OH x OW = H x W


def aspp():
    runs = {t: load("aspp_%s.json" % t) for t in ("narrow", "tall", "wide", "async64", "async128", "chosen")}
    print("| layer (N=8, f16) | 64x64 µs | 128x64 µs | 128x128 µs | cp.async 64x128 µs | cp.async 128x128 µs "
          "| chosen | µs | mma util. | nominal TFLOP/s | bound | L2/ideal |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|")
    for i, r in enumerate(runs["chosen"]):
        util = r["mma_flops"] / (r["modelled_us"] * 1e-6) / (PEAK_TFLOPS * 1e12)
        nominal = nominal_flops(r["problem"]) / (r["modelled_us"] * 1e-6) / 1e12
        print("| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %s | %.0f | %.0f%% | %.0f | %s | %.1f |" % (
            layer(r["problem"]), runs["narrow"][i]["modelled_us"], runs["tall"][i]["modelled_us"],
            runs["wide"][i]["modelled_us"], runs["async64"][i]["modelled_us"], runs["async128"][i]["modelled_us"],
            tile(r["implementation"]), r["modelled_us"], 100 * util, nominal, r["bound"],
            r["l2_bytes"] / r["ideal_bytes"]))


def per_problem(rows):
    out = {}
    for r in rows:
        out.setdefault(r["problem"], []).append(r)
    return out


def total(rows, field):
    return sum(r[field] for r in rows if field in r)


def separable():
    fused, two, chosen = (per_problem(load("separable_%s.json" % k)) for k in ("fused", "twopass", "chosen"))
    print("| layer (N=8, f16) | default plan | fused µs | two-pass µs | fused speed-up | fused DRAM MB | two-pass DRAM MB | in+filters+out MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for problem, rows in chosen.items():
        f, t = fused.get(problem, []), two.get(problem, [])
        ran = f and "skipped" not in f[0]
        kind = "fused" if "_fused_" in rows[0]["implementation"] else "two-pass"
        print("| %s | %s%s | %s | %.0f | %s | %s | %.1f | %.1f |" % (
            layer(problem), kind, " `%s`" % tile(rows[0]["implementation"]) if kind == "fused" else "",
            "%.0f" % total(f, "modelled_us") if ran else "not offered", total(t, "modelled_us"),
            "%.2fx" % (total(t, "modelled_us") / total(f, "modelled_us")) if ran else "",
            "%.1f" % (total(f, "dram_bytes") / 1e6) if ran else "", total(t, "dram_bytes") / 1e6,
            t[0]["ideal_bytes"] / 1e6))


if __name__ == "__main__":
    aspp()
    print()
    separable()
