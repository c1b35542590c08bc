#!/usr/bin/env bash
# tests/install/run.sh -- install libfaultline into a scratch prefix, then build
# samples/host against the *installed* package twice (CMake find_package and
# pkg-config), run every binary and check what it decides.
#
# usage: run.sh BINARY_DIR SOURCE_DIR WORK_DIR LIBDIR C_COMPILER [CONFIG]
#   BINARY_DIR  the configured and built faultline tree
#   SOURCE_DIR  the faultline source tree
#   WORK_DIR    scratch directory (emptied first; kept afterwards for inspection)
#   LIBDIR      CMAKE_INSTALL_LIBDIR (lib, or lib/x86_64-linux-gnu, ...)
#   C_COMPILER  the compiler the library was built with
#   CONFIG      build configuration, for multi-config generators (optional)
#
# Run by ctest as `install_sample_host` (labels: install, nosan).
set -u

BIN=$1 SRC=$2 WORK=$3 LIBDIR=$4 CC=$5 CONFIG=${6:-}
PREFIX=$WORK/prefix
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
# need CONDITION-DESCRIPTION TEST-ARGS... -- a layout check.
need() {
    local what=$1; shift
    if test "$@"; then ok "$what"; else fail "$what"; fi
}

rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
echo "work directory: $WORK"

# --- 1. install ---------------------------------------------------------------------
install_args=(--install "$BIN" --prefix "$PREFIX")
[ -n "$CONFIG" ] && install_args+=(--config "$CONFIG")
run "$WORK/install.log" cmake "${install_args[@]}" || { echo "FAIL: cmake --install"; exit 1; }
ok "cmake --install --prefix $PREFIX"

L=$PREFIX/$LIBDIR
need "shared library"        -f "$L/libfaultline.so.1" -a -L "$L/libfaultline.so"
need "static library"        -f "$L/libfaultline.a"
need "header"                -f "$PREFIX/include/faultline.h"
need "command"               -x "$PREFIX/bin/faultline"
need "pkg-config file"       -f "$L/pkgconfig/faultline.pc"
need "CMake package"         -f "$L/cmake/faultline/faultlineConfig.cmake" \
                          -a -f "$L/cmake/faultline/faultlineConfigVersion.cmake" \
                          -a -f "$L/cmake/faultline/faultlineTargets.cmake"
need "stock pack directory"  -d "$PREFIX/share/faultline/policies"
if command -v readelf >/dev/null; then
    if readelf -d "$L/libfaultline.so.1" | grep -q 'SONAME.*\[libfaultline\.so\.1\]'; then
        ok "SONAME libfaultline.so.1"
    else
        fail "SONAME is not libfaultline.so.1"
    fi
fi
# Nothing but the pack itself under policies/: *.lua and tests/.
stray=$(cd "$PREFIX/share/faultline/policies" && find . -mindepth 1 \
        ! -path './tests' ! -path './tests/*' ! \( -maxdepth 1 -type f -name '*.lua' \) -print)
if [ -z "$stray" ]; then ok "stock pack holds only *.lua and tests/"; else fail "stray files in the stock pack: $stray"; fi

# --- 2. pkg-config ----------------------------------------------------------------------
export PKG_CONFIG_PATH=$L/pkgconfig
header_version=$(sed -n 's/^#define FL_VERSION_STRING "\(.*\)"/\1/p' "$PREFIX/include/faultline.h")
pc_version=$(pkg-config --modversion faultline 2>&1)
if [ "$pc_version" = "$header_version" ]; then ok "pkg-config version $pc_version"; else fail "pkg-config version '$pc_version', header '$header_version'"; fi
pc_cflags=$(pkg-config --cflags faultline)
pc_libs=$(pkg-config --libs faultline)
pc_static=$(pkg-config --static --libs faultline)
case " $pc_cflags " in *" -I$PREFIX/include "*) ok "cflags: $pc_cflags" ;; *) fail "cflags lack -I$PREFIX/include: $pc_cflags" ;; esac
case " $pc_libs " in *" -L$L "*"-lfaultline "*) ok "libs: $pc_libs" ;; *) fail "libs: $pc_libs" ;; esac
for lib in -lluajit-5.1 -luv -lpcre2-8 -ljansson -lxxhash -lsqlite3 -lzstd -lm; do
    case " $pc_static " in *" $lib "*) ;; *) fail "pkg-config --static --libs lacks $lib: $pc_static" ;; esac
done
case " $pc_static " in *" -lpthread "* | *" -pthread "*) ok "static libs: $pc_static" ;; *) fail "static libs lack threads: $pc_static" ;; esac
POLICY_DIR=$(pkg-config --variable=policydir faultline)
if [ "$POLICY_DIR" = "$PREFIX/share/faultline/policies" ]; then ok "policydir $POLICY_DIR"; else fail "policydir '$POLICY_DIR'"; fi

# --- 3. build samples/host both ways -------------------------------------------------
FIXTURE=$SRC/tests/install/policy
CM=$WORK/cmake-build
if run "$WORK/cmake-configure.log" cmake -S "$SRC/samples/host" -B "$CM" \
        -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_C_COMPILER="$CC" \
        -DCMAKE_C_FLAGS="-Werror" -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
    found=$(sed -n 's/^faultline_DIR:PATH=//p' "$CM/CMakeCache.txt")
    if [ "$found" = "$L/cmake/faultline" ]; then ok "find_package(faultline) -> $found"; else fail "find_package found '$found', not $L/cmake/faultline"; fi
    if run "$WORK/cmake-build.log" cmake --build "$CM"; then
        ok "CMake build of host and host_static"
    else
        fail "CMake build of samples/host"
    fi
