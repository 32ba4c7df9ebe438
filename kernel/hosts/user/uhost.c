/* SPDX-License-Identifier: MIT */
/* The user-space host of the sidecar kernel core (uhost.h). */
#include "uhost.h"

#include "futex.h"
#include "grace.h"

#include <cpuid.h>
#include <sched.h>

#define UHOST_CPU_STACK_SIZE (256u << 10)

static struct sidecar_uhost_cpu *uhost_of(struct sidecar_kcpu *k)
{
	return (struct sidecar_uhost_cpu *)((char *)k - offsetof(struct sidecar_uhost_cpu, k));
}

/* `sti; hlt`: returns once an interrupt is pending, consuming it. The exchange (acquire)
 * pairs with the release store in sidecar_uhost_cpu_ipi, so whatever the sender wrote before
 * the IPI (a status, a doorbell) is visible after the halt. */
static void uhost_halt(struct sidecar_kcpu *k)
{
	struct sidecar_uhost_cpu *c = uhost_of(k);

	while (atomic_exchange_explicit(&c->irq, 0, memory_order_acquire) == 0)
		sidecar_futex_wait(&c->irq, 0, -1);
}

static bool uhost_irq_pending(struct sidecar_kcpu *k)
{
	return atomic_load_explicit(&uhost_of(k)->irq, memory_order_relaxed) != 0;
}

static void uhost_signal_response(struct sidecar_kcpu *k)
{
	struct sidecar_uhost_cpu *c = uhost_of(k);

	if (c->response)
		c->response(c);
}

static int uhost_host_cpu(struct sidecar_kcpu *k)
{
	(void)k;
	return sched_getcpu();
}

static void uhost_vp_online(struct sidecar_kcpu *k, struct sidecar_backend_vp *vp)
{
	struct sidecar_uhost_cpu *c = uhost_of(k);

	/* Release: pairs with the kicker's acquire load (a new VP is whole when seen). A VP
	 * going away: unpublish, then a grace period, after which no kicker holds it. */
	atomic_store_explicit(&c->kick_vp, vp, memory_order_release);
	if (!vp)
		sidecar_grace_wait();
}

static void uhost_fault(struct sidecar_kcpu *k, enum sidecar_fault_point where)
{
	struct sidecar_uhost_cpu *c = uhost_of(k);

	if (c->fault)
		c->fault(c, where);
}

static const struct sidecar_host_ops uhost_ops = {
	.halt = uhost_halt,
	.irq_pending = uhost_irq_pending,
	.signal_response = uhost_signal_response,
	.host_cpu = uhost_host_cpu,
	.vp_online = uhost_vp_online,
	.fault = uhost_fault,
};

void sidecar_uhost_cpu_init(struct sidecar_uhost_cpu *c)
{
	c->k.host = &uhost_ops;
	c->pin = -1;
	pthread_mutex_init(&c->join_lock, NULL);
}

void sidecar_uhost_cpu_ipi(struct sidecar_uhost_cpu *c)
{
	atomic_fetch_add_explicit(&c->request_irqs, 1, memory_order_relaxed);
	/* Pairs with the acquire exchange in uhost_halt. */
	atomic_store_explicit(&c->irq, 1, memory_order_release);
	sidecar_futex_wake(&c->irq, 1);
	if (c->k.be->vp_kick) {
		/* The VP may be going away (vp_online(NULL) waits a grace period). */
		sidecar_grace_read_lock();
		struct sidecar_backend_vp *vp = atomic_load_explicit(&c->kick_vp, memory_order_acquire);
		if (vp)
			c->k.be->vp_kick(vp);
		sidecar_grace_read_unlock();
	}
}

static void *cpu_thread(void *arg)
{
	struct sidecar_uhost_cpu *c = arg;

	sidecar_kernel_cpu_main(&c->k);
	return NULL;
}

int sidecar_uhost_cpu_start(struct sidecar_uhost_cpu *c, char *err, size_t errlen)
{
	pthread_attr_t attr;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, UHOST_CPU_STACK_SIZE);
	if (c->pin >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(c->pin, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	rc = pthread_create(&c->thread, &attr, cpu_thread, c);
	pthread_attr_destroy(&attr);
	if (rc == EINVAL && c->pin >= 0) {
		if (errlen)
			snprintf(err, errlen, "cannot pin sidecar cpu %u to host cpu %d (not allowed?)", c->k.vp_index,
				 c->pin);
		return -EINVAL;
	}
	if (rc) {
		if (errlen)
			snprintf(err, errlen, "cannot start sidecar cpu %u: %s", c->k.vp_index, strerror(rc));
		return -rc;
	}
	c->started = true;
	return 0;
}

int sidecar_uhost_cpu_join(struct sidecar_uhost_cpu *c, int64_t timeout_ns)
{
	int rc = 0;

	if (!c->started || atomic_load_explicit(&c->joined, memory_order_acquire))
		return 0;
	pthread_mutex_lock(&c->join_lock);
	if (!atomic_load_explicit(&c->joined, memory_order_relaxed)) {
		if (timeout_ns < 0) {
			rc = -pthread_join(c->thread, NULL);
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += timeout_ns / 1000000000;
			ts.tv_nsec += timeout_ns % 1000000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			rc = -pthread_timedjoin_np(c->thread, NULL, &ts);
		}
		/* Pairs with the acquire load above: the thread's work is visible. */
		if (rc == 0)
			atomic_store_explicit(&c->joined, true, memory_order_release);
	}
	pthread_mutex_unlock(&c->join_lock);
	return rc;
}

void sidecar_uhost_cpu_fini(struct sidecar_uhost_cpu *c)
{
	pthread_mutex_destroy(&c->join_lock);
}

uint8_t sidecar_uhost_maxphyaddr(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid(0x80000008, &a, &b, &c, &d))
		return (uint8_t)(a & 0xff);
	return 36;
}
