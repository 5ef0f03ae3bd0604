#!/usr/bin/env bash
# The GPU runbook: one command, under 10 minutes, on a machine with an NVIDIA GPU (H100/H200, sm_90).
#
#   bench/gpu_check.sh OUTDIR            build Release for sm_90 with cuDNN, run ctest on the GPU,
#                                        compute-sanitizer memcheck and racecheck on a subset, the
#                                        benchmark suites for dsconv's cuda kernels, cuDNN and PyTorch
#                                        (device copy bandwidth measured in the same runs), Nsight
#                                        Compute on a few kernels against the performance model
#                                        (model_vs_measured.md), and write the results into OUTDIR; a
#                                        short summary table comes last.
#   bench/gpu_check.sh OUTDIR --dry-run  the same logic without a GPU: every step is printed with its
#                                        time box and not run; tool and cuDNN discovery run for real.
#   bench/gpu_check.sh OUTDIR --sanitizers
#                                        build, ctest, then compute-sanitizer memcheck, racecheck,
#                                        initcheck and synccheck over the kernel sweeps (every cuda and
#                                        cudnn sweep test, interleaved across families so that a time box
#                                        that ends early still covers every family) and the driver's
#                                        problems; no benchmarks. Writes sanitizers.md (per tool: what
#                                        ran, errors found) into OUTDIR.
#
# The default run also runs all four tools, on the driver's problems and a spread of 24 GPU tests.
# Every step runs under `timeout`, inside one overall budget (GPU_CHECK_BUDGET_S, default 560 s); a
# step that fails or times out is reported and the others still run (those that need its output are
# skipped). OUTDIR receives at most 9 files: results.json, results.md, summary.txt, the charts,
# model_vs_measured.md, sanitizers.md and raw.tar.gz (each tool's JSON and every step's log). A missing
# ncu or compute-sanitizer is a note, not a failure.
#
# Environment: CUDNN_ROOT (a cuDNN to prefer), GPU_CHECK_BUILD (build folder, default build/gpu-check),
# GPU_CHECK_BUDGET_S, GPU_CHECK_SUITES (default: all), PYTHON (default python3).
# Exit status: 0 every step passed; 1 a step failed or was skipped; 2 nothing could run (no GPU,
# no nvcc, bad arguments).
set -u -o pipefail

usage() {
  sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

OUTDIR=""
DRY_RUN=0
SANITIZERS_ONLY=0
FAIL_STEPS=" "
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --sanitizers) SANITIZERS_ONLY=1 ;;
    --fail-step) shift; FAIL_STEPS="$FAIL_STEPS${1:-} " ;;  # dry-run only: pretend this step failed
    -h|--help) usage ;;
    -*) echo "gpu_check: unknown option '$1'" >&2; usage ;;
    *) [ -z "$OUTDIR" ] || { echo "gpu_check: one OUTDIR only (got '$OUTDIR' and '$1')" >&2; exit 2; }
       OUTDIR=$1 ;;
  esac
  shift
done
[ -n "$OUTDIR" ] || usage

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${GPU_CHECK_BUILD:-$SRC/build/gpu-check}
BUDGET=${GPU_CHECK_BUDGET_S:-560}
RESERVE=25  # kept for the report step at the end
SUITES=${GPU_CHECK_SUITES:-all}
PYTHON=${PYTHON:-python3}
DSCONV=$BUILD/bin/dsconv
START=$SECONDS

mkdir -p "$OUTDIR" || exit 2
OUTDIR=$(cd "$OUTDIR" && pwd)
WORK=$OUTDIR/.work  # raw results and logs; packed into raw.tar.gz at the end
RAW=$WORK/raw
LOGS=$WORK/logs
rm -rf "$WORK" && mkdir -p "$RAW" "$LOGS" || exit 2
STATUS_FILE=$WORK/steps.tsv
: >"$STATUS_FILE"

say() { printf '%s\n' "$*"; }
elapsed() { echo $((SECONDS - START)); }
remaining() { echo $((BUDGET - (SECONDS - START))); }
record() {  # NAME STATUS SECONDS DETAIL
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$STATUS_FILE"
}
step_ok() { grep -q "^$1	ok	" "$STATUS_FILE"; }

# step NAME MAX_SECONDS CMD...: runs CMD in a time box (MAX_SECONDS, or what the budget has left),
# output to logs/NAME.log; records ok / FAIL rc / TIMEOUT / skipped. Returns CMD's status.
step() {
  local name=$1 max=$2
  shift 2
  local left=$(( $(remaining) - RESERVE ))
  if [ "$name" = report ]; then left=$(remaining); fi
  if [ "$left" -lt 10 ]; then
    record "$name" skipped 0 "time budget spent"
    say "[skip] $name: the time budget is spent"
    return 125
  fi
  local box=$max
  [ "$box" -le "$left" ] || box=$left
  local t0=$SECONDS rc
  say "[....] $name (time box ${box}s, $(elapsed)s elapsed)"
  if [ "$DRY_RUN" = 1 ]; then
    printf 'dry-run: would run, within %ss:\n  %s\n' "$box" "$*" >"$LOGS/$name.log"
    say "       would run: $*"
    case "$FAIL_STEPS" in *" $name "*) rc=1 ;; *) rc=0 ;; esac
  else
    timeout --kill-after=10 "$box" "$@" >"$LOGS/$name.log" 2>&1
    rc=$?
  fi
  local took=$((SECONDS - t0))
  if [ "$rc" = 0 ]; then
    record "$name" ok "$took" ""
    say "[ ok ] $name (${took}s)"
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    record "$name" TIMEOUT "$took" "stopped after ${box}s"
    say "[TIME] $name: stopped after ${box}s (log: raw.tar.gz logs/$name.log)"
    tail -n 5 "$LOGS/$name.log" | sed 's/^/       /'
  else
    record "$name" FAIL "$took" "exit $rc"
    say "[FAIL] $name: exit $rc (log: raw.tar.gz logs/$name.log)"
    tail -n 8 "$LOGS/$name.log" | sed 's/^/       /'
  fi
  return "$rc"
}

