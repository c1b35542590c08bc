# bindings/ -- resource checks, storage actions, checkpoints and the Lua
# module `fl` (docs/bindings.md).  Included by engine/CMakeLists.txt.
list(APPEND FL_EXTRA_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/bindings.c
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint.c
  ${CMAKE_CURRENT_LIST_DIR}/compress.c
  ${CMAKE_CURRENT_LIST_DIR}/confine.c
  ${CMAKE_CURRENT_LIST_DIR}/fsio.c
  ${CMAKE_CURRENT_LIST_DIR}/lua_bindings.c
  ${CMAKE_CURRENT_LIST_DIR}/resource.c
  ${CMAKE_CURRENT_LIST_DIR}/storage.c
)
