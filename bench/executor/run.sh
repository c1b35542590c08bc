#!/bin/sh
# run.sh -- the executor comparison: fl_call against the same logic written
# by hand in C, cockatiel (Node; installed from npm into bench/node_modules,
# which is not committed) and tenacity (Debian python3-tenacity).
#   bench/executor/run.sh [seconds-per-figure]      (default 1)
# BUILD=dir picks the build directory (default build-release, built here in
# Release mode if bench_executor is missing).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-1}
build=${BUILD:-$root/build-release}
if [ ! -x "$build/bench/bench_executor" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFL_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j2 --target bench_executor
fi
echo "== faultline (C)"
"$build/bench/bench_executor" "$secs"
echo "== cockatiel (node $(node --version))"
if [ ! -d "$root/bench/node_modules/cockatiel" ]; then
  (cd "$root/bench" && npm install --no-save --no-package-lock --no-audit --no-fund cockatiel@3 >/dev/null)
fi
node "$root/bench/executor/cockatiel_bench.js" "$secs"
echo "== tenacity ($(/usr/bin/python3 --version))"
/usr/bin/python3 "$root/bench/executor/tenacity_bench.py" "$secs"
