#!/usr/bin/env bash
# The issue's L2->SM goal (at most 1.3x the ideal bytes) per depthwise layer of mobilenet_v2, efficientnet_b0
# and mobilenet_v3 at N=1 and N=32, f32 and f16, modelled on an H100 (uncalibrated), and the causes of every
# row over it (l2_gaps.py). Run from the repository root after `cmake --workflow --preset profile`.
set -euo pipefail
P=${DSCONV:-build/profile/bin/dsconv}
cd "$(dirname "$0")"
P=$(cd "$OLDPWD" && realpath "$P")
S="--suite mobilenet_v2 --suite efficientnet_b0 --suite mobilenet_v3"
for n in 1 32; do
  for dt in f32 f16; do
    $P profile $S --batch $n --dtype $dt --device h100 --max-blocks 512 --format json --out n${n}_${dt}.json > /dev/null
  done
done
python3 l2_gaps.py n32_f32.json n32_f16.json n1_f32.json n1_f16.json > l2_gaps.md
