/* SPDX-License-Identifier: MIT */
/* A program built against the installed libsidecar-emulate: completes one intercept of the
 * simulator's synthetic guest (`out dx, al`) and checks the byte arrived and RIP moved. */
#include <sidecar/client.h>
#include <sidecar/emulate.h>

#include <stdio.h>

static int out_byte = -1;

static int io_write(void *opaque, uint16_t port, uint8_t size, uint32_t value)
{
	(void)opaque;
	(void)port;
	(void)size;
	out_byte = (int)(value & 0xff);
	return 0;
}

int main(void)
{
	static const struct sidecar_emulate_ops ops = {.io_write = io_write};
	struct sidecar_emulate_config cfg = {.ops = &ops};
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	struct sidecar_emulator *emu;
	bool intercept;

	if (sidecar_client_open("sim:cpus=1", &c) || sidecar_vp_acquire(c, 1, &vp)) /* CPU 0 is Linux's */
		return 1;
	sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = 'k';
	if (sidecar_vp_run_sync(vp, &intercept) || !intercept || sidecar_emulate_create(vp, &cfg, &emu))
		return 1;
	const struct hv_message *m = sidecar_vp_intercept_message(vp);
	uint64_t rip = ((const struct hv_x64_intercept_message_header *)m->payload)->rip;
	if (sidecar_emulate_intercept(emu, m) || out_byte != 'k' || sidecar_vp_register_page(vp)->rip != rip + 1) {
		fprintf(stderr, "emulate_downstream: %s\n", sidecar_emulate_error(emu));
		return 1;
	}
	sidecar_emulate_destroy(emu);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	printf("emulate_downstream: ok\n");
	return 0;
}
