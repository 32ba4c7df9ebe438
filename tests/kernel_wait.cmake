# The runtime's path for a kernel driver (no in-process completion hook), on the simulator
# (label: unit). tests/device/ runs the same against the module in the VM.
sidecar_test(test_kernel_wait SOURCES test_kernel_wait.c)