skip() {  # NAME REASON
  record "$1" skipped 0 "$2"
  say "[skip] $1: $2"
}

note() {  # NAME REASON: a step this machine cannot run, which is not a failure
  record "$1" note 0 "$2"
  say "[note] $1: $2"
}

# ---------------------------------------------------------------------------------------------
# Preflight: fail fast and clearly when this is no GPU machine
# ---------------------------------------------------------------------------------------------
say "gpu_check: source $SRC, build $BUILD, output $OUTDIR, budget ${BUDGET}s$([ "$DRY_RUN" = 1 ] && echo ', DRY RUN')$([ "$SANITIZERS_ONLY" = 1 ] && echo ', sanitizers only')"
fatal() {
  say "gpu_check: $*"
  printf 'gpu_check preflight failed: %s\n' "$*" >"$OUTDIR/steps.txt"
  rm -rf "$WORK"
  exit 2
}

GPU_NAME=""
if ! command -v nvidia-smi >/dev/null 2>&1; then
  [ "$DRY_RUN" = 1 ] || fatal "no GPU here: nvidia-smi is not installed (this runbook needs an NVIDIA GPU; --dry-run checks the logic without one)"
  say "preflight: no nvidia-smi (dry run: going on)"
else
  GPU_NAME=$(timeout 15 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -n 1)
  rc=$?
  [ $rc -eq 124 ] && GPU_NAME="no answer within 15 s"
  if [ $rc -ne 0 ] || [ -z "$GPU_NAME" ] || ! printf '%s' "$GPU_NAME" | grep -q ','; then
    [ "$DRY_RUN" = 1 ] || fatal "no usable GPU: nvidia-smi says: ${GPU_NAME:-nothing} (exit $rc)"
    say "preflight: nvidia-smi found no GPU (dry run: going on)"
    GPU_NAME=""
  fi
fi
[ -n "$GPU_NAME" ] && say "preflight: GPU $GPU_NAME"

