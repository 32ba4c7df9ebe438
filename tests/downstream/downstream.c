/* SPDX-License-Identifier: MIT */
/* A program outside the project: built against the installed headers and library only. */
#include <sidecar/client.h>
#include <sidecar/uapi.h>

#include <stdio.h>

int main(void)
{
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	bool intercept = false;
	char err[256];

	int rc = sidecar_client_open_err("sim:cpus=1", &c, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "open: %s: %s\n", sidecar_strerror(rc), err);
		return 1;
	}
	rc = sidecar_vp_acquire(c, 1, &vp); /* CPU 0 is Linux's */
	if (!rc)
		rc = sidecar_vp_run_sync(vp, &intercept);
	printf("downstream: run_sync %s, intercept %d, message %s, %zu bytes per node of one vp\n",
	       sidecar_strerror(rc), intercept,
	       sidecar_message_type_name(sidecar_message_type(sidecar_vp_intercept_message(vp))),
	       sidecar_required_memory(1));
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	return rc == 0 && intercept ? 0 : 1;
}
