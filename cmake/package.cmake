# package.cmake -- Debian packages with CPack (included from the top-level
# CMakeLists.txt, after install.cmake).  See docs/packaging.md.
#
#   libfaultline1     the shared library (component lib; FL_DEB_LIB_PACKAGE)
#   libfaultline-dev  header, static library, .so link, pkg-config, CMake package (dev)
#   faultline         the command, the stock pack, man pages, bash completion,
#                     the systemd unit for `faultline serve`, docs (runtime + doc)
#
# Build them from a tree configured for /usr (the compiled-in stock pack path
# and the multiarch libdir come from the configure-time prefix):
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release \
#         -DFL_BUILD_TESTS=OFF -DFL_BUILD_BENCH=OFF
#   cmake --build build-deb -j2 && cmake --build build-deb --target package
# cpack refuses (with a message saying so) a tree configured for another prefix.
#
# Files only Debian packages carry (copyright, changelog.gz under
# /usr/share/doc/<package>/) are EXCLUDE_FROM_ALL: CPack installs them because
# it installs component by component; a plain `cmake --install` does not.
set(FL_DIST_DIR "${PROJECT_SOURCE_DIR}/dist")
set(FL_DEB_MAINTAINER "faultline maintainers <faultline@example.org>"
    CACHE STRING "Maintainer field of the Debian packages")
set(FL_DEB_LIB_PACKAGE "libfaultline1"
    CACHE STRING "Name of the Debian package holding the shared library")
set(FL_SYSTEMD_UNITDIR "lib/systemd/system"
    CACHE STRING "Where faultline.service is installed (relative to the prefix, or absolute)")
set(FL_BASH_COMPLETIONDIR "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
    CACHE STRING "Where the bash completion is installed (relative to the prefix, or absolute)")

# --- man pages and changelog: gzip -9n at build time (Debian ships them compressed)
find_program(FL_GZIP gzip REQUIRED)
set(_fl_gz_outputs "")
function(_fl_gzip src dst)
  string(REGEX REPLACE "\\.gz$" "" _fl_plain "${dst}")
  add_custom_command(OUTPUT "${dst}"
    COMMAND "${CMAKE_COMMAND}" -E copy "${src}" "${_fl_plain}"
    COMMAND "${FL_GZIP}" -9nf "${_fl_plain}"
    DEPENDS "${src}" VERBATIM)
  set(_fl_gz_outputs ${_fl_gz_outputs} "${dst}" PARENT_SCOPE)
endfunction()
set(FL_DIST_OUT "${PROJECT_BINARY_DIR}/dist")
file(MAKE_DIRECTORY "${FL_DIST_OUT}")
_fl_gzip("${FL_DIST_DIR}/man/faultline.1" "${FL_DIST_OUT}/faultline.1.gz")
_fl_gzip("${FL_DIST_DIR}/man/faultline-policy.5" "${FL_DIST_OUT}/faultline-policy.5.gz")
# The changelog's newest entry carries the project's version and FL_DEB_MAINTAINER.
configure_file("${FL_DIST_DIR}/debian/changelog.in" "${FL_DIST_OUT}/changelog.configured" @ONLY)
_fl_gzip("${FL_DIST_OUT}/changelog.configured" "${FL_DIST_OUT}/changelog.gz")
add_custom_target(fl_dist_files ALL DEPENDS ${_fl_gz_outputs})

# --- the command's companions -----------------------------------------------------
install(FILES "${FL_DIST_OUT}/faultline.1.gz"
        DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT runtime)
install(FILES "${FL_DIST_OUT}/faultline-policy.5.gz"
        DESTINATION "${CMAKE_INSTALL_MANDIR}/man5" COMPONENT runtime)
install(FILES "${FL_DIST_DIR}/bash-completion/faultline"
        DESTINATION "${FL_BASH_COMPLETIONDIR}" COMPONENT runtime)
configure_file("${FL_DIST_DIR}/systemd/faultline.service.in"
               "${FL_DIST_OUT}/faultline.service" @ONLY)
