#!/bin/sh
# Regenerates this folder's figures (a model: dsconv profile on the CPU emulator, card H100, uncalibrated).
# Run from the repository root after `cmake --workflow --preset profile` (or building build/profile).
set -e
D=build/profile/bin/dsconv
R=bench/results/2026-11-30-model-h100-conv2d-separable
P="--device h100 --max-blocks 4 --format json"
$D profile --problems $R/aspp.txt $P --impl conv2d_fwd_nhwc_igemm_f16_mma_tile64x64 --out $R/aspp_narrow.json > $R/aspp_narrow.txt
$D profile --problems $R/aspp.txt $P --impl conv2d_fwd_nhwc_igemm_f16_mma_tile128x128 --out $R/aspp_wide.json > $R/aspp_wide.txt
$D profile --problems $R/aspp.txt $P --impl conv2d_fwd_nhwc_igemm_f16_mma_tile128x64 --out $R/aspp_tall.json > $R/aspp_tall.txt
$D profile --problems $R/aspp.txt $P --impl conv2d_fwd_nhwc_igemm_f16_mma_async3_tile128x128 --out $R/aspp_async128.json > $R/aspp_async128.txt
$D profile --problems $R/aspp.txt $P --impl conv2d_fwd_nhwc_igemm_f16_mma_async3_tile64x128 --out $R/aspp_async64.json > $R/aspp_async64.txt
$D profile --problems $R/aspp.txt $P --out $R/aspp_chosen.json > $R/aspp_chosen.txt
$D profile --problems $R/separable.txt $P --impl sep_fwd_nhwc_fused --out $R/separable_fused.json > $R/separable_fused.txt
$D profile --problems $R/separable.txt $P --impl sep_fwd_nhwc_twopass --out $R/separable_twopass.json > $R/separable_twopass.txt
$D profile --problems $R/separable.txt $P --out $R/separable_chosen.json > $R/separable_chosen.txt
python3 $R/tables.py > $R/tables.md
