/* SPDX-License-Identifier: MIT */
/*
 * Port I/O without the message: sidecar_vp_io_exit() and sidecar_vp_complete_io()
 * (docs/runtime.md, "Port I/O: the short way").
 *
 * In the fast modes, against a kernel with SIDECAR_FAST_F_IO_EXIT, the summary comes from
 * the fast line (already in this CPU's cache: the completion moved it) and the completion
 * rides on the next RUN_VP's command word (COMPLETE_IO), so the round trip touches no other
 * line. Otherwise the summary is decoded from the message and the completion is written by
 * hand before the next run (io_complete_by_hand, runtime/vp.c): RIP through the register
 * page, an IN's value into the CPU context's RAX. Either way the registers change when the VP next runs, and the VMM must not
 * change RIP or RAX for the same stop in between.
 *
 * vp->io_stop: what the last collected run stopped at, for these two calls:
 *   NONE  -> FAST | MSG   a run collected with an intercept (run_result)
 *   any   -> NONE         a run posted (sidecar_vp_run)
 * vp->io_pending: set by sidecar_vp_complete_io, cleared when the next run is posted;
 * vp->io_short: set by the first completion; from then on the fast line asks for IO_EXIT
 * (the summary costs the sidecar CPU ~50 instructions per run, so a VMM that never uses it
 * does not pay: its first stop is read from the message, the later ones from the line).
 * All are the owner's: no atomics.
 */
#include "internal.h"

#include <errno.h>

/* The fast line's summary (a FAST stop): 0, -ENOMSG (not a plain IN/OUT), -EINVAL (a summary
 * no kernel writes). Plain loads: the acquire of done_seq that collected the run ordered
 * them. Both calls are on the VMM's critical path: no copies, no second decode. */
static int fast_summary(const struct sidecar_vp *vp, uint8_t *info_out)
{
	uint8_t info = vp->fast->io_info;
	uint8_t size = info & SIDECAR_FAST_IO_SIZE_MASK;

	if (!(info & SIDECAR_FAST_IO_VALID))
		return -ENOMSG;
	if (!((0x16u >> size) & 1))
		return -EINVAL; /* a size other than 1, 2, 4 */
	*info_out = info;
	return 0;
}

/* The message's plain IN/OUT (a MSG stop), decoded once. */
static int msg_io(const struct sidecar_vp *vp, struct sidecar_io_intercept *io)
{
	int rc = sidecar_message_decode_io(&vp->page->intercept_message, io);
	if (rc)
		return rc;
	return io->string_op ? -ENOMSG : 0;
}

int sidecar_vp_io_exit(const struct sidecar_vp *vp, struct sidecar_io_exit *out)
{
	uint8_t info;
	int rc;

	if (!vp || !out)
		return -EINVAL;
	if (vp->io_stop == RT_IO_STOP_FAST) {
		rc = fast_summary(vp, &info);
		if (rc)
			return rc;
		out->port = vp->fast->io_port;
		out->size = info & SIDECAR_FAST_IO_SIZE_MASK;
		out->write = info & SIDECAR_FAST_IO_WRITE;
		out->value = out->write ? vp->fast->io_data : 0;
		return 0;
	}
	if (vp->io_stop != RT_IO_STOP_MSG)
		return -ENOMSG;
	struct sidecar_io_intercept io;
	rc = msg_io(vp, &io);
	if (rc)
		return rc;
	out->port = io.port;
	out->size = io.access_size;
	out->write = io.write;
	out->value = io.data;
	return 0;
}

int sidecar_vp_complete_io(struct sidecar_vp *vp, uint32_t value)
{
	uint8_t info;
	int rc;

	if (!vp)
		return -EINVAL;
	if (vp->io_pending)
		return -EALREADY;
	if (vp->io_stop == RT_IO_STOP_FAST) {
		/* The kernel completes what it summarized (io_stop stays FAST until the run). */
		rc = fast_summary(vp, &info);
		if (rc)
			return rc;
		vp->io_size = info & SIDECAR_FAST_IO_SIZE_MASK;
		vp->io_in = !(info & SIDECAR_FAST_IO_WRITE);
	} else if (vp->io_stop == RT_IO_STOP_MSG) {
		/* By hand: where the instruction was, from the message (the VP is stopped). */
		struct sidecar_io_intercept io;
		rc = msg_io(vp, &io);
		if (rc)
			return rc;
		vp->io_size = io.access_size;
		vp->io_in = !io.write;
		vp->io_rip = io.rip + io.instruction_len;
	} else {
		return -ENOMSG;
	}
	vp->io_value = value;
	vp->io_pending = true;
	if (!vp->io_short) {
		/* From the next run on, the kernel summarizes (runtime/vp.c). */
		vp->io_short = true;
		rt_vp_enable_io_exit(vp);
	}
	return 0;
}
