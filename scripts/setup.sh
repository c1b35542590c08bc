#!/bin/sh
# Install the Debian packages faultline needs to build, test and benchmark.
# Idempotent: installs only what is missing; safe to run any number of times.
set -eu
PKGS="build-essential cmake pkg-config git
libluajit-5.1-dev luajit libuv1-dev libpcre2-dev libjansson-dev libxxhash-dev
libsqlite3-dev libzstd-dev libcmocka-dev
clang libclang-rt-14-dev
sqlite3 curl python3 python3-tenacity
libarchive-dev libsodium-dev zstd libacl1-dev liblzma-dev liblz4-dev libbz2-dev libxml2-dev nettle-dev zlib1g-dev
dpkg-dev lintian file
libh2o-dev libssl-dev wrk
libcurl4-openssl-dev chromium python3-aiosmtpd"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
