# `faultline triage` (engine/cli/triage.c): grouping, ranking, suggestions,
# and skeletons that load and decide (tests/triage/test_triage.sh).
find_program(FL_SH_TRIAGE sh)
if(FL_SH_TRIAGE)
  add_test(NAME cli_triage
    COMMAND ${FL_SH_TRIAGE} ${CMAKE_CURRENT_LIST_DIR}/test_triage.sh $<TARGET_FILE:faultline_cli> ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli_triage PROPERTIES LABELS "cli" TIMEOUT 60 FAIL_REGULAR_EXPRESSION "^FAIL: ")
endif()
