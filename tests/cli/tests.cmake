# CLI golden tests (included by tests/CMakeLists.txt): one ctest test per
# case of run_golden.sh, comparing the `faultline` command's stdout, stderr
# and exit status with tests/cli/golden/.  Regenerate with
#   UPDATE=1 tests/cli/run_golden.sh all build-dir/faultline
# and read the diff: the goldens are the specification.
find_program(FL_SH sh)
if(FL_SH)
  set(FL_CLI_CASES
    eval_happy eval_explain eval_locale_fr eval_malformed eval_empty eval_blank_stdin
    eval_10mb eval_utf8 eval_deep eval_missing_policy eval_syntax_policy eval_missing_file
    check_ok check_failing_example check_syntax check_missing
    test_pass test_fail
    help_main help_eval help_check help_test
    unknown_command bad_option no_command)
  foreach(c ${FL_CLI_CASES})
    add_test(NAME cli_${c}
      COMMAND ${FL_SH} ${CMAKE_CURRENT_LIST_DIR}/run_golden.sh ${c} $<TARGET_FILE:faultline_cli>)
    set_tests_properties(cli_${c} PROPERTIES LABELS "cli" TIMEOUT 60
      FAIL_REGULAR_EXPRESSION "^FAIL: ")
  endforeach()
endif()

# `faultline diff`: exact impact counts, --allow gating, archived OLD ids.
if(FL_SH)
  add_test(NAME cli_diff COMMAND ${FL_SH} ${CMAKE_CURRENT_LIST_DIR}/diff_test.sh $<TARGET_FILE:faultline_cli>)
  set_tests_properties(cli_diff PROPERTIES LABELS "cli" TIMEOUT 60 FAIL_REGULAR_EXPRESSION "^FAIL: ")
endif()

# Bundles and signatures: keygen, bundle, sign, verify, tampering refused.
if(FL_SH)
  add_test(NAME cli_bundle COMMAND ${FL_SH} ${CMAKE_CURRENT_LIST_DIR}/bundle_test.sh $<TARGET_FILE:faultline_cli>)
  set_tests_properties(cli_bundle PROPERTIES LABELS "cli" TIMEOUT 60 FAIL_REGULAR_EXPRESSION "^FAIL: ")
endif()

# `faultline run`: retries with the decided delays, no retry on "Permission
# denied", a breaker that opens across invocations, fallback, timeout.
# About 3 s (it sleeps the decided delays).
if(FL_SH)
  add_test(NAME cli_run COMMAND ${FL_SH} ${CMAKE_CURRENT_LIST_DIR}/run_test.sh $<TARGET_FILE:faultline_cli>)
  set_tests_properties(cli_run PROPERTIES LABELS "cli" TIMEOUT 60 FAIL_REGULAR_EXPRESSION "^FAIL: ")
endif()

# `faultline check`: placeholders that can never be set are errors; ones that
# may render empty are warnings.
if(FL_SH)
  add_test(NAME cli_check_lint COMMAND ${FL_SH} ${CMAKE_CURRENT_LIST_DIR}/check_lint_test.sh $<TARGET_FILE:faultline_cli>)
  set_tests_properties(cli_check_lint PROPERTIES LABELS "cli" TIMEOUT 60 FAIL_REGULAR_EXPRESSION "^FAIL: ")
endif()

# `eval --threads N`: the same lines in the same order as one thread.
if(FL_SH)
  add_test(NAME cli_eval_threads COMMAND ${FL_SH} ${CMAKE_CURRENT_LIST_DIR}/eval_threads_test.sh $<TARGET_FILE:faultline_cli>)
  set_tests_properties(cli_eval_threads PROPERTIES LABELS "cli;threads" TIMEOUT 120 FAIL_REGULAR_EXPRESSION "^FAIL: ")
endif()

# `faultline bench`: figures, Lua share, costliest rules, bad input.
if(FL_SH)
  add_test(NAME cli_bench COMMAND ${FL_SH} ${CMAKE_CURRENT_LIST_DIR}/bench_test.sh $<TARGET_FILE:faultline_cli>)
  set_tests_properties(cli_bench PROPERTIES LABELS "cli" TIMEOUT 60 FAIL_REGULAR_EXPRESSION "^FAIL: ")
endif()
