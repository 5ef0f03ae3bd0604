#!/usr/bin/env bash
# Regenerates the "after" files of this folder: the MobileNet/EfficientNet/ConvNeXt depthwise suites at
# N=1 and N=32, f32 and f16, and DeepLab's atrous layers, modelled on an H100 (uncalibrated). Run from
# the repository root after `cmake --workflow --preset profile` (or cmake --build build/profile). The
# "before" files are the same commands on the driver of 2b1f474 (before_n1_f32.json without ConvNeXt).
set -euo pipefail
P=${DSCONV:-build/profile/bin/dsconv}
L=bench/results/2026-11-30-model-h100-lattice/problems.txt
cd "$(dirname "$0")"
P=$(cd "$OLDPWD" && realpath "$P")
L=$(cd "$OLDPWD" && realpath "$L")
S="--suite mobilenet_v2 --suite efficientnet_b0 --suite mobilenet_v3 --suite convnext"
for n in 1 32; do
  $P profile $S --batch $n --device h100 --max-blocks 512 --format json --out after_n${n}_f32.json > /dev/null
  $P profile $S --batch $n --dtype f16 --device h100 --max-blocks 512 --format json --out after_n${n}_f16.json > /dev/null
done
for n in 1 32; do  # RepLKNet in f32 stays on the generic kernel (the README's table)
  $P profile --suite replknet --batch $n --device h100 --max-blocks 512 --format json --out after_replknet_n${n}_f32.json > /dev/null
done
$P profile --problems "$L" --device h100 --max-blocks 512 --format json --out after_lattice.json > after_lattice.txt
python3 tables.py > tables.md
# hot_sites.txt: the hot loop's shared loads per layer, N=32 (hot_sites.py reads the --sites rows).
S3="--suite mobilenet_v2 --suite efficientnet_b0 --suite mobilenet_v3"
for dt in f32 f16; do
  $P profile $S3 --batch 32 --dtype $dt --device h100 --max-blocks 64 --sites --format json --out /tmp/sites_n32_$dt.json > /dev/null
done
python3 hot_sites.py /tmp/sites_n32_f32.json /tmp/sites_n32_f16.json > hot_sites.txt
