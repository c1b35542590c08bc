# Resilience tests (included by tests/CMakeLists.txt).  Tests labelled
# `threads` also run under ThreadSanitizer (./dev sanitize).
set(FL_RESIL_DEPS PkgConfig::LUAJIT PkgConfig::LIBUV PkgConfig::XXHASH Threads::Threads m)
fl_add_test(test_resil_breaker ${CMAKE_CURRENT_LIST_DIR}/test_resil_breaker.c)
fl_add_test(test_resil_limits ${CMAKE_CURRENT_LIST_DIR}/test_resil_limits.c)
fl_add_test(test_resil_exec ${CMAKE_CURRENT_LIST_DIR}/test_resil_exec.c)
fl_add_test(test_resil_threads ${CMAKE_CURRENT_LIST_DIR}/test_resil_threads.c LABELS threads)
# One hot key on several threads: striped limiter/bulkhead bounds, exact
# totals, the breaker's opening point, clock reads on the success path.
fl_add_test(test_resil_stripes ${CMAKE_CURRENT_LIST_DIR}/test_resil_stripes.c LABELS threads)
foreach(t test_resil_breaker test_resil_limits test_resil_exec test_resil_threads test_resil_stripes)
  target_link_libraries(${t} PRIVATE ${FL_RESIL_DEPS})
endforeach()

# The flaky-service sample, and a smoke test of its story: the breaker opens,
# probes and closes; the retry budget refuses retries while the server is
# flaky.
add_executable(flaky-service ${PROJECT_SOURCE_DIR}/samples/flaky-service/main.c)
target_include_directories(flaky-service PRIVATE ${PROJECT_SOURCE_DIR}/engine/include)
target_link_libraries(flaky-service PRIVATE faultline_static ${FL_RESIL_DEPS})
# 600 ms phases (about 4 s): room for timers that drift on a busy machine.
add_test(NAME sample_flaky_service COMMAND flaky-service 600)
set_tests_properties(sample_flaky_service PROPERTIES LABELS "sample" TIMEOUT 20
  PASS_REGULAR_EXPRESSION "closed -> open.*open -> half_open.*half_open -> closed.*retry budget held")

# The same story engine-driven (fl_pipeline_call): the client reports events,
# the policy decides; the breaker's window shows the successes it was told.
add_executable(flaky-pipeline ${PROJECT_SOURCE_DIR}/samples/flaky-service/pipeline.c)
target_include_directories(flaky-pipeline PRIVATE ${PROJECT_SOURCE_DIR}/engine/include)
target_link_libraries(flaky-pipeline PRIVATE faultline_static ${FL_DEPS})
add_test(NAME sample_flaky_pipeline COMMAND flaky-pipeline 200)
set_tests_properties(sample_flaky_pipeline PROPERTIES LABELS "sample" TIMEOUT 30
  PASS_REGULAR_EXPRESSION "successes counted")
# Fleet mode (issue 19): a real redis-server on an ephemeral port; four
# processes share a breaker; Redis killed, restarted and paused.
fl_add_test(test_fleet ${CMAKE_CURRENT_LIST_DIR}/test_fleet.c LABELS threads)
target_link_libraries(test_fleet PRIVATE ${FL_RESIL_DEPS})
set_tests_properties(test_fleet PROPERTIES TIMEOUT 60 RUN_SERIAL TRUE)
