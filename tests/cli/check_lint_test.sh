#!/bin/sh
# check_lint_test.sh FAULTLINE -- `faultline check` refuses a message
# placeholder that can never be set ({delay_s} in a message for a non-retry
# outcome, a capture no pattern defines) and warns on one that may be empty
# (a tag without a default -- the misspelled {tags.srvice} -- and {delay_s}
# in a message also used when there is no retry).
set -eu
FL=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/fl-lint.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir "$T/bad" "$T/warn"
cat > "$T/bad/p.lua" <<'LUA'
category "unavailable" { retryable = true, recovery = retry { max_attempts = 2 } }
rule "r" { when = { message = re[[refused (?<host>\S+)]] }, category = "unavailable" }
messages "en" { unavailable = "Down.",
  ["unavailable.attempts_exhausted"] = "Gave up in {delay_s} s on {hots|a host}." }
LUA
rc=0; "$FL" check -p "$T/bad" > "$T/out" 2> "$T/err" || rc=$?
[ "$rc" -eq 1 ] || { cat "$T/err"; fail "never-set placeholders must fail check, got $rc"; }
grep -q 'p.lua:3: error: .*unavailable.attempts_exhausted: {delay_s} can never be set' "$T/err" || { cat "$T/err"; fail "delay_s error"; }
grep -q 'error: .*{hots} can never be set: no rule.s pattern has a group (?<hots>' "$T/err" || { cat "$T/err"; fail "capture error"; }
cat > "$T/warn/p.lua" <<'LUA'
category "unavailable" { retryable = true, recovery = retry { max_attempts = 2 } }
rule "r" { when = { message = re[[refused]] }, category = "unavailable" }
messages "en" { unavailable = "Retry in {delay_s} s ({tags.srvice}).",
  ["unavailable.retry"] = "Retrying in {delay_s} s ({tags.service|the service})." }
LUA
rc=0; "$FL" check -p "$T/warn" > "$T/out" 2> "$T/err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/err"; fail "warnings alone must pass, got $rc"; }
grep -q 'warning: .*{tags.srvice} is empty when the event has no value' "$T/err" || { cat "$T/err"; fail "tag warning"; }
grep -q 'warning: .*unavailable: {delay_s} is empty when the action is not retry' "$T/err" || { cat "$T/err"; fail "delay_s warning"; }
[ "$(grep -c warning "$T/err")" -eq 2 ] || { cat "$T/err"; fail "the .retry message with defaults must not warn"; }
echo PASS
