#!/bin/sh
# Regenerates this folder (a model: dsconv profile on the CPU emulator, card H100, uncalibrated, with L1).
# Run from the repository root after `cmake --workflow --preset profile` (or building build/profile).
# resident.json: the resident-A fused kernel (--impl keeps it where its rule would take two passes);
# twopass.json: the two passes; chosen.json: the plan the selection takes (its name only: 2 blocks a
# launch). 15 strata of sampled blocks per launch.
set -e
D=build/profile/bin/dsconv
R=bench/results/2026-12-02-model-h100-resident
$D profile --problems $R/problems.txt --device h100 --max-blocks 15 --impl sep_fwd_nhwc_fused_f16_mma_resident --format json --out $R/resident.json > /dev/null &
$D profile --problems $R/problems.txt --device h100 --max-blocks 15 --impl sep_fwd_nhwc_twopass --format json --out $R/twopass.json > /dev/null
wait
$D profile --problems $R/problems.txt --device h100 --max-blocks 2 --format json --out $R/chosen.json > /dev/null
python3 $R/tables.py > $R/tables.md
