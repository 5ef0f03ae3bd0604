#!/bin/sh
# Fails when the shared library exports a CUDA runtime symbol (cuda*, or the emulator's dsconv::emu::*
# other than the performance model's capture API, dsconv::emu::model::*, which the driver calls): libdsconv
# carries its runtime privately, so that a program's own libcudart is never interposed.
# Usage: check_exports.sh LIBRARY
set -eu
lib=$1
exported=$(nm -D --defined-only "$lib" | awk '{print $3}')
bad=$(printf '%s\n' "$exported" | grep -E '^(cuda[A-Z_]|_ZN6dsconv3emu)' | grep -v '^_ZN6dsconv3emu5model' || true)
if [ -n "$bad" ]; then
  echo "$lib exports CUDA runtime symbols:"
  printf '%s\n' "$bad" | head -20
  exit 1
fi
count=$(printf '%s\n' "$exported" | grep -c . || true)
echo "$lib: $count exported symbols, none of the CUDA runtime"
