#!/usr/bin/env bash
# The install tree, as a host sees it: `cmake --install` of this build into a
# temporary prefix, then, against that prefix only,
#   - examples/host configured with find_package(attnc) (CMAKE_PREFIX_PATH),
#     built and run: jit_host (libattnc through attnc.hpp) and alibi_host
#     (an object file from the installed attnc command line);
#   - a C program built with `pkg-config --cflags --libs attnc` and run;
#   - the installed Python package imported and run, if it was built.
# Exits 77 (ctest: skipped) when pkg-config is missing.
#
# usage: install-test.sh BUILD_DIR SOURCE_DIR CMAKE GENERATOR MAKE_PROGRAM CC CXX LIBDIR PYTHON PYTHON_DIR
set -euo pipefail
build=$1 src=$2 cmake=$3 generator=$4 make_program=$5 cc=$6 cxx=$7 libdir=$8 python=$9 pydir=${10}

if ! command -v pkg-config >/dev/null; then
  echo "SKIP: pkg-config not found (scripts/setup.sh installs it)"
  exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }
# Nothing from the build tree or the caller's environment may help.
unset LD_LIBRARY_PATH PYTHONPATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH

tmp=$(mktemp -d "${TMPDIR:-/tmp}/attnc-install-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

echo "== cmake --install into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
for f in bin/attnc bin/attnc-opt "$libdir/libattnc.so" "$libdir/libattnc_runtime.so" "$libdir/libattnc_runtime.a" \
         "$libdir/cmake/attnc/attncConfig.cmake" "$libdir/cmake/attnc/attncConfigVersion.cmake" \
         "$libdir/pkgconfig/attnc.pc"; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
# The public headers and no others; no internal library.
headers=$(cd "$prefix/include" && find . -type f | sort | tr '\n' ' ')
[ "$headers" = "./attnc/Runtime/attnc_runtime.h ./attnc/attnc.h ./attnc/attnc.hpp " ] || fail "installed headers: $headers"
internal=$(cd "$prefix" && find . -name 'libAttnc*' -o -name 'libMLIR*' -o -name 'libLLVM*')
[ -z "$internal" ] || fail "internal libraries installed: $internal"
for f in bin/attnc bin/attnc-opt "$libdir/libattnc.so"; do
  if ldd "$prefix/$f" | grep -q "not found"; then ldd "$prefix/$f"; fail "$f: unresolved libraries"; fi
done
"$prefix/bin/attnc-opt" --version >/dev/null || fail "installed attnc-opt does not run"

echo "== examples/host with find_package(attnc)"
"$cmake" -S "$src/examples/host" -B "$tmp/host" -G "$generator" -DCMAKE_MAKE_PROGRAM="$make_program" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/host-configure.log" || { cat "$tmp/host-configure.log"; fail "configure examples/host"; }
grep -qx "attnc_DIR:PATH=$prefix/$libdir/cmake/attnc" "$tmp/host/CMakeCache.txt" ||
  fail "find_package(attnc) did not find the installed package: $(grep attnc_DIR "$tmp/host/CMakeCache.txt")"
"$cmake" --build "$tmp/host" >"$tmp/host-build.log" || { cat "$tmp/host-build.log"; fail "build examples/host"; }
"$tmp/host/jit_host" 2 3 37 16 | tee "$tmp/jit.out"
grep -q "^compiled causal_self for the CPU: q\[3552 elements, f32\]" "$tmp/jit.out" || fail "jit_host: no program summary"
tail -n 1 "$tmp/jit.out" | grep -qx PASS || fail "jit_host"
"$tmp/host/alibi_host" | tee "$tmp/alibi.out"
tail -n 1 "$tmp/alibi.out" | grep -qx PASS || fail "alibi_host"

echo "== pkg-config --cflags --libs attnc"
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
flags=$(pkg-config --cflags --libs attnc) || fail "pkg-config attnc"
echo "$flags"
# shellcheck disable=SC2086 # the flags are words
"$cc" -std=c99 -Wall -Werror -o "$tmp/pkgconfig_host" "$src/test/install/pkgconfig_host.c" $flags ||
  fail "compile with pkg-config's flags"
out=$(LD_LIBRARY_PATH=$prefix/$libdir "$tmp/pkgconfig_host") || fail "pkgconfig_host"
echo "$out"
[ "$out" = "tiny: q rank 4 [1, 2, 5, 4] f32" ] || fail "pkgconfig_host printed: $out"

if [ -n "$pydir" ] && [ -n "$(find "$prefix/$pydir" -name '_attnc*.so' 2>/dev/null)" ]; then
  echo "== the installed Python package"
  PYTHONPATH=$(dirname "$prefix/$pydir") "$python" - "$prefix" <<'EOF' || fail "installed Python package"
import sys, numpy as np, attnc
assert attnc.__file__.startswith(sys.argv[1]), attnc.__file__
fn = attnc.compile("variant c\ndims B, H, L, D\ninput q : [B, H, L, D]\ninput k : [B, H, L, D]\n"
                   "input v : [B, H, L, D]\nattention a(q, k, v) {\n  carrier causal\n}\noutput o = a\n",
                   B=1, H=1, L=9, D=4)
q, k, v = (np.random.default_rng(s).standard_normal((1, 1, 9, 4)).astype(np.float32) for s in range(3))
s = (q[0, 0].astype(np.float64) @ k[0, 0].T) / 2.0 + np.triu(np.full((9, 9), -np.inf), 1)
p = np.exp(s - s.max(1, keepdims=True))
err = np.abs(fn(q, k, v)[0, 0] - (p / p.sum(1, keepdims=True)) @ v[0, 0]).max()
print("python: max abs error %.3g" % err)
assert err < 1e-5
EOF
fi
echo PASS
