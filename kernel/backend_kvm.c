/* SPDX-License-Identifier: MIT */
/* Placeholder until the KVM backend lands: backend=kvm reports -ENOSYS. */
#include "backend.h"

#include <errno.h>

static int kvm_init(struct sidecar_backend *be)
{
	(void)be;
	return -ENOSYS;
}

const struct sidecar_backend_ops sidecar_backend_kvm_ops = {
	.name = "kvm",
	.init = kvm_init,
};
