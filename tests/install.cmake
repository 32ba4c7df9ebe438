# The installed tree is usable by a downstream program (pkg-config and find_package). Tier
# regress, label install.
if(SIDECAR_SANITIZING)
  # A sanitized library cannot be linked by an unsanitized downstream program.
  add_test(NAME test_install COMMAND sh -c "echo 'SKIP: sanitizer build'; exit 77")
else()
  add_test(NAME test_install COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install_test.sh
    ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER})
endif()
set_tests_properties(test_install PROPERTIES LABELS "regress;install" SKIP_RETURN_CODE 77 TIMEOUT 300)

# A build without the simulator installs and behaves (sim targets: -ENOTSUP, said why).
add_test(NAME test_install_nosim COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install_nosim_test.sh
  ${CMAKE_BINARY_DIR}/install-nosim ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER})
set_tests_properties(test_install_nosim PROPERTIES LABELS "regress;install" TIMEOUT 600)
