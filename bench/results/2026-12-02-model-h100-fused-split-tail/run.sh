#!/bin/sh
# Regenerates this folder's figures (a model: dsconv profile on the CPU emulator, card H100, uncalibrated).
# Run from the repository root after `cmake --workflow --preset profile` (or building build/profile).
# fused_whole: the fused kernel as the selection took it before (138 tiles of 128x128, no split), its
# split forbidden; 23 strata of 6 blocks. fused_split: the same tile with the split tail, 132 whole tiles
# then 6 tiles in 8 slices (180 blocks), 15 strata of 12, which end where the whole tiles end.
# fused_chosen: the plan the selection takes now, 64x256 tiles (137 on the map: 132 whole, 5 in 8 slices,
# 172 blocks), 15 strata. twopass: the depthwise kernel, then the 1x1 implicit GEMM (the other offer),
# 15 strata per launch.
set -e
D=build/profile/bin/dsconv
R=bench/results/2026-12-02-model-h100-fused-split-tail
F=sep_fwd_nhwc_fused_f16_mma_tile128x128x32
$D profile --problems $R/separable_aspp.txt --device h100 --max-blocks 23 --impl $F --skip-impl ${F}_tailsplit \
  --format json --out $R/fused_whole.json > $R/fused_whole.txt
$D profile --problems $R/separable_aspp.txt --device h100 --max-blocks 15 --impl ${F}_tailsplit \
  --format json --out $R/fused_split.json > $R/fused_split.txt
$D profile --problems $R/separable_aspp.txt --device h100 --max-blocks 15 --impl sep_fwd_nhwc_fused_f16_mma_tile64x256x32_tailsplit \
  --format json --out $R/fused_chosen.json > $R/fused_chosen.txt
$D profile --problems $R/separable_aspp.txt --device h100 --max-blocks 15 --impl sep_fwd_nhwc_twopass \
  --format json --out $R/twopass.json > $R/twopass.txt
# MobileNetV1 (C*M = O), 8 strata: the fused kernel as the selection takes it (56x56: 128x128; 28x28: 64x256;
# 14x14 512 -> 512 is not offered fused), the 28x28 layer on 128x128 (the plan before the 64x256 tile),
# and the two passes.
$D profile --problems $R/mobilenet_v1.txt --device h100 --max-blocks 8 --impl sep_fwd_nhwc_fused \
  --format json --out $R/mbv1_fused.json > $R/mbv1_fused.txt || true
$D profile --problems $R/mobilenet_v1.txt --device h100 --max-blocks 8 --impl sep_fwd_nhwc_fused_f16_mma_tile128x128 \
  --format json --out $R/mbv1_fused128.json > $R/mbv1_fused128.txt || true
$D profile --problems $R/mobilenet_v1.txt --device h100 --max-blocks 8 --impl sep_fwd_nhwc_twopass \
  --format json --out $R/mbv1_twopass.json > $R/mbv1_twopass.txt
python3 $R/tables.py > $R/tables.md
