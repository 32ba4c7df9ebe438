# The KVM VP backend (label: kvm). Each test exits 77 (skipped) where /dev/kvm is missing or
# unusable. test_kvm_util.c is #included by the tests, not compiled on its own.
sidecar_test(test_kvm_insn SOURCES test_kvm_insn.c LABELS unit kvm)
sidecar_test(test_kvm_io SOURCES test_kvm_io.c LABELS unit kvm)
sidecar_test(test_kvm_mmio SOURCES test_kvm_mmio.c LABELS unit kvm)
sidecar_test(test_kvm_cancel SOURCES test_kvm_cancel.c LABELS unit kvm)
sidecar_test(test_kvm_regs SOURCES test_kvm_regs.c LABELS unit kvm)
sidecar_test(test_kvm_translate SOURCES test_kvm_translate.c LABELS unit kvm)
sidecar_test(test_kvm_init SOURCES test_kvm_init.c LABELS unit kvm)