NVCC=$(command -v nvcc || true)
[ -n "$NVCC" ] || { [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc; }
if [ -z "$NVCC" ]; then
  [ "$DRY_RUN" = 1 ] || fatal "no nvcc on PATH or in /usr/local/cuda/bin: cannot build the CUDA kernels"
  say "preflight: no nvcc (dry run: going on)"
else
  say "preflight: nvcc $("$NVCC" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p') at $NVCC"
fi
command -v cmake >/dev/null 2>&1 || fatal "no cmake on PATH"
SANITIZER=$(command -v compute-sanitizer || true)
[ -n "$SANITIZER" ] || { [ -x /usr/local/cuda/bin/compute-sanitizer ] && SANITIZER=/usr/local/cuda/bin/compute-sanitizer; }
if [ -z "$SANITIZER" ] && [ "$DRY_RUN" = 1 ]; then
  SANITIZER=compute-sanitizer  # so that the dry run shows its steps; a real run without it notes it
  say "preflight: no compute-sanitizer (dry run: its steps are shown as they would run)"
fi
GENERATOR=()
command -v ninja >/dev/null 2>&1 && GENERATOR=(-G Ninja)
HAVE_TORCH=0
if timeout 60 "$PYTHON" -c 'import torch' >/dev/null 2>&1; then HAVE_TORCH=1; fi
say "preflight: compute-sanitizer ${SANITIZER:-not found}; PyTorch $([ $HAVE_TORCH = 1 ] && echo found || echo 'not found')"
# The Python tools must at least parse here, or their steps would fail late.
for tool in report.py torch_peer.py plot.py model_vs_ncu.py; do
  "$PYTHON" -m py_compile "$SRC/bench/$tool" 2>>"$LOGS/preflight.log" || fatal "bench/$tool does not compile (see $LOGS/preflight.log)"
done
record preflight ok 0 "${GPU_NAME:-no GPU (dry run)}"

# ---------------------------------------------------------------------------------------------
# cuDNN: CUDNN_ROOT, else the CUDA toolkit's, else PyTorch's nvidia-cudnn-cu13/cu12 package (which
# may ship only libcudnn.so.9: a shim folder gets the unversioned link the linker wants)
# ---------------------------------------------------------------------------------------------
cudnn_version_of() {  # INCLUDE_DIR -> "9.x.y"
  local h=$1/cudnn_version.h
  [ -f "$h" ] || return 1
  local maj min pat
  maj=$(sed -n 's/^#define CUDNN_MAJOR *\([0-9]*\).*/\1/p' "$h")
  min=$(sed -n 's/^#define CUDNN_MINOR *\([0-9]*\).*/\1/p' "$h")
  pat=$(sed -n 's/^#define CUDNN_PATCHLEVEL *\([0-9]*\).*/\1/p' "$h")
  echo "$maj.$min.$pat"
}
CUDNN_CANDIDATES=()
[ -n "${CUDNN_ROOT:-}" ] && CUDNN_CANDIDATES+=("$CUDNN_ROOT")
[ -n "$NVCC" ] && CUDNN_CANDIDATES+=("$(dirname "$(dirname "$(readlink -f "$NVCC")")")")
CUDNN_CANDIDATES+=(/usr/local/cuda /usr)
while IFS= read -r d; do [ -n "$d" ] && CUDNN_CANDIDATES+=("$d"); done < <(
  timeout 60 "$PYTHON" - 2>/dev/null <<'PY'
import importlib.util, site, os
roots = []
spec = importlib.util.find_spec("nvidia.cudnn")
if spec is not None and spec.submodule_search_locations:
    roots += list(spec.submodule_search_locations)
for p in site.getsitepackages() + [site.getusersitepackages()]:
    roots.append(os.path.join(p, "nvidia", "cudnn"))
seen = set()
for r in roots:
    if os.path.isdir(r) and r not in seen:
        seen.add(r)
        print(r)
PY
)
CUDNN_DIR="" CUDNN_INC="" CUDNN_LIBDIR="" CUDNN_VERSION=""
for root in "${CUDNN_CANDIDATES[@]}"; do
  for inc in "$root/include" "$root/targets/x86_64-linux/include" "$root/include/x86_64-linux-gnu"; do
    v=$(cudnn_version_of "$inc") || continue
    case "$v" in 9.*|1[0-9].*) ;; *) say "cuDNN: $v at $inc is older than 9; ignored"; continue ;; esac
    for lib in "$root/lib" "$root/lib64" "$root/targets/x86_64-linux/lib" "$root/lib/x86_64-linux-gnu"; do
      if ls "$lib"/libcudnn.so* >/dev/null 2>&1; then
        CUDNN_DIR=$root CUDNN_INC=$inc CUDNN_LIBDIR=$lib CUDNN_VERSION=$v
        break 3
      fi
    done
  done
done
if [ -n "${LD_LIBRARY_PATH+set}" ]; then TORCH_ENV=(env "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"); else TORCH_ENV=(env -u LD_LIBRARY_PATH); fi
CUDNN_ARGS=(-DDSCONV_WITH_CUDNN=AUTO)
if [ -n "$CUDNN_DIR" ]; then
  CUDNN_ROOT_USED=$CUDNN_DIR
  if [ ! -e "$CUDNN_LIBDIR/libcudnn.so" ]; then
    # Only libcudnn.so.9 (a pip package): a shim root with the unversioned name for the linker, and
    # every cuDNN library beside it, so that the binaries' run path finds libcudnn.so.9 and the
    # engine libraries it loads from its own folder.
    CUDNN_ROOT_USED=$BUILD/cudnn-shim
    rm -rf "$CUDNN_ROOT_USED" && mkdir -p "$CUDNN_ROOT_USED/lib"
    ln -sfn "$CUDNN_INC" "$CUDNN_ROOT_USED/include"
    for f in "$CUDNN_LIBDIR"/libcudnn*.so*; do ln -sfn "$f" "$CUDNN_ROOT_USED/lib/$(basename "$f")"; done
    main=$(cd "$CUDNN_LIBDIR" && ls libcudnn.so.[0-9]* | sort -V | tail -n 1)
    ln -sfn "$CUDNN_LIBDIR/$main" "$CUDNN_ROOT_USED/lib/libcudnn.so"
    CUDNN_LIBDIR=$CUDNN_ROOT_USED/lib
    say "cuDNN: no unversioned libcudnn.so: shim $CUDNN_ROOT_USED (libcudnn.so -> $main)"
  fi
  CUDNN_ARGS=(-DDSCONV_WITH_CUDNN=ON "-DCUDNN_ROOT=$CUDNN_ROOT_USED")
  # cuDNN 9 loads its engine libraries (libcudnn_*.so.9) at run time from beside itself. PyTorch
  # keeps the environment it came with (TORCH_ENV), so that it loads the cuDNN it was built with.
  export LD_LIBRARY_PATH="$CUDNN_LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  say "cuDNN: $CUDNN_VERSION at $CUDNN_DIR (headers $CUDNN_INC, libraries $CUDNN_LIBDIR)"
else
  say "cuDNN: none found (looked in: ${CUDNN_CANDIDATES[*]}); the cudnn backend is not built and its rows will say so"
fi

# ---------------------------------------------------------------------------------------------
# Build, test
# ---------------------------------------------------------------------------------------------
DSCONV_COMMIT=$(git -C "$SRC" describe --always --dirty --abbrev=12 --exclude='*' 2>/dev/null || echo unknown)
export DSCONV_COMMIT
JOBS=$(nproc 2>/dev/null || echo 8)

