#!/bin/sh
# bundle_test.sh FAULTLINE -- bundles and signatures from the command line:
# keygen, bundle, sign, verify; one byte changed in one file of a signed
# bundle is refused by verify and by an engine with the trusted key, while a
# correctly signed bundle serves; unsigned directories are refused under a key.
set -eu
FL=$1
SRC=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/fl-bundle.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$T/pol"
cp "$SRC"/policy/*.lua "$T/pol/"
"$FL" keygen -o "$T/k" > /dev/null
[ "$(stat -c %a "$T/k.key")" = 600 ] || fail "secret key must be 0600"
rc=0; "$FL" keygen -o "$T/k" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "keygen must never overwrite a key"
"$FL" bundle -p "$T/pol" -o "$T/p.bundle" -k "$T/k.key" > /dev/null
"$FL" verify -k "$T/k.pub" "$T/p.bundle" | grep -q 'ok, signed by the trusted key' || fail "verify signed bundle"
echo '{"domain":"http","code":503,"message":"x"}' > "$T/ev.jsonl"
FAULTLINE_TRUSTED_KEY="$T/k.pub" "$FL" eval -p "$T/p.bundle" --no-progress "$T/ev.jsonl" | grep -q '"rule":"http-503"' \
  || fail "a signed bundle must serve under the trusted key"
# Unsigned directory under a trusted key: refused with the reason.
rc=0; FAULTLINE_TRUSTED_KEY="$T/k.pub" "$FL" eval -p "$T/pol" --no-progress "$T/ev.jsonl" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 3 ] && grep -q 'not signed' "$T/err" || { cat "$T/err"; fail "unsigned dir must be refused (rc=$rc)"; }
# One byte changed in one file inside the bundle.
zstd -q -d -c "$T/p.bundle" > "$T/p.tar"
/usr/bin/python3 - "$T/p.tar" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = b.find(b'name = "golden"')
assert i > 0, "policy text not found in the tar"
b[i + 8] = ord("G")  # one byte: golden -> Golden
open(p, "wb").write(bytes(b))
PY
zstd -q -c "$T/p.tar" > "$T/t.bundle"
rc=0; "$FL" verify -k "$T/k.pub" "$T/t.bundle" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'does not match its hash' "$T/err" || { cat "$T/err"; fail "tampered bundle must fail verify (rc=$rc)"; }
rc=0; FAULTLINE_TRUSTED_KEY="$T/k.pub" "$FL" check -p "$T/t.bundle" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] && grep -q 'FL_ESIGNATURE\|does not match' "$T/err" || { cat "$T/err"; fail "tampered bundle must not load (rc=$rc)"; }
# Signed by another key.
"$FL" keygen -o "$T/other" > /dev/null
rc=0; "$FL" verify -k "$T/other.pub" "$T/p.bundle" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "a foreign key must not verify"
# A signed directory loads; sign refuses a broken policy.
"$FL" sign -k "$T/k.key" "$T/pol" > /dev/null
FAULTLINE_TRUSTED_KEY="$T/k.pub" "$FL" check -p "$T/pol" > /dev/null || fail "signed dir must check"
rc=0; "$FL" bundle -o "$T/x.bundle" -p "$SRC/bad-syntax" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ ! -e "$T/x.bundle" ] || fail "a broken policy must not be bundled"
rc=0; "$FL" bundle -p "$T/pol" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "bundle without -o is a usage error"
# The archive of versions keeps the signature; a rollback puts it back, so an
# engine with the trusted key accepts the version rolled back to.
"$FL" sign -k "$T/k.key" "$T/pol" > /dev/null
echo '{"message":"x"}' | FAULTLINE_TRUSTED_KEY="$T/k.pub" "$FL" eval -p "$T/pol" --watch > /dev/null 2>&1
v1=$(ls "$T/pol/.versions" | head -1)
[ -f "$T/pol/.versions/$v1/manifest.sig" ] || fail "the archive must keep the signature"
sed -i 's/name = "golden"/name = "golden2"/' "$T"/pol/*.lua
"$FL" sign -k "$T/k.key" "$T/pol" > /dev/null
echo '{"message":"x"}' | FAULTLINE_TRUSTED_KEY="$T/k.pub" "$FL" eval -p "$T/pol" --watch > /dev/null 2>&1
[ "$(ls "$T/pol/.versions" | wc -l)" -eq 2 ] || fail "two archived versions expected"
"$FL" rollback -p "$T/pol" "$v1" > /dev/null || fail "rollback"
FAULTLINE_TRUSTED_KEY="$T/k.pub" "$FL" check -p "$T/pol" > /dev/null 2>&1 || fail "the rolled-back version must carry its signature"
grep -q 'name = "golden"' "$T"/pol/*.lua || fail "rollback restored the old files"
echo "bundle ok"
