#!/usr/bin/env bash
# Regenerates this folder: RepLKNet's large depthwise filters in f16 on the tensor-core kernel (the
# chosen warp tile, then each tile forced) and on the FMA kernel, modelled on an H100. Run from the
# repository root after `cmake --workflow --preset profile` (or cmake --build build/profile).
set -euo pipefail
P=${DSCONV:-build/profile/bin/dsconv}
cd "$(dirname "$0")"
P=$(cd "$OLDPWD" && realpath "$P")
$P profile --suite replknet --batch 1 --dtype f16 --impl dw_fwd_nhwc_lk_mma --format json --out mma_n1.json > mma_n1.txt
$P profile --suite replknet --batch 32 --dtype f16 --impl dw_fwd_nhwc_lk_mma --max-blocks 128 --format json --out mma_n32.json > mma_n32.txt
$P profile --suite replknet --batch 1 --dtype f16 --impl dw_fwd_nhwc_generic --format json --out generic_n1.json > generic_n1.txt
$P profile --suite replknet --batch 32 --dtype f16 --impl dw_fwd_nhwc_generic --max-blocks 128 --format json --out generic_n32.json > generic_n32.txt
for t in 16x64 16x32 16x16 8x16; do
  $P profile --suite replknet --batch 1 --dtype f16 --impl dw_fwd_nhwc_lk_mma_f16x8_tile$t --format json --out tiles_n1_$t.json > tiles_n1_$t.txt || true
  $P profile --suite replknet --batch 32 --dtype f16 --impl dw_fwd_nhwc_lk_mma_f16x8_tile$t --max-blocks 128 --format json --out tiles_n32_$t.json > tiles_n32_$t.txt || true
done
# The small-map rule (offers.cpp): 13x13 filters on 5x5 and 7x7 maps, C=1024, both kernels.
for d in depthwise_n4h5w5c1024_k13x13_psame_f16 depthwise_n8h5w5c1024_k13x13_psame_f16 \
         depthwise_n12h5w5c1024_k13x13_psame_f16 depthwise_n32h5w5c1024_k13x13_psame_f16 \
         depthwise_n32h7w7c1024_k13x13_psame_f16; do
  for i in dw_fwd_nhwc_lk_mma_f16x8_tile8x16 dw_fwd_nhwc_generic; do
    $P profile "$d" --max-blocks 128 --impl $i 2>&1 | grep '^depthwise' || true
  done
done > small_maps.txt
