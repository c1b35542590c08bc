#!/bin/sh
# tests/fuzz/run.sh [SECONDS] [TARGET...] -- build the libFuzzer targets with
# clang (ASan + UBSan, coverage-instrumented library) into build-fuzz/ and run
# each for SECONDS (default 20) on a scratch copy of its seed corpus
# (tests/fuzz/corpus/<target>).  Exits non-zero on the first crash, leak,
# sanitizer report or timeout; the reproducer is left in build-fuzz/.
# Needs clang and libclang-rt (Debian: clang, libclang-rt-dev).
set -eu
cd "$(dirname "$0")/../.."
SECS=${1:-20}
[ $# -gt 0 ] && shift
TARGETS=${*:-"fuzz_event fuzz_template fuzz_policy fuzz_decide fuzz_serve"}
B=build-fuzz
CC=clang cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFL_BUILD_TESTS=OFF -DFL_BUILD_BENCH=OFF \
  -DFL_SANITIZE=address,undefined -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
cmake --build "$B" -j2 --target faultline_static >/dev/null
LIBS="$(pkg-config --libs luajit libuv libpcre2-8 jansson libxxhash sqlite3 libzstd libarchive libsodium hiredis libcurl) -lpthread -lm"
CFLAGS="$(pkg-config --cflags luajit libpcre2-8 jansson) -Iengine/src $(for d in base core matching lua deciding loading engine; do printf -- "-Iengine/src/%s " $d; done)-Iengine/include -Ibindings"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# fuzz_serve drives the request handlers of `faultline serve` (engine/cli).
extra_sources() { [ "$1" = fuzz_serve ] && echo "engine/cli/serve_api.c -Iengine/cli -Iengine/src/resilience"; true; }
for t in $TARGETS; do
  # The targets are compiled here, so this works whether or not the top-level
  # CMakeLists includes tests/fuzz.
  clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -DFL_SOURCE_DIR="\"$PWD\"" $CFLAGS tests/fuzz/$t.c $(extra_sources "$t") "$B/engine/libfaultline.a" $LIBS -o "$B/$t"
  work="$B/corpus-$t"
  mkdir -p "$work"
  cp -n tests/fuzz/corpus/"${t#fuzz_}"/* "$work"/ 2>/dev/null || true
  # The policy loader is also seeded with the stock pack itself, read from
  # policies/ rather than copied into the seed corpus.
  if [ "$t" = fuzz_policy ]; then
    for f in policies/*.lua; do cp -n "$f" "$work/stock-$(basename "$f")"; done
  fi
  echo "== $t: ${SECS}s"
  (cd "$B" && "./$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
     -print_final_stats=1 "corpus-$t" 2>&1 | tail -15)
  # libFuzzer's exit status is lost in the pipe: look for its artifacts.
  # ls fails when any one pattern matches nothing: test its output instead.
  if ls "$B"/crash-* "$B"/leak-* "$B"/timeout-* "$B"/oom-* 2>/dev/null | grep -q .; then
    echo "fuzz: $t found a problem:"; ls "$B"/crash-* "$B"/leak-* "$B"/timeout-* "$B"/oom-* 2>/dev/null
    exit 1
  fi
done
echo "fuzz: no findings"
