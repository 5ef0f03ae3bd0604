#!/bin/sh
# Installs a dsconv build tree into a fresh prefix and builds and runs a separate consumer project
# (tests/install/) against it: the check that `find_package(dsconv CONFIG)` works for engines.
#
# usage: run_install_test.sh BUILD_DIR [CMAKE]
#   BUILD_DIR  a configured and built dsconv build tree
#   CMAKE      the cmake executable to use (default: cmake on PATH)
set -eu

if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [CMAKE]" >&2
  exit 2
fi
build_dir=$1
cmake=${2:-cmake}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/dsconv_install_XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
prefix=$work/prefix

echo "== install $build_dir -> $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; exit 1; }

# Only the public headers are installed; internal ones (src/, cpu/, cuda/) never are.
for f in include/dsconv/dsconv.h include/dsconv/dsconv.hpp include/dsconv/npy.hpp include/dsconv/config.h; do
  [ -f "$prefix/$f" ] || { echo "missing after install: $f" >&2; exit 1; }
done
if find "$prefix/include" -name '*.hpp' | grep -v '/include/dsconv/[a-z_]*\.hpp$' | grep -q .; then
  echo "unexpected headers installed:" >&2
  find "$prefix/include" -type f >&2
  exit 1
fi

# The installed driver finds the installed library through its RPATH.
if [ -x "$prefix/bin/dsconv" ]; then
  echo "== $prefix/bin/dsconv --version"
  "$prefix/bin/dsconv" --version
fi

# A library built with sanitizers (DSCONV_SANITIZE) needs consumers built the same way, with the same
# compiler: the sanitizer runtime must be linked into the program, not only into libdsconv.
cache=$build_dir/CMakeCache.txt
sanitize=$(sed -n 's/^DSCONV_SANITIZE:[A-Z]*=//p' "$cache" 2>/dev/null || true)
set --
if [ -n "$sanitize" ]; then
  cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$cache")
  cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$cache")
  set -- "-DCMAKE_C_COMPILER=$cc" "-DCMAKE_CXX_COMPILER=$cxx" "-DCMAKE_C_FLAGS=-fsanitize=$sanitize" \
    "-DCMAKE_CXX_FLAGS=-fsanitize=$sanitize" "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=$sanitize"
  echo "== the build uses -fsanitize=$sanitize: so does the consumer"
fi

echo "== configure and build the consumer"
"$cmake" -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DEXPECTED_PREFIX="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Release "$@" >"$work/configure.log" ||
  { cat "$work/configure.log"; exit 1; }
grep 'dsconv .* from ' "$work/configure.log" || true
"$cmake" --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }

echo "== run the consumers"
"$work/build/dsconv_consumer_c"
"$work/build/dsconv_consumer_cpp" "$work/consumer_y.npy"
echo "install test: PASSED"
