#!/bin/sh
# scripts/repeat-test.sh -- run one ctest test (or a regex of tests) N times in
# a row and report how many runs passed; for "passes N runs in a row" checks.
#
# usage: scripts/repeat-test.sh [-B BUILD_DIR] [-k] REGEX [N]
#   REGEX   ctest -R regex, e.g. '^sample_pipeline$'
#   N       number of runs (default 50)
#   -B DIR  the configured, built tree (default build)
#   -k      keep going after a failure (default: stop at the first one)
# Exit status: 0 all N runs passed; 1 some run failed (its output is shown);
# 2 usage, or REGEX matches no test in DIR.
set -eu
cd "$(dirname "$0")/.."
BUILD=build
keep=0
while [ $# -gt 0 ]; do
  case $1 in
    -B) [ $# -ge 2 ] || { echo "repeat-test: -B needs a directory" >&2; exit 2; }; BUILD=$2; shift 2 ;;
    -k) keep=1; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "repeat-test: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: scripts/repeat-test.sh [-B BUILD_DIR] [-k] REGEX [N]" >&2; exit 2; }
re=$1
n=${2:-50}
case $n in ''|*[!0-9]*|0) echo "repeat-test: N must be a positive integer, not '$n'" >&2; exit 2 ;; esac
[ -f "$BUILD/CTestTestfile.cmake" ] || { echo "repeat-test: $BUILD is not a configured build tree" >&2; exit 2; }
count=$(ctest --test-dir "$BUILD" -N -R "$re" | sed -n 's/^Total Tests: *//p')
[ "${count:-0}" -gt 0 ] || { echo "repeat-test: '$re' matches no test in $BUILD" >&2; exit 2; }
log=$(mktemp "${TMPDIR:-/tmp}/repeat-test.XXXXXX")
trap 'rm -f "$log"' EXIT
pass=0 fail=0 i=0
while [ "$i" -lt "$n" ]; do
  i=$((i + 1))
  if ctest --test-dir "$BUILD" -R "$re" --output-on-failure >"$log" 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "repeat-test: run $i of $n FAILED:" >&2
    cat "$log" >&2
    [ "$keep" -eq 1 ] || break
  fi
done
echo "repeat-test: '$re' ($count test(s)): $pass of $i runs passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$i" -eq "$n" ]
