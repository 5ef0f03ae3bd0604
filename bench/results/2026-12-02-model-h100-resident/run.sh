#!/bin/sh
# Regenerates this folder (a model: dsconv profile on the CPU emulator, uncalibrated, with L1). Run from the
# repository root after `cmake --workflow --preset profile` (or building build/profile).
# resident.json: the resident-A fused kernel (--impl keeps it where its rule would take two passes);
# twopass.json: the two passes; chosen.json: the plan the selection takes (its name: 2 blocks a launch);
# all on an H100. a100_*.json: Xception's 728 -> 728 at N=8 on an A100, whose 163 KiB a block hold the
# 64 x 256 tile's A. 15 strata of sampled blocks per launch.
set -e
D=build/profile/bin/dsconv
R=bench/results/2026-12-02-model-h100-resident
X=separable_n8h33w33c728_k3x3_m1_o728_s1x1_d1x1_psame_nhwc_tf_f16
$D profile --problems $R/problems.txt --device h100 --max-blocks 15 --impl sep_fwd_nhwc_fused_f16_mma_resident --format json --out $R/resident.json > /dev/null &
$D profile --problems $R/problems.txt --device h100 --max-blocks 15 --impl sep_fwd_nhwc_twopass --format json --out $R/twopass.json > /dev/null
wait
$D profile --problems $R/problems.txt --device h100 --max-blocks 2 --format json --out $R/chosen.json > /dev/null
$D profile $X --device a100 --max-blocks 15 --impl sep_fwd_nhwc_fused_f16_mma_resident --format json --out $R/a100_resident.json > /dev/null &
$D profile $X --device a100 --max-blocks 15 --impl sep_fwd_nhwc_twopass --format json --out $R/a100_twopass.json > /dev/null
wait
python3 $R/tables.py > $R/tables.md
