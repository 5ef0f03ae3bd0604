#!/usr/bin/env bash
# run_fuzzer.sh FUZZER NAME WORK_DIR [libFuzzer options...]
#
# Fuzzes FUZZER (a dsconv_fuzz_<NAME> executable of the fuzz preset) from the committed seed corpus
# fuzz/corpus/NAME with the dictionary fuzz/dict/NAME.dict. New inputs go to WORK_DIR/corpus (the
# committed corpus is only read), crashes to WORK_DIR/artifacts/. Used by the FuzzSmoke.<NAME> tests
# (-max_total_time=60) and for long runs, e.g.
#   fuzz/run_fuzzer.sh build/fuzz/bin/dsconv_fuzz_npy npy /tmp/fuzz-npy -runs=10000000
# A crash exits non-zero with the input's path; copy it to fuzz/corpus/NAME/regression-<what> and add a
# test for it to the normal test suite (FuzzCorpus.<NAME> replays it from then on).
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
fuzzer=$1 name=$2 work=$3
shift 3
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$work/corpus" "$work/artifacts"
# -rss_limit_mb: a target that allocates per input must not grow; -timeout: one input never takes 10 s.
exec "$fuzzer" -dict="$src/dict/$name.dict" -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
  -timeout=10 -rss_limit_mb=2560 "$@" "$work/corpus" "$src/corpus/$name"
