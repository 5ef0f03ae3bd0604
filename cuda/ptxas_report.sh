#!/bin/sh
# Summarizes the ptxas resource reports that ptxas_capture.sh kept next to each object into one table
# (kernel, architecture, registers, spill stores/loads, stack, static shared memory) and fails when a
# kernel spills unless its demangled name matches the exemption regex (the generic fallbacks, which
# trade registers for generality on purpose).
#   usage: ptxas_report.sh <report.txt> <exempt-regex> <object>...
set -u
report=$1
exempt=$2
shift 2
tmp="$report.tmp.$$"
: >"$tmp"
missing=0
for obj in "$@"; do
  if [ ! -f "$obj.ptxas.log" ]; then
    echo "ptxas_report: no ptxas log for $obj (rebuild it to produce one)" >&2
    missing=1
    continue
  fi
  # One row per entry function and architecture: arch regs spill_stores spill_loads stack smem mangled_name
  awk '
    function flush() { if (fn != "") print arch, regs, st[fn] + 0, ld[fn] + 0, stk[fn] + 0, smem, fn; fn = "" }
    /Compiling entry function/ {
      flush()
      line = $0
      sub(/.*Compiling entry function .?/, "", line); split(line, parts, "\047")
      fn = parts[1]; arch = parts[3]; regs = 0; smem = 0
      next
    }
    /Function properties for/ { prop = $0; sub(/.*Function properties for /, "", prop); next }
    /bytes stack frame/ {
      n = split($0, w, /[ ,]+/)
      for (i = 1; i <= n; i++) {
        if (w[i] == "bytes" && w[i + 1] == "stack") stk[prop] = w[i - 1]
        if (w[i] == "spill" && w[i + 1] == "stores") st[prop] = w[i - 2]
        if (w[i] == "spill" && w[i + 1] == "loads") ld[prop] = w[i - 2]
      }
      next
    }
    /Used [0-9]+ registers/ {
      n = split($0, w, /[ ,]+/)
      for (i = 1; i <= n; i++) {
        if (w[i] == "Used") regs = w[i + 1]
        if (w[i] == "bytes" && w[i + 1] == "smem") smem = w[i - 1]
      }
      next
    }
    END { flush() }
  ' "$obj.ptxas.log" >>"$tmp"
done
if command -v c++filt >/dev/null 2>&1; then
  demangle() { c++filt; }
else
  demangle() { cat; }
fi
{
  echo "# ptxas resource usage of dsconv's CUDA kernels (from -Xptxas -v)"
  echo "# kernels matching /$exempt/ may spill; any other spill fails this report"
  printf '%-8s %5s %11s %10s %6s %8s  %s\n' arch regs spill_store spill_load stack smem kernel
  sort -k7 -k1 "$tmp" | while read -r arch regs st ld stk smem fn; do
    name=$(printf '%s\n' "$fn" | demangle)
    printf '%-8s %5s %11s %10s %6s %8s  %s\n' "$arch" "$regs" "$st" "$ld" "$stk" "$smem" "$name"
  done
} >"$report"
rm -f "$tmp"
kernels=$(grep -vc '^#' "$report")
kernels=$((kernels - 1))
spilling=$(awk 'NR > 3 && ($3 > 0 || $4 > 0)' "$report")
bad=$(printf '%s\n' "$spilling" | grep -v '^$' | grep -Ev -- "$exempt" || true)
echo "ptxas_report: $kernels kernel/arch rows -> $report"
if [ -n "$spilling" ]; then
  echo "ptxas_report: spilling kernels:" >&2
  printf '%s\n' "$spilling" >&2
fi
if [ -n "$bad" ]; then
  echo "ptxas_report: FAILED: specialized kernels spill registers (see above); only /$exempt/ may" >&2
  exit 1
fi
exit $missing
