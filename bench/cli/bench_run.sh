#!/bin/sh
# bench_run.sh FAULTLINE [N] -- what `faultline run` adds to a command.
#   per attempt: a policy retries /bin/false with zero delay 11 times; the
#     extra time of 10 more attempts, less 10 runs of /bin/false, over 10
#     (target: <= 5 ms per attempt);
#   per invocation: `faultline run -- /bin/true` against /bin/true (loading
#     the policy, starting the engine).
# Prints figures; not a test.
set -eu
FL=$1
N=${2:-30}
T=$(mktemp -d "${TMPDIR:-/tmp}/fl-bench-run.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir "$T/p"
cat > "$T/p/policy.lua" <<'LUA'
policy { name = "bench-run", version = "1" }
category "unavailable" { retryable = true,
  recovery = retry { backoff = "constant", base_ms = 0, jitter = "none", max_attempts = 11 } }
rule "any-exit" { when = { domain = "exit" }, category = "unavailable" }
LUA
ms() { date +%s%N; }
loop() { # loop N CMD... -> average ms per run
  n=$1; shift; t0=$(ms); i=0
  while [ $i -lt "$n" ]; do "$@" >/dev/null 2>&1 || true; i=$((i+1)); done
  echo "$(( ($(ms) - t0) / n / 1000 ))"   # microseconds
}
true_us=$(loop "$N" /bin/true)
false_us=$(loop "$N" /bin/false)
run1_us=$(loop "$N" "$FL" run --no-state -p "$T/p" -- /bin/true)
run11_us=$(loop "$N" "$FL" run --no-state -p "$T/p" -- /bin/false)
att=$(( (run11_us - run1_us) / 10 ))
per=$(( att - false_us ))
echo "/bin/true directly:                         $true_us us"
echo "faultline run -- /bin/true (1 attempt):     $run1_us us  (invocation adds $((run1_us - true_us)) us: policy load + engine)"
echo "faultline run -- /bin/false (11 attempts):  $run11_us us"
echo "one more attempt inside faultline run:       $att us  (/bin/false included; from sh: $false_us us)"
echo "per attempt, over running the command:      $per us  (target <= 5000 us; <= 0 means below the noise)"
