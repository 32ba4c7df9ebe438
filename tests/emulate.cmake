# The emulation helper (<sidecar/emulate.h>, libsidecar-emulate). Built only where Zydis is
# (runtime/emulate/CMakeLists.txt). The kvm tests exit 77 (skipped) without /dev/kvm.
if(NOT TARGET sidecar_emulate_static)
  return()
endif()
sidecar_test(test_emulate_unit SOURCES emulate/test_emulate_unit.c LABELS unit LIBS sidecar_emulate_static)
