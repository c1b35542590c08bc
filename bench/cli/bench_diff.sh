#!/bin/sh
# bench_diff.sh [FAULTLINE] [N] -- `faultline diff` throughput against
# `faultline eval` on the same N events (default 1,000,000): real error events
# from tests/corpus/events repeated, the stock pack as OLD, the stock pack with
# one rule's recovery changed as NEW.  Prints lines/s of each and the ratio
# (target: diff >= 0.45x eval, since it makes two decisions per event).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FL=${1:-$ROOT/build-release/faultline}
N=${2:-1000000}
T=$(mktemp -d "${TMPDIR:-/tmp}/fl-bench-diff.XXXXXX")
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 - "$ROOT/tests/corpus/events" "$N" > "$T/events.jsonl" <<'PY'
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
evs = []
for f in sorted(os.listdir(d)):
    for line in open(os.path.join(d, f)):
        line = line.strip()
        if line:
            evs.append(json.dumps(json.loads(line)["event"], separators=(",", ":")))
out = sys.stdout
for i in range(n):
    out.write(evs[i % len(evs)] + "\n")
PY
cp -r "$ROOT/policies" "$T/new"
rm -rf "$T/new/.versions"
# NEW: the stock pack's http-5xx rule no longer retries.
f=$T/new/21-http.lua
sed -i '0,/^rule("http-5xx") {/s//&\n  recovery = fail(),/' "$f"
now() { date +%s.%N; }
t0=$(now); "$FL" eval -p "$ROOT/policies" --no-progress "$T/events.jsonl" > /dev/null; t1=$(now)
"$FL" diff -p "$ROOT/policies" -p "$T/new" "$T/events.jsonl" > "$T/diff.txt" || true; t2=$(now)
awk -v n="$N" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
  e = n / (b - a); d = n / (c - b);
  printf "eval  %9d events  %6.2f s  %10.0f events/s\n", n, b - a, e;
  printf "diff  %9d events  %6.2f s  %10.0f events/s  (two decisions per event)\n", n, c - b, d;
  printf "diff / eval rate: %.2fx (target >= 0.45x): %s\n", d / e, d / e >= 0.45 ? "met" : "MISSED" }'
head -1 "$T/diff.txt"
