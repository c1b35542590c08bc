# The architecture's layering (docs/architecture.md): stages of engine/src
# include only headers of their own or earlier stages.
add_test(NAME layout_layers COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_layers.sh ${PROJECT_SOURCE_DIR}/engine/src)
set_tests_properties(layout_layers PROPERTIES LABELS "layout")