step configure 150 cmake -S "$SRC" -B "$BUILD" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DDSCONV_WITH_CUDA=ON -DDSCONV_CUDA_EMULATION=OFF -DCMAKE_CUDA_ARCHITECTURES=90 \
  ${NVCC:+-DCMAKE_CUDA_COMPILER=$NVCC} "${CUDNN_ARGS[@]}" -DDSCONV_WITH_ONEDNN=OFF
if [ "$DRY_RUN" = 0 ] && step_ok configure; then
  used=$(sed -n 's/^CUDNN_LIBRARY:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null)
  say "cuDNN used by the build: ${used:-none} $(grep -o 'cuDNN backend: [A-Z]*' "$LOGS/configure.log" | head -n 1)"
fi

if step_ok configure; then
  step build 330 cmake --build "$BUILD" -j "$JOBS" --target dsconv_driver dsconv_tests
else
  skip build "configure failed"
fi

if [ "$SANITIZERS_ONLY" = 1 ]; then
  note ctest "not run with --sanitizers (the default run has it); the tools run the GPU tests instead"
elif step_ok build; then
  step ctest 150 ctest --test-dir "$BUILD" -j 8 --timeout 120 --output-on-failure
else
  skip ctest "no build"
fi

# ---------------------------------------------------------------------------------------------
# Benchmarks: dsconv's cuda kernels with cuDNN as peer (same process, same data), then PyTorch
# ---------------------------------------------------------------------------------------------
BENCH_TIMING=(--min-time 0.1 --max-iters 50 --max-time 3 --no-progress)
SUITE_ARGS=()
for s in ${SUITES//,/ }; do SUITE_ARGS+=(--suite "$s"); done
F16_SUITE_ARGS=()  # half precision: the depthwise suites (what mobile networks run in f16)
for s in mobilenet_v2 efficientnet_b0 mobilenet_v3 convnext replknet; do F16_SUITE_ARGS+=(--suite "$s"); done
# In --sanitizers mode the benchmark steps are notes (not run, not failures).
bench_wanted() {  # NAME
  if [ "$SANITIZERS_ONLY" = 1 ]; then
    note "$1" "not run with --sanitizers"
    return 1
  fi
  return 0
}

if ! bench_wanted bench_f32; then
  :
elif step_ok build; then
  step bench_f32 200 "$DSCONV" bench "${SUITE_ARGS[@]}" --backend cuda,cudnn --verify --max-ref-gflop 12 \
    "${BENCH_TIMING[@]}" --format json --out "$RAW/dsconv_f32.json"
else
  skip bench_f32 "no build"
fi
if ! bench_wanted torch_f32; then
  :
elif step_ok build && [ "$HAVE_TORCH" = 1 ]; then
  step torch_f32 200 "${TORCH_ENV[@]}" sh -c "'$DSCONV' bench ${SUITE_ARGS[*]} --dump --format json >'$RAW/problems_f32.json' &&
    '$PYTHON' '$SRC/bench/torch_peer.py' --problems '$RAW/problems_f32.json' --dsconv '$DSCONV' --verify \
      --min-time 0.1 --max-iters 50 --max-time 3 -o '$RAW/torch_f32.json'"
else
  skip torch_f32 "$([ "$HAVE_TORCH" = 1 ] && echo 'no build' || echo 'PyTorch not importable')"
fi

# ---------------------------------------------------------------------------------------------
# compute-sanitizer: memcheck, racecheck, initcheck and synccheck on small problems through the driver
# (every kernel family: strides, dilations, big kernels, NCHW, f16/bf16, multiplier) and on GPU tests:
# a spread of 24 in the default run, the kernel sweeps with --sanitizers. Any error fails the step;
# sanitizers.md in OUTDIR has one row per tool.
# ---------------------------------------------------------------------------------------------
SANITIZE_PROBLEMS="
depthwise_n2h15w13c17_k3x3_m1_s1x1_d1x1_psame_nhwc_tf_f32
depthwise_n2h15w13c33_k3x3_m2_s2x2_d1x1_psame_nhwc_tf_f32_bias_relu6
depthwise_n1h17w15c24_k5x5_m1_s1x1_d2x2_psame_nhwc_tf_f16
depthwise_n1h16w16c20_k7x7_m1_s1x1_d1x1_psame_nchw_oihw_bf16
depthwise_n2h14w30c6_k5x5_m1_s1x1_d1x2_psame_nchw_tf_f16
depthwise_n3h9w11c5_k3x3_m2_s2x2_d1x1_pt1b2l0r3_nchw_tf_f32_bias_res
depthwise_n1h21w19c16_k13x13_m1_s1x1_d1x1_psame_nhwc_tf_f32
depthwise_n1h9w11c8_k3x5_m3_s2x1_d1x3_pt1b0l2r1_nhwc_tf_f32
depthwise_n2h12w10c16_k3x3_m1_s1x1_d1x1_psame_nhwc_tf_f16_bias_silu_res
separable_n1h13w13c16_k3x3_m1_o24_s1x1_d6x6_psame_nhwc_tf_f32
conv2d_n1h13w13c16_k3x3_o24_s1x1_d6x6_psame_nhwc_tf_f32
"
cat >"$WORK/sanitize.sh" <<'SH'
#!/usr/bin/env bash
# sanitize.sh SANITIZER TOOL DSCONV TESTS MODE SECONDS PROBLEM...
# Every problem on cuda and cudnn under the tool, then GPU tests: MODE spread (up to 24 tests across
# the GPU suites) or sweeps (every kernel sweep test, interleaved across suites, in shards of 16 per
# process until SECONDS are nearly spent). Fails on any report; the last line is the summary row
# "| TOOL | problems | tests | errors | status |" for sanitizers.md.
set -u
san=$1 tool=$2 dsconv=$3 tests=$4 mode=$5 seconds=$6
shift 6
start=$SECONDS
failed=0 errors=0 probs_ok=0 probs_run=0
count_errors() {  # LOG: the errors compute-sanitizer reported in it
  awk '/ERROR SUMMARY: [0-9]+ error/ { for (i = 1; i <= NF; ++i) if ($i == "SUMMARY:") n += $(i + 1) }
       /RACECHECK SUMMARY: [0-9]+ hazard/ { for (i = 1; i <= NF; ++i) if ($i ~ /^\(?[0-9]+$/ && $(i + 1) ~ /^errors/) { gsub(/\(/, "", $i); n += $i } }
       END { print n + 0 }' "$1"
}
for p in "$@"; do
  for b in cuda cudnn; do
    "$san" --tool "$tool" --error-exitcode 99 "$dsconv" check "$p" --backend "$b" --seed 7 >out.txt 2>&1
    rc=$?
    e=$(count_errors out.txt)
    errors=$((errors + e))
    case $rc in
      0) echo "ok       $tool $b $p"; probs_run=$((probs_run + 1)); probs_ok=$((probs_ok + 1)) ;;
      3) echo "skipped  $tool $b $p (the backend cannot plan it)" ;;
      *) echo "FAILED   $tool $b $p (exit $rc, $e errors)"; tail -n 30 out.txt; failed=1; probs_run=$((probs_run + 1)) ;;
    esac
  done
done
# Test names, one per line, suites interleaved: the i-th test of every suite before the (i+1)-th of any.
if [ "$mode" = sweeps ]; then
  pattern='DepthwiseCuda[.]|DepthwiseEpilogue[.]|GemmCuda[.]|SeparableCuda[A-Za-z]*[.]|Cudnn[A-Za-z]*[.]|^Determinism[.]Cud|^DepthwiseCudaSelection[.]|^Concurrency[.]'
else
  pattern='cuda|cudnn|depthwise|emu|gemm'
fi
"$tests" --gtest_list_tests 2>/dev/null | awk -v pat="$pattern" -v mode="$mode" '
  /^[^ ]/ { suite = $1; next }
  { name = suite $1; if (mode == "sweeps" ? name ~ pat : tolower(suite) ~ pat) { n[suite]++; t[suite, n[suite]] = name; if (n[suite] > max) max = n[suite]; if (!(suite in seen)) { seen[suite] = 1; order[++ns] = suite } } }
  END { for (i = 1; i <= max; ++i) for (s = 1; s <= ns; ++s) if (i <= n[order[s]]) print t[order[s], i] }' |
  grep -v -E 'DeathTest|Past2e31' >tests.txt
total=$(wc -l <tests.txt)
if [ "$mode" != sweeps ] && [ "$total" -gt 24 ]; then
  awk -v n="$total" 'BEGIN { k = n / 24 } { if (NR >= next_pick) { print; next_pick += k } }' tests.txt | head -n 24 >picked.txt
  mv picked.txt tests.txt
fi
wanted=$(wc -l <tests.txt)
ran=0
shard=16
while [ "$ran" -lt "$wanted" ]; do
  # Stop starting shards when fewer than 20 s remain: a shard under racecheck can take that long.
  if [ $((seconds - (SECONDS - start))) -lt 20 ]; then
    echo "time box: stopped after $ran of $wanted tests"
    break
  fi
  filter=$(sed -n "$((ran + 1)),$((ran + shard))p" tests.txt | paste -sd: -)
  "$san" --tool "$tool" --error-exitcode 99 "$tests" --gtest_filter="$filter" >out.txt 2>&1
  rc=$?
  e=$(count_errors out.txt)
  errors=$((errors + e))
  grep -E '^\[  (PASSED|FAILED|SKIPPED) ' out.txt | sed "s/^/$tool tests $((ran + 1))-$((ran + shard)): /"
  if [ $rc != 0 ]; then
    echo "FAILED   $tool tests $((ran + 1))-$((ran + shard)) (exit $rc, $e errors)"
    grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|Invalid|Race|Hazard|Uninitialized|Barrier|FAILED' out.txt | head -n 20
    failed=1
  fi
  ran=$((ran + $(sed -n "$((ran + 1)),$((ran + shard))p" tests.txt | wc -l)))
done
[ "$wanted" -gt 0 ] || echo "no GPU tests found to run under $tool"
status=$([ $failed = 0 ] && echo ok || echo FAILED)
echo "| $tool | $probs_ok/$probs_run | $ran/$wanted ($mode) | $errors | $status |"
exit $failed
SH
chmod +x "$WORK/sanitize.sh"
SANITIZE_MODE=spread
[ "$SANITIZERS_ONLY" = 1 ] && SANITIZE_MODE=sweeps
SANITIZER_ROWS=()
# shellcheck disable=SC2086
for tool in memcheck racecheck initcheck synccheck; do
  # Time boxes: the default run keeps them short next to the benchmarks; --sanitizers shares what the
  # build left among the four (racecheck, the slowest, gets the most).
  if [ "$SANITIZERS_ONLY" = 1 ]; then
    case $tool in
      memcheck) box=$(( ($(remaining) - RESERVE) * 30 / 100 )) ;;
      racecheck) box=$(( ($(remaining) - RESERVE) * 45 / 100 )) ;;
      initcheck) box=$(( ($(remaining) - RESERVE) * 55 / 100 )) ;;
      *) box=$(( $(remaining) - RESERVE )) ;;
    esac
  else
    case $tool in memcheck|racecheck) box=60 ;; *) box=45 ;; esac
  fi
  [ "$box" -ge 10 ] || box=10
  if ! step_ok build; then
    skip "$tool" "no build"
  elif [ -z "$SANITIZER" ]; then
    note "$tool" "compute-sanitizer not found (CUDA toolkit's bin/): not checked"
  else
    # The shard loop stops 15 s before the step's box ends, so the summary row is always written.
    step "$tool" "$box" sh -c "cd '$WORK' && ./sanitize.sh '$SANITIZER' $tool '$DSCONV' '$BUILD/bin/dsconv_tests' $SANITIZE_MODE $((box - 15)) $(echo $SANITIZE_PROBLEMS)"
  fi
  row=$(grep '^| ' "$LOGS/$tool.log" 2>/dev/null | tail -n 1)
  SANITIZER_ROWS+=("${row:-| $tool | - | - | - | $(awk -F'\t' -v t="$tool" '$1 == t { s = $2 } END { print s }' "$STATUS_FILE") |}")
