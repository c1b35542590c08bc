# The fuzz targets' seed corpora (tests/fuzz/corpus/<target>), replayed
# through each target's entry point by a plain driver (replay.c), so the
# reproducers kept there run in every build, not only under libFuzzer.
# A hang (issue 22: a policy whose domain x code keys filled the matcher's
# hash table) fails by the timeout.
foreach(t policy decide event template)
  add_executable(fuzz_replay_${t} ${CMAKE_CURRENT_LIST_DIR}/fuzz_${t}.c ${CMAKE_CURRENT_LIST_DIR}/replay.c)
  target_include_directories(fuzz_replay_${t} PRIVATE ${FL_INTERNAL_INCLUDE_DIRS}
                                                      ${PROJECT_SOURCE_DIR}/engine/include)
  target_link_libraries(fuzz_replay_${t} PRIVATE faultline_static ${FL_DEPS})
  target_compile_definitions(fuzz_replay_${t} PRIVATE FL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_test(NAME fuzz_replay_${t} COMMAND fuzz_replay_${t} ${CMAKE_CURRENT_LIST_DIR}/corpus/${t})
  set_tests_properties(fuzz_replay_${t} PROPERTIES LABELS "fuzz" TIMEOUT 120)
endforeach()
