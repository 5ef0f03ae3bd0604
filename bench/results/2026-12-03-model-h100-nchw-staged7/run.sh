#!/bin/sh
# Regenerates after_*.json and tables.md (a model: dsconv profile on the CPU emulator, uncalibrated, with L1). Run
# from the repository root after `cmake --workflow --preset profile` (or building build/profile).
# The depthwise layers of mobilenet_v2, efficientnet_b0 and mobilenet_v3 in NCHW, f32 and f16, at N=1 and N=32, on
# an H100, as the selection plans them. before_*.json are the NCHW rows kernels before this change: the after_*.json
# of bench/results/2026-12-03-model-h100-nchw-quads, copied.
# Launches of more than 128 blocks are counted on a sample of blocks and scaled (the default).
# The same runs and tables as bench/results/2026-12-03-model-h100-nchw-pairs/run.sh, into this folder.
set -e
R=bench/results/2026-12-03-model-h100-nchw-staged7 BEFORE_LABEL="before: quads" \
  sh bench/results/2026-12-03-model-h100-nchw-pairs/run.sh
