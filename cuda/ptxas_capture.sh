#!/bin/sh
# Compiler launcher for nvcc compiles that pass -Xptxas=-v: runs the compile, keeps ptxas's resource
# report of the object in <object>.ptxas.log (read by ptxas_report.sh) and shows everything else
# (errors, warnings, spill warnings) as usual.
#   usage: ptxas_capture.sh <compiler> <args...>
obj=""
prev=""
for a in "$@"; do
  [ "$prev" = "-o" ] && obj=$a
  prev=$a
done
if [ -z "$obj" ]; then
  exec "$@"
fi
log="$obj.ptxas.log"
tmp="$log.tmp.$$"
"$@" 2>"$tmp"
rc=$?
grep -v -e '^ptxas info' -e '^ *[0-9][0-9]* bytes stack frame' "$tmp" >&2
mv -f "$tmp" "$log"
exit $rc