done
{
  say "# compute-sanitizer $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  say ""
  say "GPU: ${GPU_NAME:-none}; commit $DSCONV_COMMIT; mode $SANITIZE_MODE; compute-sanitizer: ${SANITIZER:-not found}"
  say "command: bench/gpu_check.sh $OUTDIR$([ "$SANITIZERS_ONLY" = 1 ] && echo ' --sanitizers')$([ "$DRY_RUN" = 1 ] && echo ' --dry-run')"
  say ""
  say "| tool | driver problems ok/run | GPU tests run/selected | errors | status |"
  say "|---|---|---|---|---|"
  for row in "${SANITIZER_ROWS[@]}"; do say "$row"; done
} >"$OUTDIR/sanitizers.md"

# ---------------------------------------------------------------------------------------------
# Nsight Compute on the model's calibration kernels: model vs measured (cuda/emu/model/README.md).
# The model rows are committed (bench/data/model_calibration_{h100,h200}.json); ncu flushes caches
# before each kernel and keeps the application clocks, a handful of replays per kernel.
# ---------------------------------------------------------------------------------------------
NCU=$(command -v ncu || true)
[ -n "$NCU" ] || { [ -x /usr/local/cuda/bin/ncu ] && NCU=/usr/local/cuda/bin/ncu; }
MODEL_CARD=h100
case "$GPU_NAME" in *H200*) MODEL_CARD=h200 ;; esac
if ! bench_wanted ncu; then
  :
