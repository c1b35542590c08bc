#!/bin/sh
# run_test.sh FAULTLINE -- `faultline run` wraps a command under a policy:
#  1. a script that fails twice with "Connection refused" and then succeeds:
#     exit 0, three attempts, the decided 300 ms delays slept, the decision's
#     params exported as FAULTLINE_PARAM_*, stdout passed through;
#  2. "Permission denied": no retry, the user message on stderr, the
#     command's exit status;
#  3. a breaker fed across separate invocations (state file): successes count,
#     and once it opens the command is no longer run (exit 75);
#  4. fallback prints the value and exits 0; a timeout exits 124; usage errors.
set -eu
FL=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/fl-run.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export FAULTLINE_STATE_DIR="$T/state"
mkdir -p "$T/policy"
cat > "$T/policy/policy.lua" <<'LUA'
policy { name = "run-test", version = "1.0.0" }
category "unavailable" { retryable = true,
  recovery = retry { backoff = "constant", base_ms = 300, jitter = "none", max_attempts = 3 } }
category "permission_denied" { recovery = fail() }
category "not_found" { recovery = fallback("cached copy") }
breaker "svc" { key = "{op}", failure_rate = 0.5, min_calls = 6, open_ms = 60000 }
rule "refused" { when = { domain = "exit", message = re[[(?i)connection refused]] },
  category = "unavailable", params = { timeout_ms = 250 } }
rule "down" { when = { domain = "exit", message = re[[(?i)service down]] },
  category = "unavailable", breaker = "svc",
  recovery = retry { backoff = "constant", base_ms = 0, jitter = "none", max_attempts = 1 } }
rule "denied" { when = { domain = "exit", message = re[[(?i)permission denied]] }, category = "permission_denied" }
rule "missing" { when = { domain = "exit", message = re[[(?i)no such thing]] }, category = "not_found" }
rule "slow" { when = { domain = "exit", code = "timeout" }, category = "deadline_exceeded" }
messages "en" {
  unavailable = "The service is unavailable.",
  permission_denied = "You are not allowed to do this.",
}
LUA

# 1. fails twice, then succeeds
cat > "$T/flaky.sh" <<SH
#!/bin/sh
n=\$(cat "$T/count" 2>/dev/null || echo 0); n=\$((n+1)); echo \$n > "$T/count"
echo "attempt \$n FAULTLINE_ATTEMPT=\$FAULTLINE_ATTEMPT timeout=\${FAULTLINE_PARAM_TIMEOUT_MS:-}"
if [ \$n -le 2 ]; then echo "connect: Connection refused" >&2; exit 7; fi
exit 0
SH
chmod +x "$T/flaky.sh"
t0=$(date +%s%N)
rc=0; "$FL" run -p "$T/policy" -- "$T/flaky.sh" > "$T/out" 2> "$T/err" || rc=$?
t1=$(date +%s%N)
[ "$rc" -eq 0 ] || { cat "$T/out" "$T/err"; fail "flaky: exit 0 expected, got $rc"; }
[ "$(cat "$T/count")" = 3 ] || fail "flaky: three attempts expected, got $(cat "$T/count")"
[ "$(grep -c '^attempt' "$T/out")" -eq 3 ] || { cat "$T/out"; fail "flaky: stdout not passed through"; }
grep -q '^attempt 1 FAULTLINE_ATTEMPT=1 timeout=$' "$T/out" || { cat "$T/out"; fail "attempt 1 has no params"; }
grep -q '^attempt 2 FAULTLINE_ATTEMPT=2 timeout=250$' "$T/out" || { cat "$T/out"; fail "params not exported"; }
[ "$(grep -c 'Connection refused' "$T/err")" -eq 2 ] || { cat "$T/err"; fail "stderr not passed through"; }
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -ge 600 ] || fail "flaky: two 300 ms delays decided, took only $ms ms"

# --explain prints each decision
rm -f "$T/count"
"$FL" run -p "$T/policy" --explain -- "$T/flaky.sh" > /dev/null 2> "$T/err"
[ "$(grep -c '^faultline run: attempt [12]: {.*"action":"retry","delay_ms":300' "$T/err")" -eq 2 ] || { cat "$T/err"; fail "--explain"; }

