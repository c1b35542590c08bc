#!/bin/sh
# bench_test.sh FAULTLINE -- `faultline bench` prints decisions/s, the share
# of decisions that entered Lua and the costliest rules for the given events;
# malformed lines are skipped and counted; no valid event is exit 1.
set -eu
FL=$1
SRC=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/fl-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cat "$SRC/input/happy.jsonl" > "$T/ev.jsonl"
echo '{not json' >> "$T/ev.jsonl"
"$FL" bench -p "$SRC/policy" --seconds 0.05 --threads 2 "$T/ev.jsonl" > "$T/out" 2> "$T/err" || { cat "$T/err"; fail "bench exited $?"; }
n=$(grep -c . "$SRC/input/happy.jsonl")
grep -q "; $n events from $T/ev.jsonl (1 malformed lines skipped); 2 threads\$" "$T/out" || { cat "$T/out"; fail "header"; }
grep -Eq '^[0-9]+ decisions in [0-9.]+ s: [0-9]+ decisions/s, [0-9]+ ns/decision' "$T/out" || { cat "$T/out"; fail "rate line"; }
grep -Eq '^entered Lua: [0-9.]+% of decisions$' "$T/out" || { cat "$T/out"; fail "Lua share"; }
rules=$(sed -n '/^  rule /,$p' "$T/out" | tail -n +2 | wc -l)
[ "$rules" -ge 1 ] && [ "$rules" -le 10 ] || { cat "$T/out"; fail "1 to 10 rules expected, got $rules"; }
# Every rule listed is a rule the same events get from eval.
"$FL" eval -p "$SRC/policy" --no-progress "$SRC/input/happy.jsonl" | grep -o '"rule":"[^"]*"' | sed 's/"rule":"//; s/"$//' | sort -u > "$T/eval_rules"
sed -n '/^  rule /,$p' "$T/out" | tail -n +2 | awk '{print $1}' | while read -r r; do
  grep -qx "$r" "$T/eval_rules" || fail "bench lists rule '$r' that eval never chose"
done
# A handler policy: every decision enters Lua.
mkdir "$T/h"
printf 'rule "h" { when = { code = "X" }, category = "internal", handler = function(e) return { category = "unavailable" } end }\n' > "$T/h/p.lua"
echo '{"code":"X"}' > "$T/x.jsonl"
"$FL" bench -p "$T/h" --seconds 0.05 "$T/x.jsonl" > "$T/hout" 2> "$T/herr" || { cat "$T/herr"; fail "handler bench"; }
grep -q '^entered Lua: 100.0% of decisions$' "$T/hout" || { cat "$T/hout" "$T/herr"; fail "handler share"; }
rc=0; echo '{bad' | "$FL" bench -p "$SRC/policy" --seconds 0.05 > /dev/null 2> "$T/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'no valid event' "$T/err" || fail "no valid event must exit 1 (got $rc)"
rc=0; "$FL" bench --seconds 0 "$T/ev.jsonl" > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--seconds 0 must be a usage error"
echo "ok"
