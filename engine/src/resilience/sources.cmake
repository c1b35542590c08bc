# Resilience subsystem sources (included by engine/CMakeLists.txt).
list(APPEND FL_EXTRA_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/admit.c
  ${CMAKE_CURRENT_LIST_DIR}/breaker.c
  ${CMAKE_CURRENT_LIST_DIR}/breaker_api.c
  ${CMAKE_CURRENT_LIST_DIR}/budget.c
  ${CMAKE_CURRENT_LIST_DIR}/bulkhead.c
  ${CMAKE_CURRENT_LIST_DIR}/call.c
  ${CMAKE_CURRENT_LIST_DIR}/category.c
  ${CMAKE_CURRENT_LIST_DIR}/exec.c
  ${CMAKE_CURRENT_LIST_DIR}/fleet.c
  ${CMAKE_CURRENT_LIST_DIR}/gate.c
  ${CMAKE_CURRENT_LIST_DIR}/keymap.c
  ${CMAKE_CURRENT_LIST_DIR}/limiter.c
  ${CMAKE_CURRENT_LIST_DIR}/lua_api.c
  ${CMAKE_CURRENT_LIST_DIR}/lua_decl.c
  ${CMAKE_CURRENT_LIST_DIR}/registry.c
  ${CMAKE_CURRENT_LIST_DIR}/run.c
  ${CMAKE_CURRENT_LIST_DIR}/window.c
)
