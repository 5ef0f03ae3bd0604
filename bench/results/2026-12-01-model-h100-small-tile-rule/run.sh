#!/usr/bin/env bash
# Regenerates this folder's "after" files: the depthwise suites at N=1, f32 and f16, modelled on an H100
# (uncalibrated). Run from the repository root after `cmake --workflow --preset profile`. The "before" files
# are ../2026-12-01-model-h100-async-staging/after_n1_{f32,f16}.json (the rule before this change).
set -euo pipefail
P=$(realpath "${DSCONV:-build/profile/bin/dsconv}")
cd "$(dirname "$0")"
S="--suite mobilenet_v2 --suite efficientnet_b0 --suite mobilenet_v3 --suite convnext"
$P profile $S --batch 1 --device h100 --max-blocks 512 --format json --out after_n1_f32.json > /dev/null
$P profile $S --batch 1 --dtype f16 --device h100 --max-blocks 512 --format json --out after_n1_f16.json > /dev/null
python3 compare.py > compare.md
