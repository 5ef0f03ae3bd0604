#!/usr/bin/env bash
# The narrow lattice tile (8x8, one 8-wide strip of one-row strips) for residue classes at most 8 outputs
# wide, modelled on an H100 (uncalibrated). Run from the repository root after
# `cmake --workflow --preset profile` (or cmake --build build/profile). BEFORE names the driver of the
# commit before the change (ceb5d3f): the same commands write before_*.json.
set -euo pipefail
P=${DSCONV:-build/profile/bin/dsconv}
L=bench/results/2026-11-30-model-h100-lattice/problems.txt
cd "$(dirname "$0")"
P=$(cd "$OLDPWD" && realpath "$P")
L=$(cd "$OLDPWD" && realpath "$L")
run() {  # driver, prefix
  local d=$1 pre=$2
  for n in 1 32; do
    for dt in f32 f16; do
      $d profile --suite mobilenet_v3 --batch $n --dtype $dt --device h100 --max-blocks 512 --format json \
        --out ${pre}_mnv3_n${n}_${dt}.json > /dev/null
    done
  done
  $d profile --problems "$L" --device h100 --max-blocks 512 --format json --out ${pre}_lattice.json > /dev/null
  # The hot loop's shared loads of the two layers that change (hot_sites.py of the async-staging folder).
  $d profile --suite mobilenet_v3 --batch 32 --dtype f16 --device h100 --max-blocks 64 --sites --format json \
    --out ${pre}_sites_n32_f16.json > /dev/null
}
if [[ -n "${BEFORE:-}" ]]; then run "$(cd "$OLDPWD" && realpath "$BEFORE")" before; fi
run "$P" after
python3 tables.py > tables.md
