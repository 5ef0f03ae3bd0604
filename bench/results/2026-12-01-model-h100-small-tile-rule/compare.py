#!/usr/bin/env python3
"""The rows of this folder's N=1 profiles whose implementation or modelled time moved, before (small tile when
the large tile's grid has fewer blocks than SMs) and after (at most one block for every two SMs), and the
range of % copy bandwidth over the MobileNet/EfficientNet layers of at least 1 MB. Modelled, never measured."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
GOAL_SUITES = ("mobilenet_v2", "efficientnet_b0", "mobilenet_v3")


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return json.load(f)


for dt in ("f32", "f16"):
    before, after = load("before_n1_%s.json" % dt), load("after_n1_%s.json" % dt)
    print("### N=1 %s\n" % dt)
    print("| layer | before | us | %copy | after | us | %copy | after / before |")
    print("|---|---|---:|---:|---|---:|---:|---:|")
    for b, a in zip(before, after):
        assert b["problem"] == a["problem"]
        if b["implementation"] != a["implementation"] or b["modelled_us"] != a["modelled_us"]:
            print("| %s/%s | `%s` | %.3f | %.1f | `%s` | %.3f | %.1f | %.2f |" % (
                a["suite"], a["layer"], b["implementation"], b["modelled_us"], b["modelled_pct_copy_bw"],
                a["implementation"], a["modelled_us"], a["modelled_pct_copy_bw"], a["modelled_us"] / b["modelled_us"]))
    for name, rows in (("before", before), ("after", after)):
        pct = [r["modelled_pct_copy_bw"] for r in rows if r["suite"] in GOAL_SUITES and r["ideal_bytes"] >= 1e6]
        print("\n%s: %d layers of at least 1 MB, %.1f-%.1f%% of copy bandwidth" % (name, len(pct), min(pct), max(pct)))
    print()
