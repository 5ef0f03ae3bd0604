#!/usr/bin/env python3
"""Prints this folder's tables (markdown) from its JSON: per NCHW depthwise layer, dtype and batch, the generic NCHW
kernel (before) and the plan the selection takes now (after): modelled time, % of copy bandwidth, bound, L2 bytes
over the ideal and shared wavefronts per request; then the ranges against the issue's goals. A model, not a
measurement (dsconv profile, H100, uncalibrated, with L1).

Usage: tables.py [FOLDER [BEFORE_LABEL]]: another results folder with the same before_/after_ JSON files
(bench/results/2026-12-03-model-h100-nchw-pairs), and the name of its "before" column."""
import json
import os
import sys

HERE = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
BEFORE = sys.argv[2] if len(sys.argv) > 2 else "before: generic NCHW"
SUITES = ["mobilenet_v2", "efficientnet_b0", "mobilenet_v3"]


def load(name):
    rows = {}
    for r in json.load(open(os.path.join(HERE, name + ".json"))):
        if "modelled_us" in r:
            rows[r["layer"]] = r
    return rows


def pct(r):
    return r["modelled_pct_copy_bw"]


summary = []
for dt in ["f32", "f16"]:
    for n in [1, 32]:
        print("### %s, N=%d\n" % (dt, n))
        print("| layer | %s | µs | %%copy | bound | after | µs | %%copy | bound | L2/ideal | wf/rq | "
              "speed-up |" % BEFORE)
        print("|---|---|---:|---:|---|---|---:|---:|---|---:|---:|---:|")
        seen = set()
        group = {"before": [], "after": [], "before_big": [], "after_big": [], "l2": [], "wf": []}
        for s in SUITES:
            before, after = load("before_%s_%s_n%d" % (s, dt, n)), load("after_%s_%s_n%d" % (s, dt, n))
            for layer, a in after.items():
                key = a["problem"]
                if key in seen:  # a shape repeated within or across suites
                    continue
                seen.add(key)
                b = before[layer]
                big = a["ideal_bytes"] >= 1e6
                group["before"].append(pct(b))
                group["after"].append(pct(a))
                if big:
                    group["before_big"].append(pct(b))
                    group["after_big"].append(pct(a))
                group["l2"].append(a["l2_bytes"] / a["ideal_bytes"])
                group["wf"].append(a["smem_wavefronts_per_request"])
                print("| %s | `%s` | %.2f | %.0f | %s | `%s` | %.2f | %.0f | %s | %.2f | %.2f | %.2fx |" % (
                    layer, b["implementation"], b["modelled_us"], pct(b), b["bound"], a["implementation"],
                    a["modelled_us"], pct(a), a["bound"], a["l2_bytes"] / a["ideal_bytes"],
                    a["smem_wavefronts_per_request"], b["modelled_us"] / a["modelled_us"]))
        print()
        summary.append((dt, n, group))


def rng(v):
    return "%.0f–%.0f%%" % (min(v), max(v)) if v else "none"


print("### Against the goals\n")
print("| rows | layers | before | after | goal | L2/ideal after | wf/rq after |")
print("|---|---:|---|---|---|---|---|")
for dt, n, g in summary:
    if n == 32:
        print("| %s, N=32 | %d | %s | %s | ≥ 85%% | %.2f–%.2f | %.2f–%.2f |" % (
            dt, len(g["after"]), rng(g["before"]), rng(g["after"]), min(g["l2"]), max(g["l2"]), min(g["wf"]),
            max(g["wf"])))
    else:
        print("| %s, N=1, layers of at least 1 MB | %d | %s | %s | ≥ 50%% | %.2f–%.2f | %.2f–%.2f |" % (
            dt, len(g["after_big"]), rng(g["before_big"]), rng(g["after_big"]), min(g["l2"]), max(g["l2"]),
            min(g["wf"]), max(g["wf"])))
