# The sidecar kernel core is freestanding: it builds with only the compiler
# (-ffreestanding -nostdinc) and a bare environment header (tests/freestanding/sidecar_env.h),
# and needs nothing from outside but memcpy, memset, vsnprintf and the environment's clock
# and allocator. The same source list is what the Linux module's Kbuild builds: check that
# driver/linux/Kbuild names every file of it (when the module is in the tree).
set(_fs_dir ${CMAKE_CURRENT_BINARY_DIR}/freestanding)
set(_fs_objs)
foreach(src IN LISTS SIDECAR_KERNEL_CORE_SOURCES)
  get_filename_component(name ${src} NAME_WE)
  set(obj ${_fs_dir}/${name}.o)
  add_custom_command(OUTPUT ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${_fs_dir}
    COMMAND ${CMAKE_C_COMPILER} -std=gnu17 -ffreestanding -nostdinc -fno-builtin-printf -O2
            -Wall -Wextra -Werror -Wno-unused-parameter
            -I${CMAKE_CURRENT_SOURCE_DIR}/freestanding -I${PROJECT_SOURCE_DIR}/kernel/core
            -I${PROJECT_SOURCE_DIR}/abi/include -I${PROJECT_SOURCE_DIR}/abi/internal
            -c ${src} -o ${obj}
    DEPENDS ${src} ${CMAKE_CURRENT_SOURCE_DIR}/freestanding/sidecar_env.h
    COMMENT "Freestanding build of ${name}.c" VERBATIM)
  list(APPEND _fs_objs ${obj})
endforeach()
add_custom_target(freestanding_core ALL DEPENDS ${_fs_objs})

add_test(NAME test_freestanding_core COMMAND sh -c [[
set -eu
allowed='memcpy memset vsnprintf sc_now_ns sc_zalloc sc_free'
defined=$(nm -g --defined-only "$@" | awk 'NF == 3 {print $3}' | sort -u)
undef=$(nm -u "$@" | awk 'NF == 2 {print $2}' | sort -u | grep -v -x -F "$defined" || true)
bad=0
for s in $undef; do
	case " $allowed " in *" $s "*) ;; *) echo "the core needs '$s' from outside"; bad=1 ;; esac
done
[ $bad -eq 0 ] || exit 1
echo "freestanding core: $(echo "$@" | wc -w) objects; needs only: $(echo $undef)"
]] sh ${_fs_objs})
set_tests_properties(test_freestanding_core PROPERTIES LABELS "check;structure")

add_test(NAME test_kbuild_sources COMMAND sh -c [[
set -eu
kbuild=$1; shift
[ -f "$kbuild" ] || { echo "no $kbuild: nothing to compare"; exit 77; }
for src in "$@"; do
	f=$(basename "$src" .c)
	grep -q "$f\.o" "$kbuild" || { echo "$kbuild does not build $src"; exit 1; }
done
echo "$kbuild builds every file of the core"
]] sh ${PROJECT_SOURCE_DIR}/driver/linux/Kbuild ${SIDECAR_KERNEL_CORE_SOURCES})
set_tests_properties(test_kbuild_sources PROPERTIES LABELS "check;structure" SKIP_RETURN_CODE 77)
