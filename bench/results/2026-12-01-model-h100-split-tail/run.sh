#!/bin/sh
# Regenerates this folder's figures (a model: dsconv profile on the CPU emulator, card H100, uncalibrated).
# Run from the repository root after `cmake --workflow --preset profile` (or building build/profile).
# --max-blocks makes the sampling strata end where the whole tiles end and the slices begin (33x33: 264
# blocks, 132 whole, strata of 22; 65x65 rate 6: 660 blocks, 528 whole, strata of 33); at rates 12 and 18
# on 65x65 (654 and 646 blocks) the stratum across the boundary holds 5 and 12 whole tiles among slices.
# "whole": the tile the selection took before the split tail, its split forbidden.
set -e
D=build/profile/bin/dsconv
R=bench/results/2026-12-01-model-h100-split-tail
T=conv2d_fwd_nhwc_igemm_f16_mma_async3_tile
$D profile --problems $R/aspp33.txt --device h100 --max-blocks 12 --format json --out $R/aspp33_chosen.json > $R/aspp33_chosen.txt
$D profile --problems $R/aspp33.txt --device h100 --max-blocks 12 --impl ${T}64x128 --skip-impl ${T}64x128x32_tailsplit \
  --format json --out $R/aspp33_whole64x128.json > $R/aspp33_whole64x128.txt
$D profile --problems $R/aspp65.txt --device h100 --max-blocks 20 --format json --out $R/aspp65_chosen.json > $R/aspp65_chosen.txt
$D profile --problems $R/aspp65.txt --device h100 --max-blocks 20 --impl ${T}128x128 --skip-impl ${T}128x128x32_tailsplit \
  --format json --out $R/aspp65_whole128x128.json > $R/aspp65_whole128x128.txt
python3 $R/tables.py > $R/tables.md
