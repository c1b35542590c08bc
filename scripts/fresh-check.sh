#!/bin/sh
# scripts/fresh-check.sh -- prove the README on a fresh machine.
#
# Builds (once, then cached) a minimal Debian bookworm root with
# `debootstrap --variant=minbase`, copies it to a scratch root so every run
# starts bare, clones the current commit (HEAD; uncommitted changes are not
# part of the check) into it, bind-mounts /proc, /sys, /dev, /dev/pts and
# /dev/shm, and runs, as root with a clean environment, in order:
#   ./dev demo         (README)
#   ./dev test         (README)
#   .ci/run            (with FL_FRESH_CHECK=0: no nested fresh check)
# Everything inside is installed by the project's own scripts/setup.sh; the
# host lends only its kernel, the bind mounts, its resolver configuration and
# a download cache of .deb files (checked by apt like any download).
#
# usage: scripts/fresh-check.sh [--prepare] [--commit REV] [-k] [STEP...]
#   --prepare   build the cached minbase root only, run nothing
#   --commit R  check commit R instead of HEAD
#   -k          run the later steps even after one failed (default: stop)
#   STEP        demo, test or ci (default: all three, in that order)
# environment:
#   FL_FRESH_CACHE    cache directory (default /var/cache/faultline-fresh)
#   FL_FRESH_WORK     where scratch roots go (default /var/tmp)
#   FL_FRESH_LOGS     where step logs go (default <repo>/build/fresh-check)
#   FL_FRESH_MIRROR   Debian mirror (default http://deb.debian.org/debian)
#   FL_FRESH_KEEP=1   keep the scratch root afterwards (mounts are removed)
#
# Exit status: 0 every step passed, or the mirror cannot be reached at all
# (then it says SKIPPED loudly: a failure outside the project); 1 a step
# failed; 2 usage, not root, or a missing host tool; 3 cleanup could not
# remove a mount (the scratch root is left in place, nothing is deleted).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SUITE=bookworm
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
MIRROR=${FL_FRESH_MIRROR:-http://deb.debian.org/debian}
SECURITY=${FL_FRESH_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
CACHE=${FL_FRESH_CACHE:-/var/cache/faultline-fresh}
WORKBASE=${FL_FRESH_WORK:-/var/tmp}
LOGS=${FL_FRESH_LOGS:-$ROOT/build/fresh-check}

say() { printf 'fresh-check: %s\n' "$*" >&2; }
die() { rc=$1; shift; say "$*"; exit "$rc"; }

prepare_only=0
keep_going=0
STEPS=""
REV=HEAD
while [ $# -gt 0 ]; do
  a=$1; shift
  case $a in
    --prepare) prepare_only=1 ;;
    -k) keep_going=1 ;;
    --commit) [ $# -gt 0 ] || die 2 "--commit needs a revision"; REV=$1; shift ;;
    demo|test|ci) STEPS="$STEPS $a" ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die 2 "unknown argument '$a' (expected --prepare, demo, test or ci)" ;;
  esac
done
[ -n "$STEPS" ] || STEPS="demo test ci"
STEPS=$(echo $STEPS)

[ "$(id -u)" -eq 0 ] || die 2 "must run as root (it uses debootstrap, chroot and mount)"
for t in debootstrap chroot mount umount findmnt flock git curl; do
  command -v "$t" >/dev/null 2>&1 ||
    die 2 "'$t' not found; run scripts/setup.sh fresh-check (installs debootstrap, curl, git)"
done

# --- 0. is the mirror reachable at all? -------------------------------------------
# (Network use here is Debian's only: this HEAD request probes the mirror
# debootstrap and apt install packages from.  No code is downloaded: the
# tree under test is cloned from this local repository below.)
reachable=0
for i in 1 2 3; do
  if curl -sSfI --max-time 20 "$MIRROR/dists/$SUITE/Release" >/dev/null 2>&1; then
    reachable=1; break
  fi
  sleep 5
done
if [ "$reachable" -eq 0 ]; then
  say "################################################################"
  say "SKIPPED: the package mirror $MIRROR cannot be reached"
  say "(3 attempts). The fresh-machine check did NOT run."
  say "################################################################"
  exit 0
fi

# --- 1. the cached minbase root ---------------------------------------------------
key=$(printf '%s\n' "$SUITE" minbase "$ARCH" "$MIRROR" "$(debootstrap --version 2>/dev/null)" |
      sha256sum | cut -c1-16)
base=$CACHE/minbase-$SUITE-$ARCH-$key
mkdir -p "$CACHE"
(
  flock 9
  if [ ! -f "$base/.complete" ]; then
    say "building the minbase root in $base (once; cached afterwards)"
    rm -rf --one-file-system "$base.tmp"
    if ! debootstrap --variant=minbase --arch="$ARCH" "$SUITE" "$base.tmp" "$MIRROR" \
         >"$CACHE/debootstrap.log" 2>&1; then
      tail -20 "$CACHE/debootstrap.log" >&2
      die 1 "debootstrap failed (log: $CACHE/debootstrap.log)"
    fi
    # A fresh install also follows the updates and security suites.
    cat >"$base.tmp/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
EOF
    rm -rf --one-file-system "$base"
    mv "$base.tmp" "$base"
    touch "$base/.complete"
  fi
) 9>"$CACHE/.lock"
[ "$prepare_only" -eq 0 ] || { say "minbase root ready: $base"; exit 0; }