elif ! step_ok build; then
  skip ncu "no build"
elif [ -z "$NCU" ]; then
  note ncu "ncu not found: no model-vs-measured table; the performance model stays uncalibrated"
else
  step ncu 100 "$PYTHON" "$SRC/bench/model_vs_ncu.py" --ncu "$NCU" --dsconv "$DSCONV" --gpu "${GPU_NAME%%,*}" \
    --model "$SRC/bench/data/model_calibration_$MODEL_CARD.json" --out "$RAW/model_vs_measured" --budget 85
fi

# Half precision, time permitting.
if ! bench_wanted bench_f16; then
  :
elif step_ok build; then
  step bench_f16 120 "$DSCONV" bench "${F16_SUITE_ARGS[@]}" --dtype f16 --backend cuda,cudnn --verify \
    --max-ref-gflop 12 "${BENCH_TIMING[@]}" --format json --out "$RAW/dsconv_f16.json"
else
  skip bench_f16 "no build"
fi
# The NCHW depthwise layers (PyTorch's layout) of the three mobile suites, f32 and f16, at N=32 and N=1,
# against cuDNN: the NCHW rows kernels (bench/results/2026-12-02-model-h100-nchw-rows/ models them at 94-100%
# of copy bandwidth in f32 at N=32, 54-100% in f16). raw/dsconv_nchw_{f32,f16}_n{32,1}.json.
if ! bench_wanted bench_nchw; then
  :
elif step_ok build; then
  NCHW_SUITES=(--suite mobilenet_v2 --suite efficientnet_b0 --suite mobilenet_v3 --layout NCHW)
  for dt in f32 f16; do
    for n in 32 1; do
      step "bench_nchw_${dt}_n$n" 40 "$DSCONV" bench "${NCHW_SUITES[@]}" --batch "$n" --dtype "$dt" \
        --backend cuda,cudnn --verify --max-ref-gflop 12 "${BENCH_TIMING[@]}" --format json \
        --out "$RAW/dsconv_nchw_${dt}_n$n.json"
    done
  done
