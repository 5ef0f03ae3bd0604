#!/usr/bin/env python3
"""Before/after tables of this folder's JSON (dsconv profile rows): per layer, the modelled time, % of
copy bandwidth and bound before and after, and the implementation after. Modelled, never measured."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return json.load(f)


def table(title, before, after):
    b = {(r["suite"], r["layer"]): r for r in load(before)}
    print("### %s\n" % title)
    print("| layer | MB | before us | before %copy | before bound | after us | after %copy | after bound | implementation after |")
    print("|---|---:|---:|---:|---|---:|---:|---|---|")
    seen = set()
    for r in load(after):
        k = (r["suite"], r["layer"])
        if k not in b or r["problem"] in seen:
            continue
        seen.add(r["problem"])
        o = b[k]
        print("| %s/%s | %.2f | %.2f | %.0f | %s | %.2f | %.0f | %s | `%s` |" % (
            k[0], k[1], r["ideal_bytes"] / 1e6, o["modelled_us"], o["modelled_pct_copy_bw"], o["bound"],
            r["modelled_us"], r["modelled_pct_copy_bw"], r["bound"], r["implementation"]))
    print()


print("Modelled on an H100 SXM5 by dsconv's performance model (uncalibrated; not measured). Layers whose")
print("problem repeats an earlier row are left out.\n")
for n in (1, 32):
    for dt in ("f32", "f16"):
        table("N=%d %s" % (n, dt), "before_n%d_%s.json" % (n, dt), "after_n%d_%s.json" % (n, dt))
