#!/usr/bin/env python3
"""One markdown table of `dsconv profile` rows at two batch sizes (e.g. N=1 and N=32), side by side:
per layer the implementation, then for each batch the modelled time, % of copy bandwidth and bound,
and at the larger batch the sectors per request and bank conflicts. Layers whose problem (at the
first batch) repeats an earlier row are left out. Every figure is modelled, never measured.

  python3 bench/model_table.py SMALL.json LARGE.json > table.md
"""
import json
import sys


def key(r):
    return (r.get("suite", ""), r.get("layer", ""), r.get("launch", 0))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    small, large = (json.load(open(p)) for p in sys.argv[1:])
    by_key = {key(r): r for r in large}
    device = small[0].get("device_name", "?") if small else "?"
    print("Modelled on %s by dsconv's performance model (uncalibrated; not measured)." % device)
    print()
    print("| layer | implementation | N=1 us | N=1 %copy | N=1 bound | N=32 us | N=32 %copy | N=32 bound "
          "| sect/req | bank confl. |")
    print("|---|---|---:|---:|---|---:|---:|---|---:|---:|")
    seen = set()
    for r in small:
        if r.get("launch", 0) != 0 or r["problem"] in seen:
            continue
        seen.add(r["problem"])
        big = by_key.get(key(r), {})
        name = "%s/%s" % (r["suite"], r["layer"])
        if "skipped" in r:
            print("| %s | not run by the cuda backend | | | | | | | | |" % name)
            continue
        print("| %s | `%s` | %.2f | %.0f | %s | %s | %s | %s | %s | %s |" % (
            name, r["implementation"], r["modelled_us"], r["modelled_pct_copy_bw"], r["bound"],
            "%.2f" % big["modelled_us"] if big else "-", "%.0f" % big["modelled_pct_copy_bw"] if big else "-",
            big.get("bound", "-"), "%.1f" % big["sectors_per_request"] if big else "-",
            "%.0f" % big["smem_bank_conflicts"] if big else "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
