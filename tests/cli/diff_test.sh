#!/bin/sh
# diff_test.sh FAULTLINE -- `faultline diff` reports the exact impact of a
# change: one rule moved from retry to fail is counted event by event, the
# exit status gates on it unless --allow covers it, OLD can be an archived
# version id, and --json carries the same counts.
set -eu
FL=$1
SRC=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/fl-diff.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$T/old" "$T/new"
cp "$SRC"/policy/*.lua "$T/old/"
cp "$SRC"/policy/*.lua "$T/new/"
# NEW: http-503 becomes a failure (category internal, no retry).
for f in "$T"/new/*.lua; do
  sed -i 's/^rule "http-503" {/rule "http-503" {\n  recovery = fail(),/' "$f"
done
grep -q 'recovery = fail(),' "$T"/new/*.lua || fail "could not edit the NEW policy"
: > "$T/events.jsonl"
i=0; while [ $i -lt 37 ]; do echo '{"domain":"http","code":503,"message":"upstream down"}' >> "$T/events.jsonl"; i=$((i+1)); done
i=0; while [ $i -lt 20 ]; do echo '{"domain":"http","code":429,"message":"slow down"}' >> "$T/events.jsonl"; i=$((i+1)); done
i=0; while [ $i -lt 5 ]; do echo '{"domain":"http","code":404,"message":"gone"}' >> "$T/events.jsonl"; i=$((i+1)); done

rc=0; "$FL" diff -p "$T/old" -p "$T/new" "$T/events.jsonl" > "$T/out.txt" 2> "$T/err.txt" || rc=$?
[ "$rc" -eq 1 ] || { cat "$T/out.txt" "$T/err.txt"; fail "a disallowed change must exit 1, got $rc"; }
head -1 "$T/out.txt" | grep -q ': 62 events, 37 changed (59.68%), 37 not allowed$' || { cat "$T/out.txt"; fail "counts"; }
grep -q '^     37  http-503 -> http-503$' "$T/out.txt" || { cat "$T/out.txt"; fail "group line"; }
grep -q 'action     retry -> fail' "$T/out.txt" || { cat "$T/out.txt"; fail "action change not shown"; }
[ "$(grep -c 'e.g. ' "$T/out.txt")" -eq 3 ] || fail "three examples per group by default"

rc=0; "$FL" diff -p "$T/old" -p "$T/new" --allow action,delay,retryable,message_id,category "$T/events.jsonl" >/dev/null || rc=$?
[ "$rc" -eq 0 ] || fail "--allow of every changed field must exit 0, got $rc"
rc=0; "$FL" diff -p "$T/old" -p "$T/new" --allow action "$T/events.jsonl" >/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "--allow action alone leaves the delay change disallowed, got $rc"
rc=0; "$FL" diff -p "$T/old" -p "$T/new" --allow rule:http-503 "$T/events.jsonl" >/dev/null || rc=$?
[ "$rc" -eq 0 ] || fail "--allow rule:http-503 must exit 0, got $rc"
rc=0; "$FL" diff -p "$T/old" -p "$T/new" --allow nonsense "$T/events.jsonl" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "an unknown --allow is a usage error, got $rc"

# Same policy on both sides: nothing changes.
rc=0; "$FL" diff -p "$T/old" -p "$T/old" "$T/events.jsonl" > "$T/same.txt" || rc=$?
[ "$rc" -eq 0 ] && grep -q ', 0 changed' "$T/same.txt" || fail "identical versions must report no change"

# JSON report.
"$FL" diff -p "$T/old" -p "$T/new" --json "$T/events.jsonl" > "$T/out.json" || true
grep -q '"changed": 37' "$T/out.json" || fail "json changed count"
grep -q '"old_action": "retry"' "$T/out.json" && grep -q '"new_action": "fail"' "$T/out.json" || fail "json actions"

# OLD as a version id archived under NEW/.versions.
id=$(head -1 "$T/out.txt" | sed 's/^faultline diff: \([0-9a-f]*\) .*/\1/')
mkdir -p "$T/new/.versions/$id"
cp "$T"/old/*.lua "$T/new/.versions/$id/"
rc=0; "$FL" diff -p "$(echo "$id" | cut -c1-6)" -p "$T/new" "$T/events.jsonl" > "$T/byid.txt" || rc=$?
[ "$rc" -eq 1 ] && grep -q ', 37 changed' "$T/byid.txt" || { cat "$T/byid.txt"; fail "OLD by archived id"; }
rc=0; "$FL" diff -p ffffffff -p "$T/new" "$T/events.jsonl" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 3 ] || fail "an unknown OLD id exits 3, got $rc"

# Malformed input lines are reported and make the run exit 1.
printf '{"domain":"http","code":404}\nnot json\n' > "$T/bad.jsonl"
rc=0; "$FL" diff -p "$T/old" -p "$T/old" "$T/bad.jsonl" >/dev/null 2> "$T/bad.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'bad.jsonl:2' "$T/bad.err" || fail "malformed line must be named and exit 1"
# Shadow evaluation over the same stream counts what diff counts.
"$FL" eval -p "$T/old" --shadow "$T/new" --no-progress "$T/events.jsonl" > "$T/live.jsonl" 2> "$T/shadow.err"
[ "$(wc -l < "$T/live.jsonl")" -eq 62 ] || fail "the live output must be complete"
grep -q '"rule":"http-503","retryable":true' "$T/live.jsonl" || grep -q '"action":"retry"' "$T/live.jsonl" || fail "live decisions are the OLD policy's"
grep -q '^faultline: shadow {"events":62,"changed":37,"not_allowed":37,' "$T/shadow.err" || { cat "$T/shadow.err"; fail "shadow counts must equal diff's"; }
grep -q '"old_rule":"http-503","new_rule":"http-503","count":37' "$T/shadow.err" || { cat "$T/shadow.err"; fail "shadow group"; }
grep -q '"skipped":0' "$T/shadow.err" || fail "nothing skipped on a short stream"
# 10 % sample: about a tenth decided, the rest never queued.
"$FL" eval -p "$T/old" --shadow "$T/new" --shadow-sample 0.1 --no-progress "$T/events.jsonl" > /dev/null 2> "$T/shadow10.err"
grep -q '"events":6,' "$T/shadow10.err" || { cat "$T/shadow10.err"; fail "10% of 62 events is 6"; }
rc=0; "$FL" eval -p "$T/old" --shadow "$T/new" --shadow-sample 2 "$T/events.jsonl" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--shadow-sample 2 is a usage error"
rc=0; "$FL" eval -p "$T/old" --shadow "$T/nonexistent" "$T/events.jsonl" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 3 ] || fail "an unloadable candidate exits 3"
# Jittered retries on the stock pack, interleaved with the events of the one
# rule that changed, over more lines than one batch of the worker threads:
# exactly that rule's events change (each event draws its jitter from the
# same seed on both sides, whatever the versions did with earlier events).
mkdir -p "$T/stock"
cp "$SRC"/../../policies/*.lua "$T/stock/"
sed -i '0,/^rule("http-5xx") {/s//&\n  recovery = fail(),/' "$T/stock/21-http.lua"
grep -q 'recovery = fail(),' "$T/stock/21-http.lua" || fail "could not edit the stock pack copy"
: > "$T/alt.jsonl"
i=0; while [ $i -lt 5000 ]; do
  echo '{"domain":"http","code":520,"message":"unknown error"}'
  echo '{"domain":"http","code":429,"message":"slow down"}'
  i=$((i+1)); done >> "$T/alt.jsonl"
"$FL" diff -p "$SRC/../../policies" -p "$T/stock" "$T/alt.jsonl" > "$T/alt.txt" || true
head -1 "$T/alt.txt" | grep -q ': 10000 events, 5000 changed (50.00%), 5000 not allowed$' || { head -20 "$T/alt.txt"; fail "stock pack: exactly the changed rule's events"; }
grep -q '^   5000  http-5xx -> http-5xx$' "$T/alt.txt" || { head -20 "$T/alt.txt"; fail "stock pack group"; }
# The same report twice (threads do not change it).
"$FL" diff -p "$SRC/../../policies" -p "$T/stock" "$T/alt.jsonl" > "$T/alt2.txt" || true
cmp -s "$T/alt.txt" "$T/alt2.txt" || fail "two runs of the same diff differ"
echo "diff ok"