install(FILES "${FL_DIST_OUT}/faultline.service"
        DESTINATION "${FL_SYSTEMD_UNITDIR}" COMPONENT runtime)

# --- per-package copyright and changelog (Debian policy 12.5, 12.7) -----------------
foreach(_fl_pair "lib;${FL_DEB_LIB_PACKAGE}" "dev;libfaultline-dev" "runtime;faultline")
  list(GET _fl_pair 0 _fl_comp)
  list(GET _fl_pair 1 _fl_pkg)
  install(FILES "${FL_DIST_DIR}/debian/copyright" "${FL_DIST_OUT}/changelog.gz"
          DESTINATION "${CMAKE_INSTALL_DATAROOTDIR}/doc/${_fl_pkg}"
          COMPONENT ${_fl_comp} EXCLUDE_FROM_ALL)
endforeach()

# --- CPack ----------------------------------------------------------------------------
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "faultline")
set(CPACK_PACKAGE_VENDOR "faultline")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "${FL_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DIRECTORY "${PROJECT_BINARY_DIR}/packages")
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL lib dev runtime doc)
set(CPACK_COMPONENT_RUNTIME_GROUP "cli")
set(CPACK_COMPONENT_DOC_GROUP "cli")
set(CPACK_COMPONENT_DEV_DEPENDS lib)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_LIB_PACKAGE_NAME "${FL_DEB_LIB_PACKAGE}")
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION "libs")
# ldconfig through dpkg's trigger, not maintainer scripts (lintian: lacks-ldconfig-trigger).
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA "${FL_DIST_DIR}/debian/libfaultline1/triggers")
set(CPACK_DEBIAN_LIB_DESCRIPTION
"error-policy engine (shared library)
faultline hands an error event to policies written in Lua that classify it
into one of the 16 gRPC canonical categories, choose the recovery (retry after
a delay, fall back, ignore, fail) and compose the message a person reads.
Declarative rules are compiled to C matchers; policies hot-reload.
.
This package contains the shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME "libfaultline-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION "libdevel")
# The static library and the pkg-config file (Requires.private) need the
# development packages of what libfaultline links.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libluajit-5.1-dev, libuv1-dev, libpcre2-dev, libjansson-dev, libxxhash-dev, libsqlite3-dev, libzstd-dev, libhiredis-dev, pkg-config | pkgconf")
set(CPACK_DEBIAN_DEV_DESCRIPTION
"error-policy engine (development files)
faultline hands an error event to policies written in Lua that classify it
into one of the 16 gRPC canonical categories, choose the recovery and compose
the message a person reads.
.
This package contains the header faultline.h, the static library, the
pkg-config file and the CMake package (find_package(faultline)).")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME "faultline")
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION "utils")
set(CPACK_DEBIAN_CLI_DESCRIPTION
"error-policy engine (command and stock policy pack)
faultline hands an error event to policies written in Lua that classify it
into one of the 16 gRPC canonical categories, choose the recovery (retry after
a delay, fall back, ignore, fail) and compose the message a person reads.
.
This package contains the faultline command, the stock policy pack in
/usr/share/faultline/policies, the manual pages, bash completion and a systemd
unit for the local service.")

# cpack time: refuse a tree that was not configured for /usr (its binary would
# look for the stock pack and its libraries under another prefix).
set(FL_CPACK_CONFIGURED_PREFIX "${CMAKE_INSTALL_PREFIX}")
configure_file("${PROJECT_SOURCE_DIR}/cmake/package-project.cmake.in"
               "${PROJECT_BINARY_DIR}/CPackProjectConfig.cmake" @ONLY)
set(CPACK_PROJECT_CONFIG_FILE "${PROJECT_BINARY_DIR}/CPackProjectConfig.cmake")

# `package_source` (not used for the .debs): the tracked tree only.
set(CPACK_SOURCE_GENERATOR "TGZ")
set(CPACK_SOURCE_IGNORE_FILES "/[.]git/" "/build[^/]*/" "/node_modules/")

include(CPack)
