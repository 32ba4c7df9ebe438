// SPDX-License-Identifier: MIT
// Every public header compiles as C++ (and its static assertions hold there too).
#include <sidecar/client.h>
#include <sidecar/defs.h>
#include <sidecar/hvdef.h>
#include <sidecar/uapi.h>

#include <cstdio>

static_assert(sizeof(sidecar_command_page) == 4096, "command page");
static_assert(offsetof(sidecar_command_page, request_data) == 1552, "request data");
static_assert(sizeof(hv_x64_register_page) == 4096, "register page");

int main()
{
	sidecar_client *c = nullptr;
	(void)c;
	std::printf("test_abi_cxx: ok (%zu)\n", sidecar_required_memory(2));
	return sidecar_required_memory(1) == 14 * 4096 ? 0 : 1;
}
