#!/bin/sh
# Install the Debian packages faultline needs to build, test and benchmark.
# Idempotent: installs only what is missing; safe to run any number of times.
#
# usage: scripts/setup.sh [bench] [fresh-check] [capture]
#   (none)       building and the whole test suite: ./dev demo, test, sanitize,
#                tests/fuzz/run.sh, .ci/run
#   bench        also what ./dev bench needs (node and npm for cockatiel;
#                linux-perf to profile the benchmarks: docs/architecture.md, docs/serve.md)
#   fresh-check  also what scripts/fresh-check.sh needs (debootstrap)
#   capture      also what tests/corpus/capture/capture.py runs (database
#                servers, clients, runtimes, tools; round 5's client libraries;
#                npm, whose packages capture.py installs into a temporary
#                directory at capture time); the test suite reads the
#                committed capture and needs none of these
#
# Runs apt-get as root, or through sudo when not root and sudo exists; a system
# with neither (a minimal install) gets the list of missing packages and the
# command to run as root, and exit status 1.
#
# Why each package is here (keep this true when the build or the tests change;
# scripts/fresh-check.sh proves the list on a bare minbase root):
#   build-essential cmake pkg-config     the build (gcc's sanitizer runtimes too)
#   lib*-dev, zlib1g-dev                 the libraries; zlib1g-dev because
#                                        `pkg-config --static --libs sqlite3` adds -lz
#                                        (static links: install_sample_host, fuzzers)
#   libcmocka-dev                        the unit tests
#   clang libclang-rt-14-dev             tests/fuzz/run.sh (libFuzzer)
#   git sqlite3 curl python3 openssl     tests/corpus/live/generate.py runs them
#   nodejs postgresql-client             generate.py runs node and psql
#   python3-tenacity                     bench/executor (tenacity figure)
#   libarchive-dev libsodium-dev zstd    bundles and signatures (zstd: the tamper test)
#   libacl1-dev liblzma-dev liblz4-dev   static links of libarchive (install_sample_host,
#   libbz2-dev libxml2-dev nettle-dev      package_deb: pkg-config --static)
#   dpkg-dev lintian file                package_deb (cpack, dpkg-shlibdeps, lintian)
#   libh2o-dev libssl-dev wrk            faultline serve (wrk: bench_serve)
#   python3-venv python3-pip python3-cffi the Python package and its pytest suite
#   python3-pytest python3-requests
#   python3-httpx
#   jq                                   bench_eval (eval against `jq -c .`)
#   libhiredis-dev redis-server          fleet mode and its tests
#   python3-redis                        the seed samples (samples/seeds)
#   libcurl4-openssl-dev                 alert delivery (webhook, Slack, SMTP)
#   chromium python3-aiosmtpd            the dashboard's browser test; the SMTP sink of test_alerts
set -eu
PKGS="build-essential cmake pkg-config git
libluajit-5.1-dev luajit libuv1-dev libpcre2-dev libjansson-dev libxxhash-dev
libsqlite3-dev libzstd-dev libcmocka-dev
clang libclang-rt-14-dev
sqlite3 curl python3 python3-tenacity
zlib1g-dev
openssl nodejs postgresql-client
libarchive-dev libsodium-dev zstd libacl1-dev liblzma-dev liblz4-dev libbz2-dev libxml2-dev nettle-dev
dpkg-dev lintian file
libh2o-dev libssl-dev wrk
python3-venv python3-pip python3-cffi python3-pytest python3-requests python3-httpx
jq
libhiredis-dev redis-server python3-redis
libcurl4-openssl-dev chromium python3-aiosmtpd"
for group in "$@"; do
  case $group in
    bench) PKGS="$PKGS nodejs npm linux-perf" ;;
    fresh-check) PKGS="$PKGS debootstrap curl git" ;;
    capture) PKGS="$PKGS
postgresql mariadb-server redis-server redis-tools libpostgresql-jdbc-java libmariadb-java
python3-psycopg2 python3-pymysql python3-redis python3-requests python3-httpx python3-yaml python3-toml python3-cryptography
golang-go ruby php-cli php-pgsql php-mysql openjdk-17-jdk-headless nodejs awscli
tar gzip bzip2 xz-utils zstd zip unzip openssl openssh-client wget
make gcc rsync jq libxml2-utils perl luajit patch lz4 gpg socat util-linux bsdutils hostname
sqlite3 cpio tcl gawk ninja-build cmake pkgconf binutils libdbd-pg-perl libdbd-mariadb-perl libdbd-sqlite3-perl
python3-psycopg python3-sqlalchemy python3-asyncpg python3-aiomysql python3-mysqldb python3-aiohttp python3-urllib3
python3-paramiko python3-psycopg-pool ruby-pg ruby-mysql2 ruby-redis ruby-faraday ruby-rest-client ruby-excon
php-redis php-curl php-guzzlehttp-guzzle libwww-perl
libredis-perl libhikaricp-java libslf4j-java golang-github-lib-pq-dev golang-github-go-sql-driver-mysql-dev
golang-github-jackc-pgx-v4-dev npm" ;;
    *) echo "setup: unknown group '$group' (expected: bench, fresh-check, capture)" >&2; exit 2 ;;
  esac
done

# Installed packages, and the virtual packages they provide (NodeSource's
# nodejs provides npm, for example).
have=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Provides}\n' 2>/dev/null |
       sed -n 's/^ii *//p' | sed 's/([^)]*)//g; s/,/ /g')
missing=""
for p in $PKGS; do
  case " $missing " in *" $p "*) continue ;; esac
  if ! printf '%s\n' "$have" | tr ' ' '\n' | grep -qx "$p"; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "setup: these Debian packages are missing:$missing" >&2
    echo "setup: not running as root and sudo is not installed; as root, run:" >&2
    echo "    apt-get update && apt-get install --no-install-recommends$missing" >&2
    echo "setup: (or run ./dev as root)" >&2
    exit 1
  fi
fi
echo "setup: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt run (a package being upgraded right now) holds the dpkg lock:
# wait for it rather than fail.
LOCK="-o DPkg::Lock::Timeout=600"
# shellcheck disable=SC2086
$SUDO apt-get $LOCK update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get $LOCK install -y -q --no-install-recommends $missing >/dev/null
