# Sandbox and budget tests (docs/sandbox.md).  Included by tests/CMakeLists.txt.
#   test_sandbox_hostile  >= 30 hostile policies, each contained within its
#                         budget while the engine keeps deciding
#   test_sandbox_threads  the watchdog and failure counters under threads (TSan)
set(FL_SBX_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
foreach(t test_sandbox_hostile test_sandbox_threads)
  if(EXISTS ${FL_SBX_TEST_DIR}/${t}.c)
    set(lbl sandbox)
    if(t STREQUAL "test_sandbox_threads")
      set(lbl sandbox threads)
    endif()
    fl_add_test(${t} ${FL_SBX_TEST_DIR}/${t}.c LABELS ${lbl})
    # FL_DEPS is scoped to engine/: name the headers these tests include.
    target_link_libraries(${t} PRIVATE PkgConfig::LUAJIT PkgConfig::JANSSON Threads::Threads)
    set_tests_properties(${t} PROPERTIES TIMEOUT 300)
  endif()
endforeach()