else
  skip bench_nchw "no build"
fi
# DeepLab's atrous conv2d and separable layers in f16 (the tensor-core implicit GEMM against cuDNN); their
# 2-40 GFLOP problems are not re-verified on the CPU here (the ctest sweeps check the kernels).
if ! bench_wanted bench_f16_deeplab; then
  :
elif step_ok build; then
  step bench_f16_deeplab 90 "$DSCONV" bench --suite deeplab_aspp --suite deeplab_separable --dtype f16 \
    --backend cuda,cudnn "${BENCH_TIMING[@]}" --format json --out "$RAW/dsconv_f16_deeplab.json"
else
  skip bench_f16_deeplab "no build"
fi
# The same ASPP layers with every tile's split tail forbidden (the implicit GEMM's whole tiles, as chosen
# before the split): raw/dsconv_f16_aspp_whole.json beside dsconv_f16_deeplab.json measures what the split
# tail gains (kept out of the merged report: the same problems and backend).
if ! bench_wanted bench_f16_aspp_whole; then
  :
elif step_ok build; then
  WHOLE_TILES=()
  for t in mma_async3_tile128x128 mma_async3_tile64x128 mma_tile128x128 mma_tile128x64 mma_tile64x64; do
    WHOLE_TILES+=(--skip-impl "conv2d_fwd_nhwc_igemm_f16_${t}x32_tailsplit")
  done
  step bench_f16_aspp_whole 45 "$DSCONV" bench --suite deeplab_aspp --dtype f16 --backend cuda "${WHOLE_TILES[@]}" \
    "${BENCH_TIMING[@]}" --format json --out "$RAW/dsconv_f16_aspp_whole.json"
else
  skip bench_f16_aspp_whole "no build"
fi
# The separable ASPP layers at N=8 (the batch of the model's figures) on three plans, cuda backend only:
# raw/dsconv_f16_sep_default.json the default (fused 64x256 with its split tail), _fused128 the fused kernel
# on whole 128x128 tiles (the plan before the 64x256 tile), _twopass our depthwise then our 1x1 implicit
# GEMM. The model puts default / fused128 at 1.17-1.29x (bench/results/2026-12-02-model-h100-fused-split-tail/)
# and, with L1, default / twopass at 1.47-1.50x (bench/results/2026-12-02-model-h100-fused-rule/); kept out of
# the merged report.
if ! bench_wanted bench_f16_sep_plans; then
  :
elif step_ok build; then
  SEP_BENCH=(bench --suite deeplab_separable --batch 8 --dtype f16 --backend cuda "${BENCH_TIMING[@]}" --format json)
  step bench_f16_sep_default 30 "$DSCONV" "${SEP_BENCH[@]}" --out "$RAW/dsconv_f16_sep_default.json"
  step bench_f16_sep_fused128 30 "$DSCONV" "${SEP_BENCH[@]}" --impl sep_fwd_nhwc_fused_f16_mma_tile128x128 \
    --skip-impl sep_fwd_nhwc_fused_f16_mma_tile128x128x32_tailsplit --out "$RAW/dsconv_f16_sep_fused128.json"
  step bench_f16_sep_twopass 30 "$DSCONV" "${SEP_BENCH[@]}" --impl sep_fwd_nhwc_twopass \
    --out "$RAW/dsconv_f16_sep_twopass.json"
else
  skip bench_f16_sep_plans "no build"
fi
# The same atrous conv2d layers in f32 with TF32 allowed for dsconv (the subject: ..._f32_tf32_mma_...),
# against cuDNN's f32, which keeps FMA math: what an f32 model gains by opting in, not a like-for-like race.
if ! bench_wanted bench_tf32_deeplab; then
  :
elif step_ok build; then
  step bench_tf32_deeplab 60 "$DSCONV" bench --suite deeplab_aspp --dtype f32 --allow-tf32 \
    --backend cuda,cudnn "${BENCH_TIMING[@]}" --format json --out "$RAW/dsconv_tf32_deeplab.json"
else
  skip bench_tf32_deeplab "no build"
fi
# The resident-A fused separable kernel on the layers whose per-tile fused kernel recomputes too much
# (Xception's 728 -> 728 from N=1 to 8, its exit flow, MobileNetV1's 14x14 512 -> 512 at N=32):
# raw/sep_resident/<descriptor>.{fused,twopass}.json (fused: the resident kernel, the per-tile one declining),
# and raw/dsconv_f16_sep_resident_cudnn.json, the default plan against cuDNN's separable (its depthwise, then
# its 1x1). The model puts resident / two passes at 1.28-1.85x from N=4 and the small grids at 0.92-0.97x
# (bench/results/2026-12-02-model-h100-resident/, where the offer's 2-tiles-a-slot rule comes from); kept out
# of the merged report.
if ! bench_wanted bench_f16_sep_resident; then
  :
