#!/usr/bin/env python3
"""Prints this folder's table (markdown) from its JSON: per separable layer, the resident-A fused kernel and
the two passes, their ratio, the resident kernel's grid, bytes and bound, and the plan the selection takes.
A model, not a measurement (dsconv profile, H100, uncalibrated, with L1)."""
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    out = {}
    for r in json.load(open(os.path.join(HERE, name + ".json"))):
        if "modelled_us" not in r:
            continue
        e = out.setdefault(r["problem"], {"us": 0.0, "l2": 0.0, "st": 0.0, "dram": 0.0, "impl": r["implementation"],
                                          "blocks": r["total_blocks"], "bound": []})
        e["us"] += r["modelled_us"]
        e["l2"] += r["l2_bytes"] / 1e6
        e["st"] += r["l2_store_bytes"] / 1e6
        e["dram"] += r["dram_bytes"] / 1e6
        e["bound"].append(r["bound"])
    return out


res, two, chosen = load("resident"), load("twopass"), load("chosen")
a100_res, a100_two = load("a100_resident"), load("a100_twopass")
print("| layer | resident blocks | resident µs | bound | L2 MB (stores) | two-pass µs | two-pass / resident | "
      "DRAM MB resident / two | plan taken |")
print("|---|---:|---:|---|---|---:|---:|---|---|")
for prob in res:
    f, t, c = res[prob], two.get(prob), chosen.get(prob)
    m = re.match(r"separable_n(\d+)h(\d+)w\d+c(\d+)_k3x3_m1_o(\d+)_s1x1_d(\d+)x\d+_psame_nhwc_tf_(\w+)", prob)
    n, hw, c_in, o, d, dt = m.groups()
    layer = "%sx%s %s→%s%s N=%s %s" % (hw, hw, c_in, o, " rate " + d if d != "1" else "", n, dt)
    plan = "" if not c else "resident" if "_resident" in c["impl"] else "fused" if "_fused_" in c["impl"] else "two-pass"
    print("| %s | %d | %.2f | %s | %.0f (%.0f) | %.2f | %.2fx | %.1f / %.1f | %s |" % (
        layer, f["blocks"], f["us"], "+".join(f["bound"]), f["l2"], f["st"], t["us"], t["us"] / f["us"], f["dram"],
        t["dram"], plan))

print()
print("A100 (sm_80):")
print()
print("| layer | resident tile | resident µs | bound | two-pass µs | two-pass / resident |")
print("|---|---|---:|---|---:|---:|")
for prob in a100_res:
    f, t = a100_res[prob], a100_two[prob]
    print("| %s | %s | %.2f | %s | %.2f | %.2fx |" % (prob, f["impl"].split("_tile")[1], f["us"], "+".join(f["bound"]),
                                                t["us"], t["us"] / f["us"]))
