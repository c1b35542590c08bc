#!/usr/bin/env bash
# tests/package/run.sh -- build the Debian packages from a clean /usr-configured
# tree, check their contents and control fields, extract them into a scratch
# root (dpkg -x), run that faultline (check, eval, test) with the stock pack
# from there, build samples/host against the extracted libfaultline-dev (with
# pkg-config and with find_package) and run it on the extracted libfaultline1,
# check the man pages, completion and systemd unit, and run lintian (no
# errors allowed).
#
# usage: run.sh SOURCE_DIR WORK_DIR C_COMPILER [MAIN_BINARY_DIR]
#   SOURCE_DIR       the faultline source tree
#   WORK_DIR         scratch directory (emptied first; kept for inspection)
#   C_COMPILER       compiler for the package build and the sample host
#   MAIN_BINARY_DIR  the tree ctest runs in: when it is not configured for
#                    /usr, cpack there must refuse with a message saying so
#
# Run by ctest as `package_deb` (labels: package, nosan).  About 20 s.
set -u

SRC=$1 WORK=$2 CC=$3 MAIN=${4:-}
BUILD=$WORK/build
ROOT=$WORK/root
FAILS=0

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok:   $*"; }
# run LOG CMD... -- run a step, keep its output in LOG, show it on failure.
run() {
    local log=$1; shift
    if "$@" >"$log" 2>&1; then return 0; fi
    echo "---- $* (exit $?) ----"; cat "$log"; echo "----"
    return 1
}

for tool in cmake cpack dpkg dpkg-deb dpkg-shlibdeps dpkg-buildflags dpkg-architecture lintian readelf; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (scripts/setup.sh installs it)"; exit 1; }
done

rm -rf "$WORK" && mkdir -p "$WORK" "$ROOT" || exit 1
echo "work directory: $WORK"
VERSION=$(sed -n 's/^#define FL_VERSION_STRING "\(.*\)"/\1/p' "$SRC/engine/include/faultline.h")
ARCH=$(dpkg --print-architecture)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
[ -n "$VERSION" ] || { echo "FAIL: no FL_VERSION_STRING in faultline.h"; exit 1; }

# --- 0. a tree configured for another prefix is refused ------------------------------
if [ -n "$MAIN" ] && [ -f "$MAIN/CPackConfig.cmake" ]; then
    prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$MAIN/CMakeCache.txt")
    if [ "$prefix" != /usr ]; then
        if cpack --config "$MAIN/CPackConfig.cmake" -B "$WORK/refused" >"$WORK/refused.log" 2>&1; then
            fail "cpack accepted a tree configured for $prefix"
        elif grep -q "CMAKE_INSTALL_PREFIX=$prefix:" "$WORK/refused.log"; then
            ok "cpack refuses a tree configured for $prefix, saying why"
        else
            fail "cpack failed on the $prefix tree without saying why:"; cat "$WORK/refused.log"
        fi
        [ -z "$(ls "$WORK/refused" 2>/dev/null | grep '\.deb$')" ] || fail "a .deb was written for the $prefix tree"
    fi
fi

# --- 1. build the packages -------------------------------------------------------------
# Debian's hardening flags, all of them (bindnow and PIE too; lintian checks
# them); CMake reads CFLAGS and LDFLAGS, not CPPFLAGS, so _FORTIFY_SOURCE goes
# into CFLAGS.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
export CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
export LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
run "$WORK/configure.log" cmake -S "$SRC" -B "$BUILD" -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$CC" \
    -DFL_BUILD_TESTS=OFF -DFL_BUILD_BENCH=OFF -DFL_BUILD_FUZZ=OFF || { echo "FAIL: configure"; exit 1; }
run "$WORK/build.log" cmake --build "$BUILD" -j2 || { echo "FAIL: build"; exit 1; }
unset CFLAGS LDFLAGS DEB_BUILD_MAINT_OPTIONS
(cd "$BUILD" && run "$WORK/cpack.log" cpack -G DEB) || { echo "FAIL: cpack"; exit 1; }
ok "cpack -G DEB"

