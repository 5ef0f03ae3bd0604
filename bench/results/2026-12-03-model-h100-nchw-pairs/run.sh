#!/bin/sh
# Regenerates after_*.json and tables.md (a model: dsconv profile on the CPU emulator, uncalibrated, with L1). Run
# from the repository root after `cmake --workflow --preset profile` (or building build/profile).
# The depthwise layers of mobilenet_v2, efficientnet_b0 and mobilenet_v3 in NCHW, f32 and f16, at N=1 and N=32, on
# an H100, as the selection plans them. before_*.json are the NCHW rows kernels before the pairs on narrow maps,
# the word reads and the spread planes: the after_*.json of bench/results/2026-12-02-model-h100-nchw-rows (commit
# 60d9242), copied. Launches of more than 128 blocks are counted on a sample of blocks and scaled (the default).
set -e
D=build/profile/bin/dsconv
# R and BEFORE_LABEL: another folder's (bench/results/2026-12-03-model-h100-nchw-rot/run.sh), else this one's.
R=${R:-bench/results/2026-12-03-model-h100-nchw-pairs}
for s in mobilenet_v2 efficientnet_b0 mobilenet_v3; do
  for dt in f32 f16; do
    for n in 1 32; do
      $D profile --suite $s --batch $n --layout NCHW --dtype $dt --device h100 \
        --format json --out $R/after_${s}_${dt}_n$n.json > /dev/null
    done
  done
done
# The tables: the previous folder's script, on this folder's JSON.
python3 bench/results/2026-12-02-model-h100-nchw-rows/tables.py $R "${BEFORE_LABEL:-before}" > $R/tables.md
