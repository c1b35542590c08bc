# Tests of bindings/ (resource checks, storage actions, checkpoints, the Lua
# module).  Included by tests/CMakeLists.txt.  Labels: bindings; `threads`
# for the concurrent ones (TSan run), `slow` for the 1,000-kill test.
set(FL_BIND_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
function(fl_bind_test name)
  if(EXISTS ${FL_BIND_TEST_DIR}/${name}.c)
    fl_add_test(${name} ${FL_BIND_TEST_DIR}/${name}.c LABELS bindings ${ARGN})
    # FL_DEPS is scoped to engine/: name the headers these tests include.
    target_link_libraries(${name} PRIVATE PkgConfig::LUAJIT PkgConfig::JANSSON
                          PkgConfig::SQLITE3 PkgConfig::ZSTD PkgConfig::LIBARCHIVE PkgConfig::SODIUM Threads::Threads)
  endif()
endfunction()
fl_bind_test(test_bind_confine)
fl_bind_test(test_bind_storage)
fl_bind_test(test_bind_faults)
fl_bind_test(test_bind_resource threads)
fl_bind_test(test_bind_checkpoint threads)
fl_bind_test(test_bind_lua)
fl_bind_test(test_bind_sample_policy)
fl_bind_test(test_bind_kill slow)
if(TARGET test_bind_faults) # the same tests through fault injection only
  add_test(NAME test_bind_faults_injected COMMAND test_bind_faults)
  set_tests_properties(test_bind_faults_injected PROPERTIES LABELS "unit;bindings"
    ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout;FL_BIND_NO_MOUNT=1")
endif()
if(TARGET test_bind_kill)
  # 1,000 fork/SIGKILL/reopen cycles, about 35 s in a plain build (scaled
  # for sanitizer builds in tests/CMakeLists.txt).
  set_tests_properties(test_bind_kill PROPERTIES TIMEOUT 120)
endif()
