# The KVM VP backend (label kvm): its cases skip where /dev/kvm is missing or unusable.
sidecar_test(test_kvm_insn SOURCES test_kvm_insn.c LABELS kvm)
sidecar_test(test_kvm_io SOURCES test_kvm_io.c LABELS kvm)
sidecar_test(test_kvm_io_exit SOURCES test_kvm_io_exit.c LABELS kvm)
sidecar_test(test_kvm_mmio SOURCES test_kvm_mmio.c LABELS kvm)
sidecar_test(test_kvm_cancel SOURCES test_kvm_cancel.c LABELS kvm)
sidecar_test(test_kvm_regs SOURCES test_kvm_regs.c LABELS kvm)
sidecar_test(test_kvm_translate SOURCES test_kvm_translate.c LABELS kvm)
sidecar_test(test_kvm_init SOURCES test_kvm_init.c LABELS kvm)
