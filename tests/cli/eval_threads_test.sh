#!/bin/sh
# eval_threads_test.sh FAULTLINE -- `faultline eval --threads N` writes what
# one thread writes, in input order: good lines, malformed lines, blank lines
# and an overlong line, over many batches (a batch holds at most 512 lines).
# Retry jitter depends on which thread decided, so delay_ms is left out of the
# comparison; every event carries its own id.
set -eu
FL=$1
SRC=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/fl-threads.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
i=0
while [ $i -lt 150 ]; do
  cat "$SRC/input/happy.jsonl" "$SRC/input/malformed.jsonl"
  echo
  if [ $i -eq 77 ]; then printf '{"message":"%05000d"}\n' 0; fi
  i=$((i+1))
done > "$T/in.jsonl"
lines=$(grep -c . "$T/in.jsonl")
for n in 1 2 3 8; do
  rc=0
  "$FL" eval -p "$SRC/policy" --no-progress --max-line 4096 --threads $n "$T/in.jsonl" > "$T/out$n" 2> "$T/err$n" || rc=$?
  [ "$rc" -eq 1 ] || { cat "$T/err$n"; fail "--threads $n: malformed lines must exit 1, got $rc"; }
  [ "$(wc -l < "$T/out$n")" -eq "$lines" ] || fail "--threads $n: $(wc -l < "$T/out$n") output lines for $lines input lines"
  sed 's/"delay_ms":[0-9]*,//' "$T/out$n" > "$T/cmp$n"
done
grep -q '"line":[0-9]*,.*(--max-line)' "$T/out1" || fail "the overlong line has no error record"
for n in 2 3 8; do
  cmp -s "$T/cmp1" "$T/cmp$n" || { diff "$T/cmp1" "$T/cmp$n" | head -5; fail "--threads $n differs from --threads 1"; }
done
# Error records name their line: the line numbers come out increasing.
grep -o '"file":"[^"]*","line":[0-9]*' "$T/out3" | sed 's/.*://' > "$T/ln"
sort -n -c "$T/ln" || fail "error records out of input order"
# The same from standard input, and a bad --threads is a usage error.
"$FL" eval -p "$SRC/policy" --no-progress --max-line 4096 --threads 2 - < "$T/in.jsonl" > "$T/stdin" || true
sed 's/"delay_ms":[0-9]*,//' "$T/stdin" | sed 's/"file":"-"/"file":"'"$(printf '%s' "$T/in.jsonl" | sed 's/[\/&]/\\&/g')"'"/' | cmp -s - "$T/cmp1" || fail "stdin differs"
rc=0; "$FL" eval --threads 0 "$T/in.jsonl" > /dev/null 2> "$T/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q -- '--threads needs a number' "$T/err" || fail "--threads 0 must be a usage error"
echo "ok: $lines lines, --threads 1/2/3/8 agree"
