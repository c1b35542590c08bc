# `faultline serve` tests (included by tests/CMakeLists.txt): one ctest test
# per case of run_serve.py.  Each starts the server on an ephemeral port and a
# unix socket in a temp dir and drives it with curl and the Python sample
# client (samples/clients/python).  Needs /usr/bin/python3 and curl.
find_program(FL_SYS_PYTHON /usr/bin/python3 NO_DEFAULT_PATH)
find_program(FL_CURL curl)
if(FL_SYS_PYTHON AND FL_CURL)
  set(FL_SERVE_CASES endpoints batch bad_json limits slow_client max_conns auth auth_unix admit breakers cache
                     reload watch sigterm client usage shadow metrics observe dashboard)
  foreach(c ${FL_SERVE_CASES})
    add_test(NAME serve_${c}
      COMMAND ${FL_SYS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/run_serve.py ${c} $<TARGET_FILE:faultline_cli>)
    set_tests_properties(serve_${c} PROPERTIES LABELS "serve" TIMEOUT 60
      FAIL_REGULAR_EXPRESSION "FAIL: ")
  endforeach()
  # The dashboard test saves its screenshot in the build tree.
  set_tests_properties(serve_dashboard PROPERTIES TIMEOUT 180
    ENVIRONMENT "FL_ARTIFACTS_DIR=${PROJECT_BINARY_DIR}")
endif()
