#!/usr/bin/env python3
"""Prints this folder's tables (markdown) from its JSON: every layer whose plan or modelled figures the
narrow lattice tile changes, before and after, and the hot loop's shared loads of the changed layers.
A model, not a measurement (dsconv profile, H100, uncalibrated)."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def rows(name):
    path = os.path.join(HERE, name + ".json")
    if not os.path.exists(path):
        return {}
    out = {}
    for r in json.load(open(path)):
        if "modelled_us" not in r:
            continue
        key = (r.get("suite", "") + "/" + r["layer"]) if r.get("layer") else r["problem"]
        out[key] = r
    return out


def pct(r):
    return "%.1f" % r["modelled_pct_copy_bw"] if "modelled_pct_copy_bw" in r else ""


print("# The narrow lattice tile: every row whose plan or figures moved (model, H100, uncalibrated)")
print()
print("| set | layer / problem | before | after | before µs | after µs | before %copy | after %copy "
      "| bound before → after | L2 MB before → after | smem wavefronts before → after |")
print("|---|---|---|---|---:|---:|---:|---:|---|---|---|")
sets = [("mnv3_n%d_%s" % (n, dt), "MobileNetV3 N=%d %s" % (n, dt)) for n in (1, 32) for dt in ("f32", "f16")]
sets.append(("lattice", "DeepLab lattice set"))
unchanged = 0
for name, label in sets:
    b, a = rows("before_" + name), rows("after_" + name)
    for key in a:
        rb, ra = b.get(key), a[key]
        if rb is None:
            continue
        same = rb["implementation"] == ra["implementation"] and abs(rb["modelled_us"] - ra["modelled_us"]) < 1e-3
        if same:
            unchanged += 1
            continue
        short = lambda s: s.replace("dw_fwd_nhwc_", "")
        print("| %s | %s | `%s` | `%s` | %.2f | %.2f | %s | %s | %s → %s | %.2f → %.2f | %d → %d |" % (
            label, key.replace("depthwise_", ""), short(rb["implementation"]), short(ra["implementation"]),
            rb["modelled_us"], ra["modelled_us"], pct(rb), pct(ra), rb["bound"], ra["bound"],
            rb["l2_bytes"] / 1e6, ra["l2_bytes"] / 1e6, rb["smem_wavefronts"], ra["smem_wavefronts"]))
print()
print("%d other rows: the same plan and the same modelled time." % unchanged)

for pre in ("before", "after"):
    path = os.path.join(HERE, pre + "_sites_n32_f16.json")
    if not os.path.exists(path):
        continue
    print()
    print("## Hot loop, %s (MobileNetV3 N=32 f16, --max-blocks 64: the shared load site with the most requests)" % pre)
    print()
    print("| layer | implementation | width | wavefronts / request | conflicts | site |")
    print("|---|---|---:|---:|---:|---|")
    for r in json.load(open(path)):
        if "_d2" not in r["layer"]:
            continue
        loads = [s for s in r["sites"] if s.get("space") == "shared" and s["op"] == "load"]
        hot = max(loads, key=lambda s: s["requests"])
        print("| %s | `%s` | %dB | %s | %s | %s |" % (r["layer"], r["implementation"], hot["width"],
                                                   hot["wavefronts_per_request"], hot["bank_conflicts"], hot["where"]))
