#!/bin/sh
# test_triage.sh FAULTLINE SRCDIR -- `faultline triage` on a small stream:
# groups by template, ranks by count, suggests the last-resort category, skips
# malformed lines with exit status 1, and prints skeletons that load as policy
# code and whose examples pass (`faultline check`) and decide the events.
set -u
FL=$1
SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/fl-triage.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$FL" triage -p "$SRC/policies" "$SRC/tests/triage/input.jsonl" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 1 ] || fail "exit status $rc, want 1 (one malformed line)"
grep -q 'input.jsonl:7:' "$T/err" || fail "stderr does not name the malformed line: $(cat "$T/err")"
grep -q '^-- faultline triage: 8 events, 6 unknown or low-confidence, 3 groups, 1 malformed lines skipped$' "$T/out" \
  || fail "summary line: $(head -1 "$T/out")"
# ranked by count: the three 'frobnicator' events first (one behind a separator line)
first=$(grep -m1 '^-- #1:' "$T/out")
case "$first" in "-- #1: 3 events (3 unknown, 0 low-confidence)"*) ;; *) fail "first group: $first" ;; esac
grep -q 'frobnicator\\s+jammed\\s+at\\s+slot\\s+.+?\\s+\\(unit' "$T/out" || fail "template pattern of group 1"
# the last-resort layer's category is suggested for the low-confidence group
grep -q '^-- #2: 2 events (0 unknown, 2 low-confidence), first decided by rule last-resort-' "$T/out" \
  || fail "group 2 should be the two last-resort events"
grep -q 'category = "data_loss",  -- suggested by the last-resort layer' "$T/out" || fail "suggested category"
# known events are not triaged
grep -q 'ECONNREFUSED' "$T/out" && fail "a classified event was triaged"

# the skeletons are valid policy code: they load, their examples pass, they decide
mkdir "$T/pol"
cp "$SRC"/policies/*.lua "$T/pol/"
cp "$T/out" "$T/pol/98-triage.lua"
"$FL" check -p "$T/pol" >"$T/check" 2>&1 || fail "skeletons do not load: $(cat "$T/check")"
grep -q 'examples passed' "$T/check" || fail "check output: $(cat "$T/check")"
echo '{"message": "frobnicator jammed at slot 99 (unit '"'"'delta'"'"')"}' \
  | "$FL" eval -p "$T/pol" --no-progress >"$T/eval" 2>&1
grep -q '"rule":"triage-1"' "$T/eval" || fail "the new rule does not decide a new event: $(cat "$T/eval")"

# options
"$FL" triage -p "$SRC/policies" --top 1 "$SRC/tests/triage/input.jsonl" >"$T/top" 2>/dev/null
[ "$(grep -c '^-- #' "$T/top")" = 1 ] || fail "--top 1 printed $(grep -c '^-- #' "$T/top") groups"
"$FL" triage -p "$SRC/policies" --min-count 2 "$SRC/tests/triage/input.jsonl" >"$T/min" 2>/dev/null
[ "$(grep -c '^-- #' "$T/min")" = 2 ] || fail "--min-count 2 printed $(grep -c '^-- #' "$T/min") groups"
"$FL" triage -p "$SRC/policies" --top 0 "$SRC/tests/triage/input.jsonl" >/dev/null 2>"$T/usage"
[ $? = 2 ] || fail "--top 0 should be a usage error"
grep -q 'needs a positive integer' "$T/usage" || fail "usage message: $(cat "$T/usage")"
"$FL" triage -p "$SRC/policies" "$T/no-such-file" >/dev/null 2>"$T/nofile"
[ $? = 4 ] || fail "a missing file should exit 4"
"$FL" triage -p "$T/no-such-policy" "$SRC/tests/triage/input.jsonl" >/dev/null 2>&1
[ $? = 3 ] || fail "a missing policy should exit 3"
echo "ok: triage"
