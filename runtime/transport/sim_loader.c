/* SPDX-License-Identifier: MIT */
/*
 * `sim[:...]` targets: the simulator is not part of libsidecar. It is a module of its own
 * (libsidecar-sim.so.<major>: the simulated platform and driver, the sidecar kernel core on
 * pinned threads, the synthetic and KVM VP backends), found in this order:
 *
 *   1. linked into the program (tests do that, to reach the simulator's own interface):
 *      the provider symbol is then defined, and this file's weak reference finds it;
 *   2. $SIDECAR_SIM_MODULE, a path to the module;
 *   3. the module by name, through the dynamic loader's search (the program's RUNPATH,
 *      LD_LIBRARY_PATH, the system's library directories); and, because a dlopen that a
 *      sanitizer intercepts searches the sanitizer runtime's paths instead of the
 *      caller's, the same list walked by hand (dlinfo RTLD_DI_SERINFO of the program and of
 *      libsidecar itself);
 *   4. beside libsidecar.so, when this is the shared library (an installed tree that was
 *      moved, or a prefix the loader does not search);
 *   5. the library directory this libsidecar was configured to be installed to.
 *
 * A program that never opens a `sim` target never loads it: a VMM gets no simulator code,
 * no signal handler, no /dev/kvm. docs/runtime.md explains the choice. A loaded module stays
 * loaded (it is never unloaded: clients of it may come and go, and its threads are joined
 * by then anyway), and concurrent first opens are safe (dlopen is reference-counted).
 */
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SIDECAR_WITH_SIM
#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

/* Defined when the simulator is linked into the program. */
extern const struct sidecar_sim_provider sidecar_sim_provider __attribute__((weak));

static const struct sidecar_sim_provider *check(const struct sidecar_sim_provider *p, const char *from, char *err,
						size_t errlen)
{
	if (p->version != SIDECAR_SIM_PROVIDER_VERSION || p->ops_size != sizeof(struct sidecar_drv_ops)) {
		if (errlen)
			snprintf(err, errlen,
				 "simulator module %s is version %u (ops %u bytes), this library needs %u (%zu)", from,
				 p->version, p->ops_size, SIDECAR_SIM_PROVIDER_VERSION, sizeof(struct sidecar_drv_ops));
		return NULL;
	}
	return p;
}

static const struct sidecar_sim_provider *load(const char *path, char *err, size_t errlen, bool *tried)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		if (errlen && !*tried) {
			const char *why = dlerror();
			snprintf(err, errlen, "%s", why ? why : path);
		}
		*tried = true;
		return NULL;
	}
	const struct sidecar_sim_provider *p = dlsym(h, SIDECAR_SIM_PROVIDER_SYMBOL);
	if (!p) {
		if (errlen)
			snprintf(err, errlen, "%s has no %s", path, SIDECAR_SIM_PROVIDER_SYMBOL);
		*tried = true;
	} else {
		p = check(p, path, err, errlen);
	}
	if (!p)
		dlclose(h);
	return p;
}

/* The module in each directory of `handle`'s library search path (its RUNPATH,
 * LD_LIBRARY_PATH, the system directories), in order. */
static const struct sidecar_sim_provider *load_from_search_path(void *handle, char *why, size_t whylen, bool *tried)
{
	Dl_serinfo size;
	const struct sidecar_sim_provider *p = NULL;

	if (!handle || dlinfo(handle, RTLD_DI_SERINFOSIZE, &size) != 0)
		return NULL;
	Dl_serinfo *info = malloc(size.dls_size);
	if (!info)
		return NULL;
	if (dlinfo(handle, RTLD_DI_SERINFOSIZE, info) == 0 && dlinfo(handle, RTLD_DI_SERINFO, info) == 0) {
		for (unsigned i = 0; !p && i < info->dls_cnt; i++) {
			char path[PATH_MAX];
			int n = snprintf(path, sizeof(path), "%s/%s", info->dls_serpath[i].dls_name,
					 SIDECAR_SIM_MODULE_NAME);
			if (n > 0 && (size_t)n < sizeof(path) && access(path, R_OK) == 0)
				p = load(path, why, whylen, tried);
		}
	}
	free(info);
	return p;
}

/* The module's path beside libsidecar.so, or false when this code is not in it. */
static bool beside_library(char *path, size_t size)
{
	Dl_info info;

	if (!dladdr((void *)rt_transport_sim_open, &info) || !info.dli_fname)
		return false;
	const char *slash = strrchr(info.dli_fname, '/');
	if (!slash || strncmp(slash + 1, "libsidecar.so", 13) != 0)
		return false;
	int n = snprintf(path, size, "%.*s/%s", (int)(slash - info.dli_fname), info.dli_fname, SIDECAR_SIM_MODULE_NAME);
	return n > 0 && (size_t)n < size;
}

static const struct sidecar_sim_provider *find_provider(char *err, size_t errlen)
{
	char why[256] = "";
	bool tried = false;
	const struct sidecar_sim_provider *p;

	if (&sidecar_sim_provider)
		return check(&sidecar_sim_provider, "linked in", err, errlen);
	const char *env = getenv("SIDECAR_SIM_MODULE");
	if (env && *env)
		return load(env, err, errlen, &tried);
	p = load(SIDECAR_SIM_MODULE_NAME, why, sizeof(why), &tried);
	if (!p) {
		void *program = dlopen(NULL, RTLD_LAZY);
		p = load_from_search_path(program, why, sizeof(why), &tried);
		if (program)
			dlclose(program);
	}
	if (!p) {
		Dl_info self;
		if (dladdr((void *)rt_transport_sim_open, &self) && self.dli_fname) {
			void *lib = dlopen(self.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
			p = load_from_search_path(lib, why, sizeof(why), &tried);
			if (lib)
				dlclose(lib);
		}
	}
	char beside[PATH_MAX];
	if (!p && beside_library(beside, sizeof(beside)))
		p = load(beside, why, sizeof(why), &tried);
	if (!p)
		p = load(SIDECAR_SIM_MODULE_INSTALLED, why, sizeof(why), &tried);
	if (!p && errlen)
		snprintf(err, errlen,
			 "the simulator is not installed (%s): install libsidecar-sim or set SIDECAR_SIM_MODULE", why);
	return p;
}

int rt_transport_sim_open(const char *target, struct sidecar_drv_handle *out, char *err, size_t errlen)
{
	const struct sidecar_sim_provider *p = find_provider(err, errlen);

	if (!p)
		return -ENOTSUP;
	return p->open(target, out, err, errlen);
}

#else /* built without the simulator */

int rt_transport_sim_open(const char *target, struct sidecar_drv_handle *out, char *err, size_t errlen)
{
	(void)target;
	(void)out;
	if (errlen)
		snprintf(err, errlen, "this libsidecar was built without the simulator (SIDECAR_SIM=OFF)");
	return -ENOTSUP;
}

#endif
