# sidecar-kvm-bench: the kvm-backend round trip against a raw KVM_RUN loop on the same CPU
# pair (issue #7, docs/kvm.md). The smoke run (label bench-smoke) exits 77 without /dev/kvm.
add_executable(sidecar-kvm-bench kvm_roundtrip.c)
target_link_libraries(sidecar-kvm-bench PRIVATE sidecar_internal sidecar_bench_common sidecar_os Threads::Threads)
if(BUILD_TESTING)
  add_test(NAME sidecar-kvm-bench-smoke COMMAND sidecar-kvm-bench --smoke)
  set_tests_properties(sidecar-kvm-bench-smoke PROPERTIES
    LABELS "regress;bench-smoke;kvm" SKIP_RETURN_CODE 77 TIMEOUT 120 RESOURCE_LOCK cpus)
endif()
