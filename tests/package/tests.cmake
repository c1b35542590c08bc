# Packaging tests (see docs/packaging.md):
#   package_deb           builds the Debian packages in a /usr-configured tree
#                         under the build directory, checks their contents and
#                         control fields, extracts them (dpkg -x), runs the
#                         extracted faultline with the stock pack, builds
#                         samples/host against the extracted library, runs
#                         lintian (no errors).  ~15 s idle, up to ~80 s on a busy
#                         2-core machine (mostly the build).  Labels: package, nosan
#                         (it builds its own, unsanitized tree).
#   package_manpage_sync  faultline(1) documents every command and option that
#                         `faultline --help` / `faultline CMD --help` print, and
#                         nothing they do not; both pages render without groff
#                         warnings; the bash completion offers the same.
#                         A command added without documentation fails it, on
#                         purpose: document it in dist/man/faultline.1.
#   package_manpage_sync_catches_new_command  the same check on a wrapper whose
#                         --help lists an extra command must report it.
find_program(FL_BASH bash)
if(FL_BASH)
  add_test(NAME package_deb
    COMMAND ${FL_BASH} ${CMAKE_CURRENT_LIST_DIR}/run.sh
            ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/package-test
            ${CMAKE_C_COMPILER} ${PROJECT_BINARY_DIR})
  set_tests_properties(package_deb PROPERTIES
    LABELS "package;nosan"
    TIMEOUT 300
    FAIL_REGULAR_EXPRESSION "^FAIL: ")
endif()
add_test(NAME package_manpage_sync
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/manpage_sync.py
          $<TARGET_FILE:faultline_cli> ${PROJECT_SOURCE_DIR})
set_tests_properties(package_manpage_sync PROPERTIES LABELS "package" TIMEOUT 60)
add_test(NAME package_manpage_sync_catches_new_command
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/manpage_sync.py
          ${CMAKE_CURRENT_LIST_DIR}/undocumented-command.sh ${PROJECT_SOURCE_DIR}
          --expect-undocumented not-in-the-manual)
set_tests_properties(package_manpage_sync_catches_new_command PROPERTIES
  LABELS "package" TIMEOUT 60
  ENVIRONMENT "FL_REAL_FAULTLINE=$<TARGET_FILE:faultline_cli>")
