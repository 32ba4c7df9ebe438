# The device's fast path on the build machine (label: unit): the runtime's path for a kernel
# driver (no in-process completion hook) on the simulator, and the layouts of the driver
# extension's ABI. tests/device/ runs the rest against the module in the VM.
sidecar_test(test_kernel_wait SOURCES test_kernel_wait.c)
sidecar_test(test_abi_uapi_ext SOURCES test_abi_uapi_ext.c)