# --- 2. a scratch copy, the clone, the mounts -------------------------------------
commit=$(git -C "$ROOT" rev-parse --verify -q "$REV^{commit}") ||
  die 2 "--commit $REV: not a commit in $ROOT"
if [ "$REV" = HEAD ] && [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  say "note: uncommitted changes in $ROOT are not part of this check (it tests $commit)"
fi
# mounts_below DIR -- the mount points below DIR, deepest first
mounts_below() {
  findmnt -rn -o TARGET | awk -v p="$1/" 'index($0, p) == 1' | sort -r
}
# release DIR -- stop the processes whose root is DIR/root, unmount everything
# below DIR; 0 only when nothing is mounted below DIR any more.  Nothing is
# ever deleted before this succeeds: an rm -rf through a bind mount of /dev
# would delete the host's devices.
release() {
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$1/root" ] && kill -9 "${p#/proc/}" 2>/dev/null || true
  done
  for m in $(mounts_below "$1"); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  left=$(mounts_below "$1")
  [ -z "$left" ] && return 0
  say "still mounted, NOT removing $1:"
  printf '  %s\n' $left >&2
  return 1
}
# Scratch roots of earlier runs that were killed before they could clean up
# (their owner process is gone).
for d in "$WORKBASE"/fl-fresh.*; do
  [ -f "$d/owner" ] || continue
  kill -0 "$(cat "$d/owner")" 2>/dev/null && continue
  say "removing the scratch root of a dead earlier run: $d"
  release "$d" && rm -rf --one-file-system "$d" || true
done

work=$(mktemp -d "$WORKBASE/fl-fresh.XXXXXX")
echo $$ >"$work/owner"
R=$work/root
cleanup() {
  rc=$?
  trap - EXIT INT TERM
  release "$work" || exit 3
  if [ "${FL_FRESH_KEEP:-0}" = 1 ]; then
    rm -f "$work/owner" # kept until removed by hand (unmounted already)
    say "kept the scratch root: $R"
  else
    # Keep the downloaded packages for the next run.
    if [ -d "$R/var/cache/apt/archives" ]; then
      ( flock 9; mkdir -p "$CACHE/archives"
        find "$R/var/cache/apt/archives" -maxdepth 1 -name '*.deb' \
          -exec cp -n {} "$CACHE/archives/" \; ) 9>"$CACHE/.lock" || true
    fi
    rm -rf --one-file-system "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "copying the minbase root to $R"
cp -a "$base" "$R"
rm -f "$R/.complete"
cp /etc/resolv.conf "$R/etc/resolv.conf"
if [ -d "$CACHE/archives" ]; then
  find "$CACHE/archives" -maxdepth 1 -name '*.deb' -exec cp -l {} "$R/var/cache/apt/archives/" \; 2>/dev/null ||
    find "$CACHE/archives" -maxdepth 1 -name '*.deb' -exec cp {} "$R/var/cache/apt/archives/" \;
fi
say "cloning $commit into /root/faultline"
# A local clone of this repository (no network): the fresh root gets the
# committed tree only, as a new user's checkout would.
git clone -q --no-hardlinks "$ROOT" "$R/root/faultline"
git -C "$R/root/faultline" checkout -q --detach "$commit"

for m in proc sys dev dev/pts dev/shm; do
  mkdir -p "$R/$m"
  mount --bind "/$m" "$R/$m"
done

# --- 3. the steps -------------------------------------------------------------------
mkdir -p "$LOGS"
inside() { # inside LOG COMMAND -- run COMMAND in the fresh root, clean environment
  log=$1; shift
  chroot "$R" /usr/bin/env -i HOME=/root TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/sh -c "cd /root/faultline && $*" >"$log" 2>&1
}
failed=""
started=$(date +%s)
for s in $STEPS; do
  case $s in
    demo) cmd="./dev demo" ;;
    test) cmd="./dev test" ;;
    ci)   cmd="FL_FRESH_CHECK=0 FL_FUZZ_SECONDS=10 .ci/run" ;;
  esac
  t0=$(date +%s)
  say "step $s: $cmd (log: $LOGS/$s.log)"
  if inside "$LOGS/$s.log" "$cmd"; then
    say "step $s: passed in $(( $(date +%s) - t0 ))s"
  else
    say "step $s: FAILED after $(( $(date +%s) - t0 ))s; last lines of $LOGS/$s.log:"
    tail -40 "$LOGS/$s.log" >&2
    failed="$failed $s"
    [ "$keep_going" -eq 1 ] || break
  fi
done
total=$(( $(date +%s) - started ))
if [ -n "$failed" ]; then
  say "FAILED:$failed (commit $commit, ${total}s)"
  exit 1
fi
live=$R/root/faultline/build/tests/corpus-live.jsonl
[ ! -f "$live" ] || say "live corpus in the fresh root: $(wc -l <"$live") events, every case ran"
say "passed: $STEPS on a fresh $SUITE minbase root (commit $commit, ${total}s)"
