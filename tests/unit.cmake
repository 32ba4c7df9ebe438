# Unit tests (label: unit).
sidecar_test(test_gva_walk SOURCES test_gva_walk.c)
sidecar_test(test_abi_layout SOURCES test_abi_layout.c)
sidecar_test(test_abi_cxx SOURCES test_abi_cxx.cpp)
sidecar_test(test_kernel_commands SOURCES test_kernel_commands.c)
sidecar_test(test_driver SOURCES test_driver.c)
sidecar_test(test_client_api SOURCES test_client_api.c)
