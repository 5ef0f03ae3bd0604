#!/usr/bin/env python3
"""Per layer, the shared-memory load site with the most requests (the hot loop's), from `dsconv profile
--sites --format json` rows: its width, wavefronts per request and bank conflicts. Modelled."""
import json
import sys

print("# The hot loop's shared loads: per layer, the shared-memory load site with the most requests")
print("# (dsconv profile --sites, N=32, --max-blocks 64; model, H100). Ideal wavefronts per request:")
print("# 1 for 4-byte lane reads, 2 for 8-byte ones (256 bytes a warp); 'conflicts' = extra wavefronts.")
for path in sys.argv[1:]:
    rows = json.load(open(path))
    print("\n## %s" % path)
    for r in rows:
        loads = [s for s in r["sites"] if s.get("space") == "shared" and s["op"] == "load"]
        hot = max(loads, key=lambda s: s["requests"])
        print("%-38s %-52s %dB  %s wf/req  %s conflicts  %s" % (
            r["suite"] + "/" + r["layer"], r["implementation"], hot["width"], hot["wavefronts_per_request"],
            hot["bank_conflicts"], hot["where"]))
