#!/usr/bin/env python3
"""Prints this folder's table (markdown) from its JSON: the fused separable kernel's 128x128 tiles whole and
with the split tail, the 64x256 tile with the split tail (the plan chosen now), and the two passes, per layer. A model, not a measurement (dsconv profile, H100, uncalibrated)."""
import json
import re
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    path = os.path.join(HERE, name + ".json")
    if not os.path.exists(path):
        return {}
    out = {}
    for r in json.load(open(path)):
        if "modelled_us" not in r:  # a problem the implementation does not run (the row says why)
            continue
        e = out.setdefault(r["problem"], {"us": 0.0, "l2": 0.0, "dram": 0.0, "launches": [], "impl": r["implementation"]})
        e["us"] += r["modelled_us"]
        e["l2"] += r["l2_bytes"] / 1e6
        e["dram"] += r["dram_bytes"] / 1e6
        e["launches"].append("%s %.1f" % (r["bound"], r["modelled_us"]))
    return out


whole, split, chosen, two = load("fused_whole"), load("fused_split"), load("fused_chosen"), load("twopass")
print("| layer (N=8, f16) | 128x128 whole µs | L2 MB | 128x128 split µs | L2 MB | 64x256 split (chosen) µs | L2 MB "
      "| bound | chosen / 128x128 whole | two-pass µs | chosen / two-pass |")
print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")


def cell(e, key, fmt):
    return fmt % e[key] if e else ""


for prob in sorted(chosen or split, key=lambda p: int(p.split("_d")[1].split("x")[0])):
    rate = prob.split("_d")[1].split("x")[0]
    w, s, c, t = whole.get(prob), split.get(prob), chosen.get(prob), two.get(prob)
    cells = ["33x33 c2048→256 rate " + rate]
    cells += [cell(w, "us", "%.1f"), cell(w, "l2", "%.0f"), cell(s, "us", "%.1f"), cell(s, "l2", "%.0f")]
    cells += [cell(c, "us", "%.1f"), cell(c, "l2", "%.0f"), c["launches"][0].split()[0] if c else ""]
    cells += ["%.2fx" % (w["us"] / c["us"])] if w and c else [""]
    cells += [cell(t, "us", "%.1f"), "%.2fx" % (t["us"] / c["us"]) if t and c else ""]
    print("| " + " | ".join(cells) + " |")

mb_fused, mb_f128, mb_two = load("mbv1_fused"), load("mbv1_fused128"), load("mbv1_twopass")
if mb_two:
    print()
    print("| MobileNetV1 layer (N=8, f16) | fused as chosen | µs | L2 MB | fused 128x128 µs | two-pass µs | DRAM MB "
          "(fused / two-pass) | chosen fused / two-pass | plan taken |")
    print("|---|---|---:|---:|---:|---:|---|---:|---|")
    for prob in sorted(mb_two, key=lambda p: -int(re.search(r"h(\d+)w", p).group(1))):
        h, c = re.search(r"h(\d+)w\d+c(\d+)_", prob).groups()
        f, f128, t = mb_fused.get(prob), mb_f128.get(prob), mb_two[prob]
        tile = f["impl"].split("_tile")[1].split("x32")[0] if f else "not offered"
        cells = ["%sx%s c%s→%s" % (h, h, c, c), tile, cell(f, "us", "%.2f"), cell(f, "l2", "%.0f")]
        cells += [cell(f128, "us", "%.2f"), "%.2f" % t["us"]]
        cells += ["%s / %.1f" % (cell(f, "dram", "%.1f") or "-", t["dram"])]
        cells += ["%.2fx" % (t["us"] / f["us"]) if f else ""]
        cells += ["fused" if f else "two-pass"]
        print("| " + " | ".join(cells) + " |")
