#!/usr/bin/env python3
"""For every N=1 layer of after_n1_{f32,f16}.json that took a small specialized tile, prints the dsconv profile
command that forces the large tile of the same kernel; run its output with bash from the repository root
and compare the times (small_vs_large_n1.txt holds the result)."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
for dt in ("f32", "f16"):
    for r in json.load(open(os.path.join(HERE, "after_n1_%s.json" % dt))):
        impl = r["implementation"]
        if impl.startswith("dw_fwd_nhwc_k") and "s1_" in impl and impl.endswith("_tile8x8"):
            large = impl[: -len("tile8x8")] + "tile8x16"
        elif impl.startswith("dw_fwd_nhwc_k") and impl.endswith("_tile4x8"):
            large = impl[: -len("tile4x8")] + "tile8x8"
        else:
            continue
        print("# %s/%s %s small %.2f us" % (r["suite"], r["layer"], dt, r["modelled_us"]))
        print("build/profile/bin/dsconv profile %s --device h100 --impl %s" % (r["problem"], large))
