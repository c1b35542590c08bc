#!/bin/sh
# run.sh -- the Python package's benchmark (bench_python.py) in a venv made
# from Debian's python3 with the package installed from the tree.
#   bench/python/run.sh [seconds-per-round] [rounds]
# BUILD=dir picks the build directory whose libfaultline is used (default
# build-release, configured and built here in Release mode if missing).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build-release}
case $build in /*) ;; *) build=$root/$build ;; esac
if [ ! -e "$build/engine/libfaultline.so.1" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFL_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j2 --target faultline
fi
venv=$build/python-bench-venv
export PYTHONDONTWRITEBYTECODE=1
[ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
FAULTLINE_BUILD_DIR=$build "$venv/bin/pip" install --quiet --no-index --no-input \
  --disable-pip-version-check --force-reinstall --no-deps "$root/bindings/python"
FAULTLINE_POLICY_DIR=$root/policies "$venv/bin/python" "$root/bench/python/bench_python.py" "$@"
