#!/bin/sh
# Regenerates this folder (a model: dsconv profile on the CPU emulator, uncalibrated, with L1). Run from the
# repository root after `cmake --workflow --preset profile` (or building build/profile).
# The depthwise layers of mobilenet_v2, efficientnet_b0 and mobilenet_v3 in NCHW, f32 and f16, at N=1 and
# N=32, on an H100: before_*.json with the NCHW rows kernels skipped (the generic NCHW kernel, what NCHW ran
# before them), after_*.json as the selection plans them. Launches of more than 128 blocks are counted on a
# sample of blocks and scaled (the default).
set -e
D=build/profile/bin/dsconv
R=bench/results/2026-12-02-model-h100-nchw-rows
for s in mobilenet_v2 efficientnet_b0 mobilenet_v3; do
  for dt in f32 f16; do
    for n in 1 32; do
      $D profile --suite $s --batch $n --layout NCHW --dtype $dt --device h100 --skip-impl dw_fwd_nchw_k \
        --format json --out $R/before_${s}_${dt}_n$n.json > /dev/null
      $D profile --suite $s --batch $n --layout NCHW --dtype $dt --device h100 \
        --format json --out $R/after_${s}_${dt}_n$n.json > /dev/null
    done
  done
done
python3 $R/tables.py > $R/tables.md