# 2. Permission denied: no retry, the message, the command's status
rm -f "$T/count"
cat > "$T/denied.sh" <<SH
#!/bin/sh
n=\$(cat "$T/count" 2>/dev/null || echo 0); echo \$((n+1)) > "$T/count"
echo "open /etc/shadow: Permission denied" >&2; exit 13
SH
chmod +x "$T/denied.sh"
rc=0; "$FL" run -p "$T/policy" -- "$T/denied.sh" > "$T/out" 2> "$T/err" || rc=$?
[ "$rc" -eq 13 ] || { cat "$T/err"; fail "denied: exit 13 expected, got $rc"; }
[ "$(cat "$T/count")" = 1 ] || fail "denied: retried"
[ "$(tail -1 "$T/err")" = "You are not allowed to do this." ] || { cat "$T/err"; fail "denied: user message"; }

# 3. a breaker across invocations: min_calls 6, 50 %
cat > "$T/svc.sh" <<SH
#!/bin/sh
n=\$(cat "$T/svc.count" 2>/dev/null || echo 0); echo \$((n+1)) > "$T/svc.count"
if [ -e "$T/down" ]; then echo "backend: service down" >&2; exit 3; fi
exit 0
SH
chmod +x "$T/svc.sh"
runsvc() { rc=0; "$FL" run -p "$T/policy" --op nightly -- "$T/svc.sh" > /dev/null 2> "$T/err" || rc=$?; }
touch "$T/down"; runsvc; [ "$rc" -eq 3 ] || fail "svc 1: exit 3 expected, got $rc"
rm "$T/down"
for i in 1 2 3 4; do runsvc; [ "$rc" -eq 0 ] || fail "svc success $i: got $rc"; done
touch "$T/down"
runsvc; [ "$rc" -eq 3 ] || fail "svc 6: got $rc"
runsvc; [ "$rc" -eq 3 ] || fail "svc 7: got $rc"
# 7 calls, 3 failures: the four successes kept it closed
[ -f "$T/state/run-nightly.state" ] || fail "no state file"
[ "$(grep -c -- '	-$' "$T/state/run-nightly.state")" -eq 4 ] || { cat "$T/state/run-nightly.state"; fail "successes not recorded"; }
runsvc; [ "$rc" -eq 3 ] || { cat "$T/err"; fail "svc 8 should still run (closed), got $rc"; }
# 8 calls, 4 failures (50 %): open now
before=$(cat "$T/svc.count")
runsvc
[ "$rc" -eq 75 ] || { cat "$T/err"; fail "breaker open: exit 75 expected, got $rc"; }
[ "$(cat "$T/svc.count")" = "$before" ] || fail "breaker open: the command ran"
grep -q "breaker 'svc' (key nightly) is open" "$T/err" || { cat "$T/err"; fail "breaker message"; }
# --no-state forgets it
runsvc_ns() { rc=0; "$FL" run -p "$T/policy" --op nightly --no-state -- "$T/svc.sh" > /dev/null 2>&1 || rc=$?; }
runsvc_ns; [ "$rc" -eq 3 ] || fail "--no-state: got $rc"

# 4. fallback, timeout, usage
rc=0; out=$("$FL" run -p "$T/policy" -- sh -c 'echo "no such thing" >&2; exit 2' 2>/dev/null) || rc=$?
[ "$rc" -eq 0 ] && [ "$out" = "cached copy" ] || fail "fallback: rc=$rc out=$out"
rc=0; "$FL" run -p "$T/policy" --no-state --timeout 0.2 -- sleep 5 2>/dev/null || rc=$?
[ "$rc" -eq 124 ] || fail "timeout: exit 124 expected, got $rc"
rc=0; "$FL" run -p "$T/policy" 2>/dev/null || rc=$?; [ "$rc" -eq 2 ] || fail "no command: got $rc"
rc=0; "$FL" run --timeout abc -- true 2>/dev/null || rc=$?; [ "$rc" -eq 2 ] || fail "bad timeout: got $rc"
rc=0; "$FL" run -p "$T/nowhere" -- true 2>/dev/null || rc=$?; [ "$rc" -eq 3 ] || fail "missing policy: got $rc"
echo "PASS"
