# The --watch torture (tests/watch/torture.py, issue 22): hostile edits, busy
# writers beside the policy, SIGHUP, rollback, while eval decides a stream.
# ctest runs a 20-second version (not under sanitizers: the script loads
# libfaultline into Python through ctypes); the full run is
#   /usr/bin/python3 tests/watch/torture.py build/faultline build/engine/libfaultline.so --duration 600
if(EXISTS /usr/bin/python3)
  add_test(NAME watch_torture_short
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/torture.py $<TARGET_FILE:faultline_cli>
            $<TARGET_FILE:faultline> --duration 20)
  set_tests_properties(watch_torture_short PROPERTIES LABELS "watch;nosan" TIMEOUT 240 RUN_SERIAL TRUE)
endif()
