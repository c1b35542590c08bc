# Install test: `cmake --install` into a scratch prefix, then build
# samples/host against the installed package with find_package(faultline) and
# with pkg-config, run the four binaries (shared/static x CMake/make) on
# tests/install/policy and check their decisions.  See tests/install/run.sh.
#
# Labelled nosan: the installed library would carry the sanitizer runtime
# requirement into an unsanitized sample build.  Needs the whole tree built
# (it installs it), so run it after `cmake --build`.
find_program(FL_BASH bash)
if(FL_BASH)
  add_test(NAME install_sample_host
    COMMAND ${FL_BASH} ${CMAKE_CURRENT_LIST_DIR}/run.sh
            ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR}
            ${CMAKE_CURRENT_BINARY_DIR}/install-test
            ${CMAKE_INSTALL_LIBDIR} ${CMAKE_C_COMPILER} $<CONFIG>)
  set_tests_properties(install_sample_host PROPERTIES
    LABELS "install;nosan"
    TIMEOUT 600
    FAIL_REGULAR_EXPRESSION "^FAIL: ")
endif()
