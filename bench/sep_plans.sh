#!/usr/bin/env bash
# Times the fused separable kernel and the two passes on every problem of a problems file (one descriptor a
# line, # comments), cuda backend: OUTDIR/<descriptor>.<plan>.json for plan fused and twopass. What
# bench/gpu_check.sh runs to calibrate the fused offer's grid rule (kMaxFusedGridShare in
# cuda/separable/offers.cpp) against the model's table in bench/results/2026-12-02-model-h100-fused-rule/.
# usage: bench/sep_plans.sh DSCONV PROBLEMS OUTDIR [bench flags...]
set -uo pipefail
DSCONV=$1 PROBLEMS=$2 OUT=$3
shift 3
mkdir -p "$OUT"
rc=0
while read -r desc _; do
  case "$desc" in '' | '#'*) continue ;; esac
  layout=nhwc
  case "$desc" in *_nchw_*) layout=nchw ;; esac
  for plan in fused twopass; do
    if ! "$DSCONV" bench "$desc" --backend cuda --impl "sep_fwd_${layout}_${plan}" "$@" --format json \
      --out "$OUT/$desc.$plan.json"; then
      echo "sep_plans: $desc on the $plan plan failed" >&2
      rc=1
    fi
  done
done <"$PROBLEMS"
exit $rc
