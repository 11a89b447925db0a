// SPDX-License-Identifier: GPL-2.0
/*
 * Test knobs of the debug variant (CONFIG_POPCORN_DEBUG), under
 * /sys/kernel/debug/popcorn_msg/. They make this kernel behave as a buggy
 * or hostile peer would, so tests can show the others survive it:
 *
 *   echo_drop    1: ignore echo requests (a peer that stops answering)
 *   echo_delay_ms  N: answer echo requests N ms late, one at a time
 *   rx_stop      1: take nothing from any node (a peer that stops reading)
 *   flood        "NODE TYPE COUNT SIZE": send COUNT requests of TYPE and
 *                SIZE bytes, never reading the replies; waits for room as
 *                any sender does, so it fails once the peer pushes back
 *   hello_flood  "NODE COUNT": COUNT hellos, each with a new boot nonce
 *   abort        "NODE COUNT": COUNT zero-copy sends given back with
 *                pcn_msg_abort(), of sizes that make the ring wrap
 *   readd        NODE: delete the node and add it again at once, faster
 *                than its peer notices
 *   barrier      "NODE STEP": tell NODE we reached STEP, and wait (up to a
 *                minute) until it says it reached STEP too
 */
#include <linux/debugfs.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "internal.h"

bool pcn_debug_echo_drop;
bool pcn_debug_rx_stop;
u32 pcn_debug_echo_delay_ms;

#define PCN_BARRIER_TIMEOUT	(60 * HZ)
#define PCN_BARRIER_RESEND	(HZ / 2)

static u32 pcn_barrier_seen[PCN_MAX_NODES];
static DECLARE_WAIT_QUEUE_HEAD(pcn_barrier_wq);

/* Parse up to @n unsigned numbers written to a knob; how many were read. */
static int pcn_debug_parse(const char __user *ubuf, size_t count, u32 *v, int n)
{
	char buf[64];
	int got;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	got = sscanf(buf, "%u %u %u %u", &v[0], &v[1], &v[2], &v[3]);
	return got == n ? 0 : -EINVAL;
}

/* Run @fn on node @id with the node table held, as the core's senders do. */
static int pcn_debug_on_node(u32 id, int (*fn)(struct pcn_node *, u32 *),
			     u32 *args)
{
	struct pcn_node *node;
	int idx, err;

	idx = srcu_read_lock(&pcn_node_srcu);
	node = pcn_node_get(id);
	err = node ? fn(node, args) : -ENOENT;
	srcu_read_unlock(&pcn_node_srcu, idx);
	return err;
}

/* After one round of a knob's loop: a full ring is no failure, a signal ends it. */
static int pcn_debug_next(int err)
{
	if (err == -ENOSPC) {
		cond_resched();
		err = 0;
	}
	return !err && signal_pending(current) ? -EINTR : err;
}