else
    fail "CMake configure of samples/host (find_package)"
fi

MK=$WORK/make-build
mkdir -p "$MK" && cp "$SRC/samples/host/host.c" "$SRC/samples/host/Makefile" "$MK/"
if run "$WORK/make-build.log" make -C "$MK" CC="$CC" CFLAGS="-O2 -Werror" all; then
    ok "pkg-config (make) build of host and host_static"
else
    fail "pkg-config (make) build of samples/host"
fi

# The static variants must not need libfaultline.so; the shared ones must.
for exe in "$CM/host_static" "$MK/host_static"; do
    [ -x "$exe" ] || continue
    if readelf -d "$exe" 2>/dev/null | grep -q 'NEEDED.*libfaultline'; then fail "$exe needs libfaultline.so"; else ok "$exe links libfaultline statically"; fi
done
if [ -x "$MK/host" ]; then
    where=$(LD_LIBRARY_PATH=$L ldd "$MK/host" | sed -n 's/.*libfaultline\.so\.1 => \([^ ]*\).*/\1/p')
    case "$where" in "$L"/*) ok "host resolves libfaultline.so.1 in the prefix" ;; *) fail "host resolves libfaultline.so.1 to '$where'" ;; esac
fi

# --- 4. run them -------------------------------------------------------------------------
# expect FILE LABEL FIELD=VALUE... -- the "LABEL: category=..." line has each
# FIELD=VALUE as a whole word.
expect() {
    local out=$1 label=$2; shift 2
    local line
    line=$(grep -m1 "^$label: category=" "$out")
    if [ -z "$line" ]; then fail "$(basename "$out"): no decision line for $label"; return; fi
    for kv in "$@"; do
        case " ${line#*: } " in *" $kv "*) ;; *) fail "$(basename "$out"): $label: want $kv in: $line" ;; esac
    done
}
# expect_re FILE EXTENDED-REGEX -- some line matches.
expect_re() {
    grep -Eq -- "$2" "$1" || fail "$(basename "$1"): no line matches /$2/"
}

check_fixture_output() {
    local out=$1
    expect "$out" http-503  category=unavailable severity=error retryable=true action=retry \
                            delay_ms=100 rule=http-503 message_id=unavailable locale=en
    expect "$out" refused   category=unavailable.connection_refused retryable=true action=retry \
                            delay_ms=200 rule=connection-refused
    expect "$out" json-429  category=resource_exhausted.rate_limited severity=warning action=retry \
                            delay_ms=2000 rule=http-429 message_id=resource_exhausted.rate_limited
    expect "$out" unmatched category=unknown action=fail rule=default
    expect_re "$out" '^http-503: message=The service is temporarily unavailable'
    expect_re "$out" '^http-503: json=\{.*"category": ?"unavailable"'
    expect_re "$out" '^http-503: json=\{.*"action": ?"retry"'
    expect_re "$out" '^json-429: json=\{.*"rule": ?"http-429"'
    expect_re "$out" '^bad-json: rejected as expected: FL_EPARSE'
    expect_re "$out" '^host: ok$'
}

# run_host NAME EXE [ARGS...] -- run one binary, keep its output in WORK/NAME.out.
run_host() {
    local name=$1 exe=$2; shift 2
    local out=$WORK/$name.out
    if [ ! -x "$exe" ]; then fail "$name: not built"; return 1; fi
    LD_LIBRARY_PATH=$L "$exe" "$@" >"$out" 2>&1
    local rc=$?
    if [ $rc -ne 0 ]; then fail "$name exited $rc"; sed 's/^/    | /' "$out"; return 1; fi
    ok "$name ran"
    return 0
}

before=$FAILS
for v in "cmake-host:$CM/host" "cmake-host_static:$CM/host_static" \
         "make-host:$MK/host" "make-host_static:$MK/host_static"; do
    name=${v%%:*} exe=${v#*:}
    run_host "$name" "$exe" "$FIXTURE" && check_fixture_output "$WORK/$name.out"
done
[ $FAILS -eq $before ] && ok "all four builds decide as the fixture policy says"

# The compiled-in default: the installed stock pack.  Skipped while the pack
# is still empty in the source tree.
if ls "$POLICY_DIR"/*.lua >/dev/null 2>&1; then
    if run_host stock-pack "$CM/host"; then
        out=$WORK/stock-pack.out
        grep -q "policy directory $POLICY_DIR\$" "$out" || fail "stock-pack: host did not default to $POLICY_DIR"
        # gRPC's HTTP mapping: 503 -> unavailable; a refused connection is unavailable.
        expect_re "$out" '^http-503: category=unavailable[ .]'
        expect_re "$out" '^refused: category=unavailable[ .]'
        expect_re "$out" '^http-503: .* action=retry '
        expect_re "$out" '^host: ok$'
    fi
else
    echo "skip: the installed stock pack has no *.lua files yet"
fi

if [ $FAILS -ne 0 ]; then
    echo "$FAILS check(s) failed; outputs and logs are in $WORK"
    exit 1
fi
echo "all install checks passed"
