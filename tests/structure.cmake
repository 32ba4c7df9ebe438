# The shape of the shipped code: the production library exports the public API only (static
# and shared), and no library has a dependency cycle between its files.
add_test(NAME test_symbols COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/symbols.sh
  ${PROJECT_SOURCE_DIR}/runtime/libsidecar.syms $<TARGET_FILE:sidecar_static> $<TARGET_FILE:sidecar_shared>
  $<TARGET_FILE:sidecar_sim>)
set_tests_properties(test_symbols PROPERTIES LABELS "check;structure")

foreach(lib sidecar_runtime sidecar_sim_objs sidecar_kernel_core sidecar_backend_kvm)
  add_test(NAME test_layering_${lib} COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/layering.sh
    $<TARGET_OBJECTS:${lib}> COMMAND_EXPAND_LISTS)
  set_tests_properties(test_layering_${lib} PROPERTIES LABELS "check;structure")
endforeach()
# The simulator as a whole (its files, the host's and the core's together).
add_test(NAME test_layering_simulator COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/layering.sh
  $<TARGET_OBJECTS:sidecar_sim_objs> $<TARGET_OBJECTS:sidecar_host_user> $<TARGET_OBJECTS:sidecar_kernel_core>
  COMMAND_EXPAND_LISTS)
set_tests_properties(test_layering_simulator PROPERTIES LABELS "check;structure")
