# Unit tests (label: unit).
sidecar_test(test_gva_walk SOURCES test_gva_walk.c)
