// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The misc devices, /dev/mshv_vtl_sidecar<node>, with upstream's file interface
 * (<sidecar/uapi.h>): START/STOP/RUN take the CPU number as the ioctl argument itself; INFO
 * fills struct mshv_vtl_sidecar_info; read() returns one finished CPU number (4 bytes) per
 * call, -EAGAIN with O_NONBLOCK when none; poll() is readable while one is pending; mmap()
 * maps exactly all per-CPU shared pages of the node, at offset 0, shared. libsidecar's
 * extension (FAST_INFO, CLAIM_DIRECT, RELEASE_DIRECT, KICK, WAIT, WAKE, SET_EVENTFD, ECHO) is
 * direct.c. Every argument is
 * checked: a bad CPU is -EINVAL, an unknown ioctl -ENOTTY, a read shorter than 4 bytes
 * -EINVAL, an mmap of another size or offset, private or executable, -EINVAL or -EPERM.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "sidecar_drv.h"

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/vmalloc.h>

/* Open files' ids: a claim's owner. Never reused (64 bits, one per open). */
static atomic64_t sidecar_next_file_id = ATOMIC64_INIT(0);

static struct sidecar_node *node_of_misc(struct miscdevice *misc)
{
	return container_of(misc, struct sidecar_node, misc);
}

static int sidecar_open(struct inode *inode, struct file *file)
{
	/* misc_open() left our struct miscdevice here. */
	struct sidecar_node *n = node_of_misc(file->private_data);
	struct sidecar_file *f;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	f->node = n;
	f->id = atomic64_inc_return(&sidecar_next_file_id);
	file->private_data = f;
	atomic_inc(&n->open_files);
	/* read() has no position; no seeking. */
	return stream_open(inode, file);
}

static int sidecar_release(struct inode *inode, struct file *file)
{
	struct sidecar_file *f = file->private_data;

	sidecar_node_release_file(f);
	atomic_dec(&f->node->open_files);
	kfree(f);
	return 0;
}

static long sidecar_info(struct sidecar_file *f, void __user *arg)
{
	struct mshv_vtl_sidecar_info info = {
		.base_cpu = f->node->base_cpu,
		.cpu_count = f->node->cpu_count,
		.per_cpu_shmem = sizeof(struct sidecar_vp_shared_pages),
	};

	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long sidecar_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct sidecar_file *f = file->private_data;

	/* With fast=0 the device is upstream's: the extension's numbers are unknown ioctls. */
	if (_IOC_TYPE(cmd) == MSHV_VTL_SIDECAR_IOCTL && _IOC_NR(cmd) >= 0xe0 &&
	    _IOC_NR(cmd) <= 0xe7 && !sidecar_fast_enabled)
		return -ENOTTY;
	switch (cmd) {
	case MSHV_VTL_SIDECAR_START:
		return sidecar_node_start(f, arg);
	case MSHV_VTL_SIDECAR_STOP:
		return sidecar_node_stop(f, arg);
	case MSHV_VTL_SIDECAR_RUN:
		return sidecar_node_run(f, arg);
	case MSHV_VTL_SIDECAR_INFO:
		return sidecar_info(f, (void __user *)arg);
	/* libsidecar's extension (direct.c). */
	case MSHV_VTL_SIDECAR_FAST_INFO:
		return sidecar_fast_info(f, (void __user *)arg);
	case MSHV_VTL_SIDECAR_CLAIM_DIRECT:
		return sidecar_direct_claim(f, arg);
	case MSHV_VTL_SIDECAR_RELEASE_DIRECT:
		return sidecar_direct_release(f, arg);
	case MSHV_VTL_SIDECAR_KICK:
		return sidecar_direct_kick(f, arg);
	case MSHV_VTL_SIDECAR_WAIT:
		return sidecar_direct_wait(f, (void __user *)arg);
	case MSHV_VTL_SIDECAR_WAKE:
		return sidecar_direct_wake(f, arg);
	case MSHV_VTL_SIDECAR_SET_EVENTFD:
		return sidecar_direct_set_eventfd(f, (void __user *)arg);
	case MSHV_VTL_SIDECAR_ECHO:
		return sidecar_direct_echo(f, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static ssize_t sidecar_read(struct file *file, char __user *buf, size_t len, loff_t *ppos)
{
	struct sidecar_file *f = file->private_data;
	int rc;

	if (len < sizeof(u32))
		return -EINVAL;
	rc = sidecar_node_read(f, (u32 __user *)buf, file->f_flags & O_NONBLOCK);
	return rc ? rc : sizeof(u32);
}

static __poll_t sidecar_poll(struct file *file, poll_table *wait)
{
	struct sidecar_file *f = file->private_data;

	poll_wait(file, &f->node->wq, wait);
	return sidecar_node_pending(f) ? EPOLLIN | EPOLLRDNORM : 0;
}

static int sidecar_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct sidecar_file *f = file->private_data;
	struct sidecar_node *n = f->node;

	if (vma->vm_pgoff != 0 || vma->vm_end - vma->vm_start != n->shmem_size)
		return -EINVAL;
	/* Shared memory with the sidecar CPUs: a private copy would see none of it. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_clear(vma, VM_MAYEXEC);
#else
	vma->vm_flags &= ~VM_MAYEXEC;
#endif
	/* Sets VM_DONTEXPAND | VM_DONTDUMP: the mapping can neither grow nor be dumped. */
	return remap_vmalloc_range(vma, n->shmem, 0);
}

static const struct file_operations sidecar_fops = {
	.owner = THIS_MODULE,
	.open = sidecar_open,
	.release = sidecar_release,
	.read = sidecar_read,
	.poll = sidecar_poll,
	.unlocked_ioctl = sidecar_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = sidecar_mmap,
};

int sidecar_devices_register(struct sidecar_platform *p)
{
	u32 i;
	int rc;

	for (i = 0; i < p->node_count; i++) {
		struct sidecar_node *n = p->nodes[i];

		snprintf(n->name, sizeof(n->name), "mshv_vtl_sidecar%u", n->index);
		n->misc.minor = MISC_DYNAMIC_MINOR;
		n->misc.name = n->name;
		n->misc.fops = &sidecar_fops;
		n->misc.mode = 0600;
		n->misc.groups = sidecar_node_groups;
		rc = misc_register(&n->misc);
		if (rc) {
			pr_err("cannot register %s: %d\n", n->name, rc);
			sidecar_devices_unregister(p);
			return rc;
		}
		n->registered = true;
	}
	return 0;
}

void sidecar_devices_unregister(struct sidecar_platform *p)
{
	u32 i;

	for (i = 0; i < p->node_count; i++) {
		if (p->nodes[i]->registered)
			misc_deregister(&p->nodes[i]->misc);
		p->nodes[i]->registered = false;
	}
}
