# install.cmake -- what `cmake --install` puts in place (included from the
# top-level CMakeLists.txt).
#
#   <prefix>/lib/libfaultline.so.0.1.0 (+ .so.1, .so)   shared, SONAME libfaultline.so.1
#   <prefix>/lib/libfaultline.a                          static
#   <prefix>/include/faultline.h                         the only public header
#   <prefix>/bin/faultline                               the command
#   <prefix>/share/faultline/policies/                   stock pack (*.lua + tests/)
#   <prefix>/lib/pkgconfig/faultline.pc                  pkg-config
#   <prefix>/lib/cmake/faultline/                        find_package(faultline)
#   <prefix>/share/doc/faultline/                        docs/*.md
#
# ("lib" is CMAKE_INSTALL_LIBDIR: lib/x86_64-linux-gnu on Debian with prefix /usr.)
# Man pages, bash completion and the systemd unit are installed by
# cmake/package.cmake, which also builds the Debian packages (docs/packaging.md).
#
# Both the pkg-config file and the CMake package are relocatable: they are
# correct for the prefix given at install time (`cmake --install . --prefix P`),
# not only for the CMAKE_INSTALL_PREFIX seen at configure time.
include(CMakePackageConfigHelpers)

set(FL_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/faultline"
    CACHE STRING "Where faultlineConfig.cmake is installed (relative to the prefix)")
set(FL_INSTALL_POLICYDIR "${CMAKE_INSTALL_DATADIR}/faultline/policies")

# --- libraries, header, command ------------------------------------------------
# Components (one Debian package each, see cmake/package.cmake): lib = the
# shared library, dev = what building against it needs, runtime + doc = the command.
install(TARGETS faultline faultline_static
  EXPORT faultlineTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          COMPONENT lib NAMELINK_COMPONENT dev
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/engine/include/faultline.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
install(TARGETS faultline_cli
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

# --- stock policy pack -----------------------------------------------------------
# Only the pack itself: the *.lua files directly in policies/ (what
# fl_engine_load reads) and the tests/ folder (what `faultline test` runs).
# Globbed at install time so files added after configuring are not missed.
install(CODE "
  set(FL_POLICY_SRC \"${PROJECT_SOURCE_DIR}/policies\")
  set(FL_POLICY_DEST \"${FL_INSTALL_POLICYDIR}\")
  include(\"${PROJECT_SOURCE_DIR}/cmake/install-policies.cmake\")" COMPONENT runtime)

# --- documentation ---------------------------------------------------------------
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT doc
        FILES_MATCHING PATTERN "*.md")

# --- pkg-config ------------------------------------------------------------------
# Generated at install time from cmake/faultline.pc.in so that `prefix` is the
# prefix actually installed to.  Static linking: `pkg-config --static --libs`
# adds the dependencies (Requires.private / Libs.private).
install(CODE "
  set(FL_PC_IN \"${PROJECT_SOURCE_DIR}/cmake/faultline.pc.in\")
  set(FL_PC_OUT \"${PROJECT_BINARY_DIR}/pkgconfig/faultline.pc\")
  set(FL_PC_VERSION \"${PROJECT_VERSION}\")
  set(FL_PC_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(FL_PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(FL_PC_DATADIR \"${CMAKE_INSTALL_DATADIR}\")
  include(\"${PROJECT_SOURCE_DIR}/cmake/install-pkgconfig.cmake\")" COMPONENT dev)

# --- CMake package -----------------------------------------------------------------
install(EXPORT faultlineTargets
        NAMESPACE faultline::
        DESTINATION ${FL_INSTALL_CMAKEDIR} COMPONENT dev)
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/faultlineConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/faultlineConfig.cmake
  INSTALL_DESTINATION ${FL_INSTALL_CMAKEDIR}
  PATH_VARS FL_INSTALL_POLICYDIR CMAKE_INSTALL_INCLUDEDIR)
# 0.x: SONAME 0 promises ABI compatibility within the major version.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/faultlineConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/faultlineConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/faultlineConfigVersion.cmake
        DESTINATION ${FL_INSTALL_CMAKEDIR} COMPONENT dev)
