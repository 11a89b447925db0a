// SPDX-License-Identifier: GPL-2.0
/*
 * Raw doorbell round trips between two kernels, for comparing the
 * transport's doorbell mode with what the hardware (here QEMU) costs:
 *
 *   peer B:  echo 0 > .../doorbell_echo        ring peer 0 back on vector 1
 *   peer A:  echo "1 1000" > .../doorbell_rtt  1000 round trips to peer 1
 *            cat .../doorbell_rtt              count=1000 p50_ns=... p99_ns=...
 */
#include <linux/debugfs.h>
#include <linux/ktime.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "ivshmem.h"

#define PCN_BENCH_MAX_COUNT	100000

void pcn_doorbell_bench_init(struct pcn_ivshmem *dev)
{
	mutex_init(&dev->bench.lock);
	init_completion(&dev->bench.pong);
	dev->bench.echo_peer = -1;
}

/* Hard-irq context: answer a ping, or take the answer to ours. */
void pcn_doorbell_bench_irq(struct pcn_ivshmem *dev)
{
	int peer = READ_ONCE(dev->bench.echo_peer);

	if (peer >= 0)
		pcn_shm_window_ring(&dev->win, peer, PCN_IVSHMEM_BENCH_VECTOR);
	else
		complete(&dev->bench.pong);
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static int pcn_doorbell_rtt(struct pcn_ivshmem *dev, u32 peer, u32 count)
{
	u64 *ns;
	ktime_t t;
	u32 i;
	int err = 0;

	ns = kvmalloc_array(count, sizeof(*ns), GFP_KERNEL);
	if (!ns)
		return -ENOMEM;
	for (i = 0; i < count && !err; i++) {
		reinit_completion(&dev->bench.pong);
		t = ktime_get();
		err = pcn_shm_window_ring(&dev->win, peer, PCN_IVSHMEM_BENCH_VECTOR);
		if (!err && !wait_for_completion_timeout(&dev->bench.pong, HZ))
			err = -ETIMEDOUT;
		ns[i] = ktime_to_ns(ktime_sub(ktime_get(), t));
	}
	if (!err) {
		sort(ns, count, sizeof(*ns), cmp_u64, NULL);
		dev->bench.count = count;
		dev->bench.p50_ns = ns[(count - 1) / 2];
		dev->bench.p99_ns = ns[(count * 99 + 99) / 100 - 1];
	}
	kvfree(ns);
	return err;
}

static ssize_t rtt_write(struct file *file, const char __user *ubuf,
			 size_t len, loff_t *ppos)
{
	struct pcn_ivshmem *dev = file_inode(file)->i_private;
	u32 peer, count;
	int err;

	err = pcn_debugfs_read_pair(ubuf, len, &peer, &count);
	if (err)
		return err;
	if (peer > U16_MAX || !count || count > PCN_BENCH_MAX_COUNT)
		return -ERANGE;
	if (dev->win.nr_vectors <= PCN_IVSHMEM_BENCH_VECTOR)
		return -EOPNOTSUPP;
	mutex_lock(&dev->bench.lock);
	err = pcn_doorbell_rtt(dev, peer, count);
	mutex_unlock(&dev->bench.lock);
	return err ? err : len;
}

static int rtt_show(struct seq_file *m, void *v)
{
	struct pcn_ivshmem *dev = m->private;

	seq_printf(m, "count=%u p50_ns=%llu p99_ns=%llu\n", dev->bench.count,
		   dev->bench.p50_ns, dev->bench.p99_ns);
	return 0;
}

static int rtt_open(struct inode *inode, struct file *file)
{
	return single_open(file, rtt_show, inode->i_private);
}

static const struct file_operations rtt_fops = {
	.owner = THIS_MODULE,
	.open = rtt_open,
	.read = seq_read,
	.write = rtt_write,
	.llseek = seq_lseek,
	.release = single_release,
};

static int echo_get(void *data, u64 *val)
{
	struct pcn_ivshmem *dev = data;

	*val = (u64)(s64)READ_ONCE(dev->bench.echo_peer);
	return 0;
}

static int echo_set(void *data, u64 val)
{
	struct pcn_ivshmem *dev = data;
	s64 peer = (s64)val;

	if (peer < -1 || peer > U16_MAX)
		return -ERANGE;
	WRITE_ONCE(dev->bench.echo_peer, (int)peer);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(echo_fops, echo_get, echo_set, "%lld\n");

void pcn_doorbell_bench_debugfs(struct pcn_ivshmem *dev)
{
	debugfs_create_file("doorbell_rtt", 0600, dev->debugfs, dev, &rtt_fops);
	debugfs_create_file_unsafe("doorbell_echo", 0600, dev->debugfs, dev,
				   &echo_fops);
}
