// SPDX-License-Identifier: GPL-2.0
/*
 * Test knobs of the debug variant (CONFIG_POPCORN_DEBUG), in debugfs:
 *
 * popcorn_shm/<pci-dev>/ring: writing "PEER VECTOR" rings that doorbell
 * of that peer; the transport rings doorbells itself.
 *
 * popcorn_shm/inject_corrupt: writing PEER sends that peer a malformed
 * ring record, to test how a kernel survives a bad peer.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/uaccess.h>

#include "ivshmem.h"
#include "transport.h"

/* Parse "A B", two unsigned numbers, written to a debugfs file. */
int pcn_debugfs_read_pair(const char __user *ubuf, size_t count, u32 *a, u32 *b)
{
	char buf[32];

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	return sscanf(buf, "%u %u", a, b) == 2 ? 0 : -EINVAL;
}

static ssize_t ring_write(struct file *file, const char __user *ubuf,
			  size_t count, loff_t *ppos)
{
	struct pcn_ivshmem *dev = file->private_data;
	u32 peer, vector;
	int err;

	err = pcn_debugfs_read_pair(ubuf, count, &peer, &vector);
	if (err)
		return err;
	if (peer > U16_MAX || vector > U16_MAX)
		return -ERANGE;

	err = pcn_shm_window_ring(&dev->win, peer, vector);
	return err ? err : count;
}

static const struct file_operations ring_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = ring_write,
};

void pcn_shm_debug_add_dev(struct pcn_ivshmem *dev)
{
	debugfs_create_file("ring", 0200, dev->debugfs, dev, &ring_fops);
}

static int inject_corrupt_set(void *data, u64 peer)
{
	return peer > U16_MAX ? -ERANGE : pcn_shm_inject_corrupt(peer);
}
DEFINE_DEBUGFS_ATTRIBUTE(inject_corrupt_fops, NULL, inject_corrupt_set, "%llu\n");

void pcn_shm_debug_init(struct dentry *root)
{
	debugfs_create_file_unsafe("inject_corrupt", 0200, root, NULL,
				   &inject_corrupt_fops);
}
