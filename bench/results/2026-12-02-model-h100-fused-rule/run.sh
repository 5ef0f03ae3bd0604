#!/bin/sh
# Regenerates this folder (a model: dsconv profile on the CPU emulator, card H100, uncalibrated, with L1).
# Run from the repository root after `cmake --workflow --preset profile` (or building build/profile).
# fused.json: the fused kernel as it chooses its tile and split (--impl keeps it where the grid rule would
# take two passes); twopass.json: the two passes; chosen.json: the plan the selection takes. 15 strata of
# sampled blocks per launch.
set -e
D=build/profile/bin/dsconv
R=bench/results/2026-12-02-model-h100-fused-rule
$D profile --problems $R/problems.txt --device h100 --max-blocks 15 --impl sep_fwd_nhwc_fused --format json --out $R/fused.json > /dev/null
$D profile --problems $R/problems.txt --device h100 --max-blocks 15 --impl sep_fwd_nhwc_twopass --format json --out $R/twopass.json > /dev/null
$D profile --problems $R/problems.txt --device h100 --max-blocks 15 --format json --out $R/chosen.json > /dev/null
python3 $R/tables.py > $R/tables.md
