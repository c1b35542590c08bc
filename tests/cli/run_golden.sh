#!/bin/sh
# run_golden.sh CASE [FAULTLINE] -- run one CLI golden case and compare its
# standard output, standard error and exit status with golden/CASE.out,
# golden/CASE.err (absent: stderr must be empty) and golden/CASE.rc.
#
#   FAULTLINE   the binary (argument, or $FAULTLINE, default build-tests/faultline)
#   UPDATE=1    regenerate the goldens of CASE from the current binary instead
#               of comparing (then READ them: the goldens are the spec)
#   CASE=all    run (or regenerate) every case
#
# Cases run from this directory with relative paths, fixed event ids and
# --seed, so the output does not depend on where the tree is or on time.
set -u
here=$(cd "$(dirname "$0")" && pwd)
case_name=${1:?usage: run_golden.sh CASE [FAULTLINE]}
fl=${2:-${FAULTLINE:-$here/../../build-tests/faultline}}
case $fl in /*) ;; *) fl=$(pwd)/$fl ;; esac
cd "$here" || exit 2

CASES="eval_happy eval_explain eval_locale_fr eval_malformed eval_empty eval_blank_stdin
eval_10mb eval_utf8 eval_deep eval_missing_policy eval_syntax_policy eval_missing_file
check_ok check_failing_example check_syntax check_missing
test_pass test_fail
help_main help_eval help_check help_test
unknown_command bad_option no_command"

if [ "$case_name" = all ]; then
    fails=0
    for c in $CASES; do
        sh "$here/run_golden.sh" "$c" "$fl" || fails=$((fails + 1))
    done
    echo "golden: $fails failed"
    [ "$fails" -eq 0 ]
    exit
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/flgold.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
err=$tmp/err

# Generated inputs (too big or too binary to keep in the tree).
gen_10mb() {
    {
        printf '%s\n' '{"id":"g1","domain":"http","code":503}'
        printf '{"id":"g2","message":"'
        head -c 10485760 /dev/zero | tr '\0' 'x'
        printf '"}\n'
        printf '%s\n' '{"id":"g3","domain":"http","code":404}'
    } > "$tmp/in"
}
gen_utf8() {
    {
        printf '{"id":"u1","message":"caf\303\251 ok"}\n'
        printf '{"id":"u2","message":"caf\351 latin-1"}\n'
        printf '{"id":"u3","message":"\355\240\200 surrogate"}\n'
        printf '%s\n' '{"id":"u4","domain":"http","code":503}'
    } > "$tmp/in"
}
gen_deep() {
    {
        printf '{"id":"d1","x":'
        i=0; while [ $i -lt 3000 ]; do printf '['; i=$((i + 1)); done
        i=0; while [ $i -lt 3000 ]; do printf ']'; i=$((i + 1)); done
        printf '}\n'
        printf '{"id":"d2","message":"m","cause":'
        i=0; while [ $i -lt 9 ]; do printf '{"message":"c%d","cause":' $i; i=$((i + 1)); done
        printf '{"message":"connection refused"}'
        i=0; while [ $i -lt 10 ]; do printf '}'; i=$((i + 1)); done
        printf '\n'
        printf '{"id":"d3","message":"connection refused","cause":'
        i=0; while [ $i -lt 7 ]; do printf '{"message":"c%d","cause":' $i; i=$((i + 1)); done
        printf '{"message":"connection refused"}'
        i=0; while [ $i -lt 8 ]; do printf '}'; i=$((i + 1)); done
        printf '\n'
    } > "$tmp/in"
}

E="eval -p policy --seed 1 --no-progress"
run() { "$fl" "$@" > "$out" 2> "$err"; echo $? > "$tmp/rc"; }
case $case_name in
eval_happy)          run $E input/happy.jsonl ;;
eval_explain)        run $E --explain input/happy.jsonl ;;
eval_locale_fr)      run $E --locale fr input/happy.jsonl ;;
eval_malformed)      run $E input/malformed.jsonl ;;
eval_empty)          run $E input/empty.jsonl ;;
eval_blank_stdin)    printf '\n  \n\t\n' | run $E - ;;
eval_10mb)           gen_10mb; run $E - < "$tmp/in" ;;
eval_utf8)           gen_utf8; run $E - < "$tmp/in" ;;
eval_deep)           gen_deep; run $E - < "$tmp/in" ;;
eval_missing_policy) run eval -p no-such-policy-dir --no-progress input/happy.jsonl ;;
eval_syntax_policy)  run eval -p bad-syntax --no-progress input/happy.jsonl ;;
eval_missing_file)   run $E input/no-such-file.jsonl ;;
check_ok)            run check -p policy ;;
check_failing_example) run check -p bad-example ;;
check_syntax)        run check -p bad-syntax ;;
check_missing)       run check -p no-such-policy-dir ;;
test_pass)           run test -p policy input/tests-pass.jsonl ;;
test_fail)           run test -p policy input/tests-pass.jsonl input/tests-fail.jsonl ;;
help_main)           run --help ;;
help_eval)           run eval --help ;;
help_check)          run check --help ;;
help_test)           run test --help ;;
unknown_command)     run frobnicate ;;
bad_option)          run eval --bogus ;;
no_command)          run ;;
*) echo "run_golden.sh: unknown case '$case_name' (known: $(echo $CASES))" >&2; exit 2 ;;
esac

g=golden/$case_name
if [ "${UPDATE:-0}" = 1 ]; then
    cp "$out" "$g.out"
    cp "$tmp/rc" "$g.rc"
    if [ -s "$err" ]; then cp "$err" "$g.err"; else rm -f "$g.err"; fi
    echo "updated $g.{out,rc$( [ -s "$err" ] && echo ,err)}"
    exit 0
fi

status=0
if ! cmp -s "$out" "$g.out"; then
    echo "FAIL: $case_name: stdout differs from $g.out"
    diff "$g.out" "$out" | head -40
    status=1
fi
if [ -f "$g.err" ]; then
    if ! cmp -s "$err" "$g.err"; then
        echo "FAIL: $case_name: stderr differs from $g.err"
        diff "$g.err" "$err" | head -40
        status=1
    fi
elif [ -s "$err" ]; then
    echo "FAIL: $case_name: unexpected stderr:"
    head -c 2000 "$err"
    status=1
fi
if ! cmp -s "$tmp/rc" "$g.rc"; then
    echo "FAIL: $case_name: exit status $(cat "$tmp/rc"), expected $(cat "$g.rc")"
    status=1
fi
[ $status -eq 0 ] && echo "ok: $case_name"
exit $status
