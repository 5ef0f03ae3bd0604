#!/usr/bin/env python3
"""Prints this folder's table (markdown) from its JSON: per separable layer, the fused kernel and the two
passes, their ratio, the fused grid and the plan the selection takes. A model, not a measurement (dsconv
profile, H100, uncalibrated, with L1)."""
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    out = {}
    for r in json.load(open(os.path.join(HERE, name + ".json"))):
        if "modelled_us" not in r:
            continue
        e = out.setdefault(r["problem"], {"us": 0.0, "l2": 0.0, "l1": 0.0, "dram": 0.0, "impl": r["implementation"],
                                          "blocks": r["total_blocks"], "bound": []})
        e["us"] += r["modelled_us"]
        e["l2"] += r["l2_bytes"] / 1e6
        e["l1"] += r.get("l1_hit_bytes", 0) / 1e6
        e["dram"] += r["dram_bytes"] / 1e6
        e["bound"].append(r["bound"])
    return out


fused, two, chosen = load("fused"), load("twopass"), load("chosen")
print("| layer | fused tile | fused blocks | fused µs | L2 / L1 MB | two-pass µs | two-pass / fused | DRAM MB fused / two | "
      "plan taken |")
print("|---|---|---:|---:|---|---:|---:|---|---|")
for prob in fused:
    f, t, c = fused[prob], two.get(prob), chosen.get(prob)
    m = re.match(r"separable_n(\d+)h(\d+)w\d+c(\d+)_k3x3_m1_o(\d+)_s1x1_d(\d+)x\d+_psame_nhwc_tf_(\w+)", prob)
    n, hw, c_in, o, d, dt = m.groups()
    layer = "%sx%s %s→%s%s N=%s %s" % (hw, hw, c_in, o, " rate " + d if d != "1" else "", n, dt)
    tile = f["impl"].split("_tile")[1]
    plan = "fused" if c and "_fused_" in c["impl"] else "two-pass" if c else ""
    print("| %s | %s | %d | %.2f | %.0f / %.0f | %.2f | %.2fx | %.1f / %.1f | %s |" % (
        layer, tile, f["blocks"], f["us"], f["l2"], f["l1"], t["us"], t["us"] / f["us"], f["dram"], t["dram"], plan))