static int pcn_debug_flood(struct pcn_node *node, u32 *a)
{
	u32 type = a[1], count = a[2], size = a[3], i;
	void *buf;
	int err = 0;

	if (type > PCN_MSG_MAX_TYPE || size > PCN_MSG_MAX_LEN)
		return -EINVAL;
	buf = kvzalloc(size ?: 1, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	/* RPC id 0 is never waited for: the replies are dropped unread. */
	for (i = 0; i < count && !err; i++)
		err = pcn_debug_next(pcn_send(node, type, PCN_MSG_F_REQUEST, 0,
					      buf, size, GFP_KERNEL));
	kvfree(buf);
	return err;
}

static int pcn_debug_hello_flood(struct pcn_node *node, u32 *a)
{
	u32 i;
	int err = 0;

	for (i = 0; i < a[1] && !err; i++)
		err = pcn_debug_next(pcn_send_hello(node, 0, get_random_u64()));
	return err;
}

static int pcn_debug_abort(struct pcn_node *node, u32 *a)
{
	size_t max = pcn_msg_post_max(node->id);
	struct pcn_msg_tx tx;
	u32 i;
	int err = 0;

	for (i = 0; i < a[1] && !err; i++) {
		/* Sizes from none to the largest, so some aborts follow padding. */
		err = pcn_msg_alloc(node->id, PCN_MSG_BENCH, (i * 4099) % (max + 1), &tx);
		if (!err)
			pcn_msg_abort(&tx);
		err = pcn_debug_next(err);
	}
	return err;
}

static int pcn_barrier_handler(const struct pcn_msg *msg, void *priv)
{
	__le32 step;

	if (msg->len != sizeof(step))
		return 0;
	memcpy(&step, msg->payload, sizeof(step));
	WRITE_ONCE(pcn_barrier_seen[msg->src],
		   max(READ_ONCE(pcn_barrier_seen[msg->src]), le32_to_cpu(step)));
	wake_up_all(&pcn_barrier_wq);
	return 0;
}

static bool pcn_barrier_reached(u32 node, u32 step)
{
	return READ_ONCE(pcn_barrier_seen[node]) >= step;
}

/*
 * Tell node a[0] we reached step a[1]; resend while waiting: the peer may
 * not be up yet, or have missed it.
 */
static int pcn_debug_barrier(u32 *a)
{
	u32 node = a[0], step = a[1];
	unsigned long deadline = jiffies + PCN_BARRIER_TIMEOUT;
	__le32 s = cpu_to_le32(step);
	long left;

	if (node >= PCN_MAX_NODES)
		return -EINVAL;
	for (;;) {
		pcn_msg_send(node, PCN_MSG_TEST_BARRIER, &s, sizeof(s), GFP_KERNEL);
		left = wait_event_interruptible_timeout(pcn_barrier_wq,
							pcn_barrier_reached(node, step),
							PCN_BARRIER_RESEND);
		if (left > 0)
			break;
		if (left < 0)
			return left;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
	}
	/* Our last word may have been lost: say it once more. */
	pcn_msg_send(node, PCN_MSG_TEST_BARRIER, &s, sizeof(s), GFP_KERNEL);
	return 0;
}

/* Delete node a[0] and add it back with its transport and endpoint. */
static int pcn_debug_readd(u32 *a)
{
	u32 id = a[0];
	char transport[16], endpoint[sizeof_field(struct pcn_node, endpoint)];
	struct pcn_node *node;
	int idx, err;

	idx = srcu_read_lock(&pcn_node_srcu);
	node = pcn_node_get(id);
	if (node) {
		strscpy(transport, node->t->name, sizeof(transport));
		strscpy(endpoint, node->endpoint, sizeof(endpoint));
	}
	srcu_read_unlock(&pcn_node_srcu, idx);
	if (!node)
		return -ENOENT;
	err = pcn_node_del(id, NULL);
	return err ?: pcn_node_add(id, transport, endpoint, NULL);
}

/* A knob: @nargs numbers, for @fn, or for @node_fn on node args[0]. */
struct pcn_debug_knob {
	const char *name;
	int nargs;
	int (*fn)(u32 *args);
	int (*node_fn)(struct pcn_node *node, u32 *args);
};

static const struct pcn_debug_knob pcn_debug_knobs[] = {
	{ "flood", 4, .node_fn = pcn_debug_flood },
	{ "hello_flood", 2, .node_fn = pcn_debug_hello_flood },
	{ "abort", 2, .node_fn = pcn_debug_abort },
	{ "readd", 1, .fn = pcn_debug_readd },
	{ "barrier", 2, .fn = pcn_debug_barrier },
};

static ssize_t knob_write(struct file *file, const char __user *ubuf,
			  size_t count, loff_t *ppos)
{
	const struct pcn_debug_knob *k = file->private_data;
	u32 a[4];
	int err;

	err = pcn_debug_parse(ubuf, count, a, k->nargs);
	if (!err)
		err = k->node_fn ? pcn_debug_on_node(a[0], k->node_fn, a) : k->fn(a);
	return err ? err : count;
}

static const struct file_operations knob_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = knob_write,
};

/* Self-tests of the debug variant: one that fails, fails the load. */
static int pcn_debug_selftest(void)
{
	if (pcn_msg_rpc(0, PCN_MSG_ECHO, NULL, 0, NULL, NULL, 1,
			~PCN_RPC_F_ALL) != -EINVAL) {
		pr_err("selftest: pcn_msg_rpc() took unknown flags\n");
		return -EINVAL;
	}
	return 0;
}

int pcn_debug_init(struct dentry *dir)
{
	int i, err;

	err = pcn_debug_selftest();
	if (err)
		return err;
	debugfs_create_bool("echo_drop", 0600, dir, &pcn_debug_echo_drop);
	debugfs_create_bool("rx_stop", 0600, dir, &pcn_debug_rx_stop);
	debugfs_create_u32("echo_delay_ms", 0600, dir, &pcn_debug_echo_delay_ms);
	for (i = 0; i < ARRAY_SIZE(pcn_debug_knobs); i++)
		debugfs_create_file(pcn_debug_knobs[i].name, 0200, dir,
				    (void *)&pcn_debug_knobs[i], &knob_fops);
	return pcn_msg_register(PCN_MSG_TEST_BARRIER, pcn_barrier_handler, NULL,
				PCN_HANDLER_ATOMIC);
}

void pcn_debug_exit(void)
{
	pcn_msg_unregister(PCN_MSG_TEST_BARRIER);
}
