# The stock pack's corpus test (tests/corpus/): category and retryability
# agreement on hand-written events plus live ones produced at test time by
# real programs failing for real (tests/corpus/live/generate.py).
# Debian's python3 first (a python3 earlier on PATH, e.g. pyenv's, may differ);
# without python3 the live half of the corpus could not run: refuse to configure.
find_program(FL_PYTHON3 NAMES python3 HINTS /usr/bin)
if(NOT FL_PYTHON3)
  message(FATAL_ERROR "python3 not found: the live corpus test needs it (scripts/setup.sh installs it)")
endif()
add_executable(test_corpus ${CMAKE_CURRENT_LIST_DIR}/test_corpus.c)
target_include_directories(test_corpus PRIVATE ${PROJECT_SOURCE_DIR}/engine/include)
target_link_libraries(test_corpus PRIVATE faultline_static PkgConfig::JANSSON ${FL_DEPS})
target_compile_definitions(test_corpus PRIVATE FL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
set(FL_CORPUS_LIVE ${CMAKE_CURRENT_BINARY_DIR}/corpus-live.jsonl)
add_test(NAME corpus_live_generate
         COMMAND ${FL_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/live/generate.py ${FL_CORPUS_LIVE})
set_tests_properties(corpus_live_generate PROPERTIES FIXTURES_SETUP corpus_live
                     LABELS corpus TIMEOUT 180)
add_test(NAME test_corpus COMMAND test_corpus --live ${FL_CORPUS_LIVE})
set_tests_properties(test_corpus PROPERTIES FIXTURES_REQUIRED corpus_live LABELS corpus)
# The captured live corpus (tests/corpus/captured, written by
# tests/corpus/capture/capture.py): held-out figures are printed; the floors
# are regression guards just under the figures measured when rules last changed,
# per capture round (--floor: round 1; --floor-round2..5: rounds 2 to 5, whose held-out
# part measures the rules on failure families that were new to them).
add_test(NAME test_corpus_captured
         COMMAND test_corpus --captured ${CMAKE_CURRENT_LIST_DIR}/captured --floor 98.5,99.5,98.2
                 --floor-round2 94.0,99.5,92.5 --floor-round3 89.0,99.5,89.0
                 --floor-round4 93.0,98.5,90.5 --floor-round5 89.5,96.5,86.5)
set_tests_properties(test_corpus_captured PROPERTIES LABELS corpus TIMEOUT 120)
# The stock pack's own test files (policies/tests/*.jsonl: precedence,
# weak words in context, the last-resort layer, ...).
add_test(NAME stock_pack_tests COMMAND faultline_cli test -p ${PROJECT_SOURCE_DIR}/policies)
set_tests_properties(stock_pack_tests PROPERTIES LABELS corpus TIMEOUT 60
                     FAIL_REGULAR_EXPRESSION "FAIL ")