elif step_ok build; then
  RESIDENT_PROBLEMS="$SRC/bench/results/2026-12-02-model-h100-resident/problems.txt"
  step bench_f16_sep_resident 60 "$SRC/bench/sep_plans.sh" "$DSCONV" "$RESIDENT_PROBLEMS" "$RAW/sep_resident" \
    "${BENCH_TIMING[@]}"
  mapfile -t RESIDENT_DESCS < <(grep -v -e '^#' -e '^$' "$RESIDENT_PROBLEMS")
  step bench_f16_sep_resident_cudnn 30 "$DSCONV" bench "${RESIDENT_DESCS[@]}" --backend cuda,cudnn \
    "${BENCH_TIMING[@]}" --format json --out "$RAW/dsconv_f16_sep_resident_cudnn.json"
else
  skip bench_f16_sep_resident "no build"
fi
# The fused kernel and the two passes on the 25 separable layers of the fused grid rule (MobileNetV1 and the
# ASPP from N=1 to 32): raw/sep_rule/<descriptor>.{fused,twopass}.json, to set kMaxFusedGridShare (the model
# has the fused kernel slower on grids of at most a quarter wave of whole tiles; its table is
# bench/results/2026-12-02-model-h100-fused-rule/tables.md); kept out of the merged report;
# last of the benchmarks, so that a short budget cuts it rather than the others.
if ! bench_wanted bench_f16_sep_rule; then
  :
elif step_ok build; then
  step bench_f16_sep_rule 90 "$SRC/bench/sep_plans.sh" "$DSCONV" \
    "$SRC/bench/results/2026-12-02-model-h100-fused-rule/problems.txt" "$RAW/sep_rule" "${BENCH_TIMING[@]}"
else
  skip bench_f16_sep_rule "no build"
fi
if ! bench_wanted torch_f16; then
  :
elif step_ok build && [ "$HAVE_TORCH" = 1 ]; then
  step torch_f16 120 "${TORCH_ENV[@]}" sh -c "'$DSCONV' bench ${F16_SUITE_ARGS[*]} --dtype f16 --dump --format json >'$RAW/problems_f16.json' &&
    '$PYTHON' '$SRC/bench/torch_peer.py' --problems '$RAW/problems_f16.json' --dsconv '$DSCONV' --verify \
      --min-time 0.1 --max-iters 50 --max-time 3 -o '$RAW/torch_f16.json'"
else
  skip torch_f16 "$([ "$HAVE_TORCH" = 1 ] && echo 'no build' || echo 'PyTorch not importable')"
fi

# ---------------------------------------------------------------------------------------------
# Report: merged JSON, markdown, charts, summary; raw results and logs packed
# ---------------------------------------------------------------------------------------------
results=()
for f in dsconv_f32 dsconv_f16 dsconv_f16_deeplab dsconv_tf32_deeplab torch_f32 torch_f16; do
  [ -s "$RAW/$f.json" ] && results+=("$RAW/$f.json")
done
if [ "$SANITIZERS_ONLY" = 1 ]; then
  note report "no benchmarks with --sanitizers"
elif [ ${#results[@]} -gt 0 ] || [ "$DRY_RUN" = 1 ]; then
  step report 60 sh -c "'$PYTHON' '$SRC/bench/report.py' merge ${results[*]:-} -o '$OUTDIR/results.json' &&
    '$PYTHON' '$SRC/bench/report.py' markdown '$OUTDIR/results.json' -o '$OUTDIR/results.md' &&
    '$PYTHON' '$SRC/bench/report.py' summary '$OUTDIR/results.json' >'$OUTDIR/summary.txt' &&
    { '$PYTHON' '$SRC/bench/plot.py' '$OUTDIR/results.json' -o '$OUTDIR' || echo 'charts skipped'; }"
else
  skip report "no benchmark results"
fi

{
  say "# gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  say "GPU: ${GPU_NAME:-none}; cuDNN: ${CUDNN_VERSION:-none} ${CUDNN_DIR:+at $CUDNN_DIR}; commit $DSCONV_COMMIT"
  say "command: bench/gpu_check.sh $OUTDIR$([ "$DRY_RUN" = 1 ] && echo ' --dry-run')"
  say ""
  say "step         status   seconds  detail"
  awk -F'\t' '{ printf "%-12s %-8s %7s  %s\n", $1, $2, $3, $4 }' "$STATUS_FILE"
} >"$WORK/steps.txt"
tar -czf "$OUTDIR/raw.tar.gz" -C "$WORK" raw logs steps.txt sanitize.sh 2>/dev/null
cp "$WORK/steps.txt" "$OUTDIR/steps.txt"
[ -s "$RAW/model_vs_measured.md" ] && cp "$RAW/model_vs_measured.md" "$OUTDIR/model_vs_measured.md"
status=0
grep -qvE "	(ok|note)	" "$STATUS_FILE" && status=1
rm -rf "$WORK"

say ""
cat "$OUTDIR/steps.txt"
if [ -s "$OUTDIR/summary.txt" ]; then
  say ""
  cat "$OUTDIR/summary.txt"
fi
[ -s "$OUTDIR/model_vs_measured.md" ] && say "" && say "performance model vs measured: $OUTDIR/model_vs_measured.md"
say ""
cat "$OUTDIR/sanitizers.md"
say "total $(elapsed)s; results in $OUTDIR (results.md, results.json, summary.txt, charts, model_vs_measured.md, raw.tar.gz)"
exit $status