P=$BUILD/packages
LIB=$P/libfaultline1_${VERSION}_${ARCH}.deb
DEV=$P/libfaultline-dev_${VERSION}_${ARCH}.deb
CLI=$P/faultline_${VERSION}_${ARCH}.deb
for deb in "$LIB" "$DEV" "$CLI"; do
    [ -f "$deb" ] || { echo "FAIL: $(basename "$deb") not built; got: $(ls "$P")"; exit 1; }
done
n=$(ls "$P"/*.deb | wc -l)
[ "$n" -eq 3 ] && ok "three packages, version $VERSION" || fail "$n packages built, want 3: $(ls "$P")"

# --- 2. contents -------------------------------------------------------------------------
contents() { dpkg-deb -c "$1" | awk '{ p = $6; sub(/^\./, "", p); print p }'; }
contents "$LIB" >"$WORK/lib.list"; contents "$DEV" >"$WORK/dev.list"; contents "$CLI" >"$WORK/cli.list"
# has LIST PATH... -- every PATH is in the package.
has() {
    local list=$1; shift
    for f in "$@"; do
        grep -qxF -- "$f" "$WORK/$list.list" || fail "$list package lacks $f"
    done
}
L=/usr/lib/$MA
has lib "$L/libfaultline.so.$VERSION" "$L/libfaultline.so.1" \
        /usr/share/doc/libfaultline1/copyright /usr/share/doc/libfaultline1/changelog.gz
has dev /usr/include/faultline.h "$L/libfaultline.a" "$L/libfaultline.so" \
        "$L/pkgconfig/faultline.pc" "$L/cmake/faultline/faultlineConfig.cmake" \
        "$L/cmake/faultline/faultlineConfigVersion.cmake" "$L/cmake/faultline/faultlineTargets.cmake" \
        /usr/share/doc/libfaultline-dev/copyright /usr/share/doc/libfaultline-dev/changelog.gz
has cli /usr/bin/faultline /usr/share/man/man1/faultline.1.gz /usr/share/man/man5/faultline-policy.5.gz \
        /usr/share/bash-completion/completions/faultline /usr/lib/systemd/system/faultline.service \
        /usr/share/doc/faultline/copyright /usr/share/doc/faultline/changelog.gz \
        /usr/share/doc/faultline/policy-language.md /usr/share/faultline/policies/tests/
# The whole stock pack, and nothing else under policies/.
for f in "$SRC"/policies/*.lua "$SRC"/policies/tests/*; do
    has cli "/usr/share/faultline/policies/${f#"$SRC"/policies/}"
done
stray=$(grep '^/usr/share/faultline/policies/.' "$WORK/cli.list" | grep -vE '^/usr/share/faultline/policies/([^/]+\.lua|tests/.*)$')
[ -z "$stray" ] || fail "stray files in the packaged stock pack: $stray"
# Each file in exactly one package; nothing outside /usr; no .so in the command's package.
dup=$(cat "$WORK"/{lib,dev,cli}.list | grep -v '/$' | sort | uniq -d)
[ -z "$dup" ] || fail "files in more than one package: $dup"
outside=$(cat "$WORK"/{lib,dev,cli}.list | grep -vE '^/(usr(/.*)?)?$' | grep -v '^/$')
[ -z "$outside" ] || fail "files outside /usr: $outside"
grep -q '/usr/local' "$WORK"/{lib,dev,cli}.list && fail "a package installs into /usr/local"
grep -qE '\.so(\.|$)|\.h$|\.a$' "$WORK/cli.list" && fail "the faultline package carries library files"
grep -qE '\.h$|\.a$|/bin/' "$WORK/lib.list" && fail "libfaultline1 carries development files or commands"
# Everything `cmake --install` installs is in some package: an install() rule
# without one of the packaged components (lib, dev, runtime, doc) would be
# left out silently.
if run "$WORK/plain-install.log" env DESTDIR="$WORK/plain" cmake --install "$BUILD"; then
    (cd "$WORK/plain" && find . ! -type d | sed 's|^\.||' | sort) >"$WORK/plain.list"
    cat "$WORK"/{lib,dev,cli}.list | grep -v '/$' | sort >"$WORK/packaged.list"
    missing=$(comm -23 "$WORK/plain.list" "$WORK/packaged.list")
    [ -z "$missing" ] || fail "installed by cmake --install but in no package (give the install() rule COMPONENT lib, dev, runtime or doc): $missing"
    extra=$(comm -13 "$WORK/plain.list" "$WORK/packaged.list" | grep -vE '^/usr/share/doc/[^/]+/(copyright|changelog\.gz)$')
    [ -z "$extra" ] || fail "packaged but not installed by cmake --install: $extra"
else
    fail "cmake --install of the package tree"
fi
[ $FAILS -eq 0 ] && ok "contents of the three packages (= what cmake --install installs, plus copyright and changelog)"

# --- 3. control fields -----------------------------------------------------------------
field() { dpkg-deb -f "$1" "$2"; }
for pair in "$LIB:libfaultline1:libs" "$DEV:libfaultline-dev:libdevel" "$CLI:faultline:utils"; do
    IFS=: read -r deb name section <<<"$pair"
    [ "$(field "$deb" Package)" = "$name" ] || fail "$(basename "$deb"): Package is $(field "$deb" Package)"
    [ "$(field "$deb" Version)" = "$VERSION" ] || fail "$name: Version $(field "$deb" Version), want $VERSION"
    [ "$(field "$deb" Section)" = "$section" ] || fail "$name: Section $(field "$deb" Section), want $section"
done
# dpkg-shlibdeps: the libraries the binaries really link.
for name_deb in "libfaultline1:$LIB" "faultline:$CLI"; do
    deps=$(field "${name_deb#*:}" Depends)
    for want in libc6 libluajit-5.1-2 libuv1 libpcre2-8-0 libjansson4 libsqlite3-0 libzstd1 libxxhash0; do
        case ", $deps" in *", $want "* | *"| $want "*) ;; *) fail "${name_deb%%:*} Depends lacks $want: $deps" ;; esac
    done
done
case "$(field "$DEV" Depends)" in
    "libfaultline1 (= $VERSION)"*) ok "libfaultline-dev depends on libfaultline1 (= $VERSION)" ;;
    *) fail "libfaultline-dev Depends: $(field "$DEV" Depends)" ;;
esac
ctrl() { dpkg-deb --ctrl-tarfile "$1" | tar -xOf - "./$2" 2>/dev/null; }
[ "$(ctrl "$LIB" shlibs)" = "libfaultline 1 libfaultline1 (>= $VERSION)" ] || fail "libfaultline1 shlibs: $(ctrl "$LIB" shlibs)"
ctrl "$LIB" triggers | grep -qx 'activate-noawait ldconfig' || fail "libfaultline1 does not trigger ldconfig"
[ $FAILS -eq 0 ] && ok "control fields (shlibdeps, shlibs, ldconfig trigger)"

# --- 4. extract and run --------------------------------------------------------------------
for deb in "$LIB" "$DEV" "$CLI"; do dpkg -x "$deb" "$ROOT" || fail "dpkg -x $(basename "$deb")"; done
FL=$ROOT/usr/bin/faultline
PACK=$ROOT/usr/share/faultline/policies
export LD_LIBRARY_PATH=$ROOT$L
unset FAULTLINE_POLICY_DIR
if ldd "$FL" | grep -q 'not found'; then fail "faultline misses libraries: $(ldd "$FL" | grep 'not found')"; fi
v=$("$FL" --version 2>&1)
[ "$v" = "faultline $VERSION" ] && ok "faultline --version: $v" || fail "faultline --version: $v"
# The compiled-in default is the packaged stock pack.
grep -qaF /usr/share/faultline/policies "$FL" && ok "compiled-in policy directory /usr/share/faultline/policies" \
    || fail "the packaged binary does not name /usr/share/faultline/policies"
readelf -d "$FL" | grep -q 'RUNPATH\|RPATH' && fail "faultline carries an RPATH"
readelf -S "$FL" | grep -q '\.debug_info' && fail "faultline is not stripped"

if run "$WORK/check-default.log" "$FL" check; then ok "faultline check (default policy: the extracted stock pack)"; else fail "faultline check"; fi
if run "$WORK/check.log" "$FL" check -p "$PACK"; then ok "faultline check -p <root>/usr/share/faultline/policies"; else fail "faultline check -p"; fi
if run "$WORK/test.log" "$FL" test -p "$PACK"; then ok "faultline test: $(tail -1 "$WORK/test.log")"; else fail "faultline test"; fi

cat >"$WORK/events.jsonl" <<'JSONL'
{"id":"e1","domain":"http","code":503,"message":"Service Unavailable"}
{"id":"e2","message":"connect ECONNREFUSED 127.0.0.1:5432"}
{"id":"e3","domain":"http","code":429,"tags":{"retry_after":3}}
{"id":"e4","domain":"postgres","code":"23505","message":"duplicate key value violates unique constraint"}
JSONL
"$FL" eval --no-progress --seed 1 --locale fr "$WORK/events.jsonl" >"$WORK/eval.out" 2>"$WORK/eval.err"
rc=$?
[ $rc -eq 0 ] || { fail "faultline eval exited $rc"; cat "$WORK/eval.err"; }
# want ID REGEX -- the decision for ID matches REGEX.
want() {
    local line
    line=$(grep -F "\"id\":\"$1\"" "$WORK/eval.out")
    if [ -z "$line" ]; then fail "eval: no decision for $1"; return; fi
    printf '%s\n' "$line" | grep -Eq -- "$2" || fail "eval $1: want /$2/ in $line"
}
want e1 '"category":"unavailable".*"action":"retry"'
want e2 '"category":"unavailable\.connection_refused".*"action":"retry"'
want e3 '"category":"resource_exhausted\.rate_limited".*"delay_ms":3000'
want e4 '"category":"already_exists"'
want e1 '"locale":"fr".*"policy":\{"name":"stock"'
[ "$(wc -l <"$WORK/eval.out")" -eq 4 ] || fail "eval: $(wc -l <"$WORK/eval.out") decisions for 4 events"
[ $FAILS -eq 0 ] && ok "faultline eval with the stock pack (4 decisions as expected)"

# --- 5. build a host against the extracted library packages ----------------------------
HOST=$WORK/host
mkdir -p "$HOST" && cp "$SRC/samples/host/host.c" "$SRC/samples/host/Makefile" "$HOST/"
if PKG_CONFIG_SYSROOT_DIR=$ROOT PKG_CONFIG_PATH=$ROOT$L/pkgconfig \
        run "$WORK/host-build.log" make -C "$HOST" CC="$CC" CFLAGS="-O2 -Werror" host; then
    where=$(ldd "$HOST/host" | sed -n 's/.*libfaultline\.so\.1 => \([^ ]*\).*/\1/p')
    case "$where" in "$ROOT$L"/*) ok "host links the extracted libfaultline.so.1" ;; *) fail "host resolves libfaultline.so.1 to '$where'" ;; esac
    if run "$WORK/host.log" "$HOST/host" "$PACK"; then
        grep -q '^http-503: category=unavailable' "$WORK/host.log" && grep -q '^host: ok$' "$WORK/host.log" \
            && ok "host decides with the extracted library and stock pack" \
            || { fail "host output:"; cat "$WORK/host.log"; }
    else
        fail "host run"
    fi
else
    fail "build samples/host with pkg-config against the extracted libfaultline-dev"
fi

# The CMake package of libfaultline-dev, found in the extracted root: both
# variants build; the shared one runs on the extracted library, the static
# one without it; with no argument they use the extracted stock pack.
CM=$WORK/host-cmake
if run "$WORK/host-cmake-configure.log" cmake -S "$SRC/samples/host" -B "$CM" \
        -DCMAKE_PREFIX_PATH="$ROOT/usr" -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="-Werror" \
   && run "$WORK/host-cmake-build.log" cmake --build "$CM"; then
    found=$(sed -n 's/^faultline_DIR:PATH=//p' "$CM/CMakeCache.txt")
    [ "$found" = "$ROOT$L/cmake/faultline" ] || fail "find_package(faultline) found '$found'"
    readelf -d "$CM/host_static" | grep -q 'NEEDED.*libfaultline' && fail "host_static needs libfaultline.so"
    for exe in host host_static; do
        if run "$WORK/$exe-cmake.log" "$CM/$exe" && grep -q "policy directory $PACK\$" "$WORK/$exe-cmake.log" \
                && grep -q '^http-503: category=unavailable' "$WORK/$exe-cmake.log" && grep -q '^host: ok$' "$WORK/$exe-cmake.log"; then
            ok "find_package(faultline) from the extracted root: $exe decides with the stock pack"
        else
            fail "find_package(faultline) build: $exe"; cat "$WORK/$exe-cmake.log"
        fi
    done
else
    fail "build samples/host with find_package(faultline) against the extracted libfaultline-dev"
fi

# --- 6. man pages, completion, systemd unit -------------------------------------------------
for page in "$ROOT/usr/share/man/man1/faultline.1.gz" "$ROOT/usr/share/man/man5/faultline-policy.5.gz"; do
    if ! gzip -t "$page" 2>/dev/null; then fail "$page is not gzip"; continue; fi
    if command -v groff >/dev/null; then
        msgs=$(gzip -dc "$page" | groff -t -man -ww -z 2>&1)
        [ -z "$msgs" ] && ok "$(basename "$page") renders without warnings" || fail "$(basename "$page"): $msgs"
    fi
done
cmds=$(bash -c 'source "$1"; COMP_WORDS=("$2" ""); COMP_CWORD=1; _faultline; printf "%s " "${COMPREPLY[@]}"' \
       _ "$ROOT/usr/share/bash-completion/completions/faultline" "$FL")
case " $cmds" in *" eval "*"check "*"test "*) ok "bash completion offers: $cmds" ;; *) fail "bash completion offers: $cmds" ;; esac
UNIT=$ROOT/usr/lib/systemd/system/faultline.service
for line in 'ExecStart=/usr/bin/faultline serve -p ${FAULTLINE_POLICY_DIR} $FAULTLINE_SERVE_OPTS' \
            'Environment=FAULTLINE_POLICY_DIR=/usr/share/faultline/policies' \
            'DynamicUser=yes' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'CapabilityBoundingSet='; do
    grep -qxF -- "$line" "$UNIT" || fail "faultline.service lacks: $line"
done
grep -q '@[A-Z_]*@' "$UNIT" && fail "faultline.service has unsubstituted @VARIABLES@"
if command -v systemd-analyze >/dev/null; then
    # verify wants ExecStart's program to exist: point it at the extracted one.
    sed "s|=/usr/bin/faultline |=$FL |" "$UNIT" >"$WORK/faultline.service"
    msgs=$(systemd-analyze verify --man=no "$WORK/faultline.service" 2>&1)
    [ -z "$msgs" ] && ok "systemd-analyze verify faultline.service: clean" || fail "systemd-analyze verify: $msgs"
    exposure=$(systemd-analyze security --offline=true "$UNIT" 2>&1 |
               sed -n 's/.*Overall exposure level for faultline.service: \([0-9.]*\).*/\1/p')
    # 0 = fully locked down, 10 = unprotected; the unit scores 1.5.
    if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
        ok "systemd-analyze security: exposure $exposure (at most 2.0)"
    else
        fail "systemd-analyze security: exposure '$exposure', want at most 2.0"
    fi
else
    echo "skip: systemd-analyze is not installed; faultline.service not verified"
fi
[ $FAILS -eq 0 ] && ok "faultline.service: serve on the stock pack, dynamic user, hardened"

# --- 7. lintian ------------------------------------------------------------------------------
lintian --fail-on error "$LIB" "$DEV" "$CLI" >"$WORK/lintian.log" 2>&1
rc=$?
sed 's/^/    lintian: /' "$WORK/lintian.log" | grep -v 'running with root privileges'
if [ $rc -eq 0 ] && ! grep -q '^E: ' "$WORK/lintian.log"; then
    ok "lintian: no errors ($(grep -c '^W: ' "$WORK/lintian.log") warnings)"
else
    fail "lintian reports errors (exit $rc)"
fi

if [ $FAILS -ne 0 ]; then
    echo "$FAILS check(s) failed; packages, logs and the scratch root are in $WORK"
    exit 1
fi
echo "all package checks passed"
