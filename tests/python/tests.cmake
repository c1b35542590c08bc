# The Python package (bindings/python): venv + pip install + pytest, one ctest
# test.  Debian's /usr/bin/python3 on purpose: it sees the python3-* packages.
# Labelled nosan: an ASan-instrumented libfaultline cannot be dlopen'ed by an
# uninstrumented interpreter.
find_program(FL_DEBIAN_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(FL_DEBIAN_PYTHON3)
  add_test(NAME python_package
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run.sh ${FL_DEBIAN_PYTHON3}
                   ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  set_tests_properties(python_package PROPERTIES LABELS "python;nosan" TIMEOUT 600)
endif()
