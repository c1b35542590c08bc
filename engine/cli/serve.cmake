# `faultline serve` (engine/cli/serve*.c): the HTTP layer is h2o 2.2, libuv
# flavour (Debian libh2o-dev; its header needs OpenSSL's, libssl-dev).
# Included from engine/CMakeLists.txt after faultline_cli is defined.
pkg_check_modules(H2O REQUIRED IMPORTED_TARGET libh2o)
find_package(OpenSSL REQUIRED)
set(FL_SERVE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/serve.c ${CMAKE_CURRENT_LIST_DIR}/serve_api.c
                     ${CMAKE_CURRENT_LIST_DIR}/serve_http.c)
target_sources(faultline_cli PRIVATE ${FL_SERVE_SOURCES})
target_include_directories(faultline_cli PRIVATE ${CMAKE_CURRENT_LIST_DIR}
                                                 ${PROJECT_SOURCE_DIR}/engine/src/resilience)
target_link_libraries(faultline_cli PRIVATE PkgConfig::H2O OpenSSL::SSL)
# h2o's headers are not -Wstrict-prototypes / -Wshadow clean.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/serve_http.c PROPERTIES
  COMPILE_OPTIONS "-Wno-strict-prototypes;-Wno-shadow;-Wno-missing-field-initializers")
# The dashboard's files, compiled in (engine/cli/dashboard/embed.cmake).
set(FL_DASH_DIR ${CMAKE_CURRENT_LIST_DIR}/dashboard)
set(FL_DASH_C ${CMAKE_CURRENT_BINARY_DIR}/dashboard_assets.c)
add_custom_command(OUTPUT ${FL_DASH_C}
  COMMAND ${CMAKE_COMMAND} -DOUT=${FL_DASH_C} -DSRC=${FL_DASH_DIR} -P ${FL_DASH_DIR}/embed.cmake
  DEPENDS ${FL_DASH_DIR}/embed.cmake ${FL_DASH_DIR}/index.html ${FL_DASH_DIR}/dashboard.css
          ${FL_DASH_DIR}/dashboard.js
  COMMENT "Embedding the dashboard")
target_sources(faultline_cli PRIVATE ${FL_DASH_C})
