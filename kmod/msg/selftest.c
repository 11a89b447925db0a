// SPDX-License-Identifier: GPL-2.0
/*
 * The core's own services, behind the netlink ping and bench commands:
 * an echo RPC whose reply must equal the request byte for byte, and a
 * sink that counts one-way messages until a sync RPC reads the count.
 */
#include <linux/delay.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "internal.h"

static atomic64_t pcn_bench_seen[PCN_MAX_NODES];
static atomic_t pcn_ping_calls;

/*
 * Echo replies from the receive path when the reply fits in the ring now,
 * which is the fast case ping measures; anything larger, or a full ring,
 * is answered again from process context, where it may wait for room.
 */
static int pcn_echo(const struct pcn_msg *msg, void *priv)
{
	int err;

	if (pcn_debug_knob(pcn_debug_echo_drop))
		return 0;	/* a node that stops answering */
	if (pcn_debug_knob(pcn_debug_echo_delay_ms)) {
		/* A slow node: its replies come after the caller gave up. */
		if (!gfpflags_allow_blocking(msg->gfp))
			return -EAGAIN;
		msleep(READ_ONCE(pcn_debug_echo_delay_ms));
	}
	err = pcn_msg_reply(msg, msg->payload, msg->len, msg->gfp);
	if ((err == -ENOSPC || err == -EWOULDBLOCK) &&
	    !gfpflags_allow_blocking(msg->gfp))
		return -EAGAIN;
	return 0;
}

static int pcn_bench_sink(const struct pcn_msg *msg, void *priv)
{
	atomic64_inc(&pcn_bench_seen[msg->src]);
	return 0;
}

static int pcn_bench_sync(const struct pcn_msg *msg, void *priv)
{
	__le64 seen = cpu_to_le64(atomic64_read(&pcn_bench_seen[msg->src]));

	pcn_msg_reply(msg, &seen, sizeof(seen), msg->gfp);
	return 0;
}

/*
 * Bytes that differ with position, size and call, so a misplaced copy, or
 * the reply to another call, shows.
 */
static void pcn_pattern(u8 *buf, u32 size, u32 call)
{
	u32 i;

	for (i = 0; i < size; i++)
		buf[i] = (u8)(i * 31 + (i >> 8) + size + call);
}

int pcn_ping(int node, u32 size, u32 timeout_ms, bool poll, u64 *ns)
{
	size_t got = size;
	u8 *req, *reply;
	ktime_t start;
	int err;

	req = kvmalloc(size ?: 1, GFP_KERNEL);
	reply = kvmalloc(size ?: 1, GFP_KERNEL);
	if (!req || !reply) {
		err = -ENOMEM;
		goto out;
	}
	pcn_pattern(req, size, atomic_inc_return(&pcn_ping_calls));
	memset(reply, 0, size);

	start = ktime_get();
	err = pcn_msg_rpc(node, PCN_MSG_ECHO, req, size, reply, &got,
			  msecs_to_jiffies(timeout_ms), poll ? PCN_RPC_POLL : 0);
	*ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	if (!err && (got != size || memcmp(req, reply, size)))
		err = -EBADMSG;
out:
	kvfree(req);
	kvfree(reply);
	return err;
}

static int pcn_bench_count(int node, u64 *seen)
{
	__le64 v;
	size_t len = sizeof(v);
	int err;

	err = pcn_msg_rpc(node, PCN_MSG_BENCH_SYNC, NULL, 0, &v, &len, 10 * HZ, 0);
	if (!err && len != sizeof(v))
		err = -EBADMSG;
	if (!err)
		*seen = le64_to_cpu(v);
	return err;
}

/*
 * One bench message: zero-copy through a buffer the transport lends when
 * the message fits in one record, else a copying send.
 */
static int pcn_bench_one(int node, const void *buf, u32 size, bool post)
{
	unsigned long deadline = jiffies + 5 * HZ;
	struct pcn_msg_tx tx;
	int err;

	if (!post)
		return pcn_msg_send(node, PCN_MSG_BENCH, buf, size, GFP_KERNEL);
	while ((err = pcn_msg_alloc(node, PCN_MSG_BENCH, size, &tx)) == -ENOSPC) {
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		cond_resched();
	}
	if (err)
		return err;
	memcpy(tx.payload, buf, size);
	pcn_msg_post(&tx);
	return 0;
}

int pcn_bench(int node, u32 count, u32 size, u64 *bytes, u64 *nsec)
{
	bool post = size <= pcn_msg_post_max(node);
	u64 before, after;
	ktime_t start;
	void *buf;
	u32 i;
	int err;

	buf = kvzalloc(size ?: 1, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	err = pcn_bench_count(node, &before);
	if (err)
		goto out;

	start = ktime_get();
	for (i = 0; i < count && !err; i++) {
		err = pcn_bench_one(node, buf, size, post);
		if (!err && signal_pending(current))
			err = -EINTR;
	}
	if (!err)
		err = pcn_bench_count(node, &after);
	*nsec = ktime_to_ns(ktime_sub(ktime_get(), start));
	/* Fewer seen than sent: lost. More: another bench ran alongside. */
	if (!err && after - before < count)
		err = -EPROTO;
	*bytes = (u64)count * size;
out:
	kvfree(buf);
	return err;
}

int pcn_selftest_init(void)
{
	int err;

	err = pcn_msg_register(PCN_MSG_ECHO, pcn_echo, NULL, PCN_HANDLER_ATOMIC);
	if (err)
		return err;
	err = pcn_msg_register(PCN_MSG_BENCH, pcn_bench_sink, NULL,
			       PCN_HANDLER_ATOMIC);
	if (err)
		goto err_echo;
	err = pcn_msg_register(PCN_MSG_BENCH_SYNC, pcn_bench_sync, NULL, 0);
	if (err)
		goto err_bench;
	return 0;

err_bench:
	pcn_msg_unregister(PCN_MSG_BENCH);
err_echo:
	pcn_msg_unregister(PCN_MSG_ECHO);
	return err;
}

void pcn_selftest_exit(void)
{
	pcn_msg_unregister(PCN_MSG_BENCH_SYNC);
	pcn_msg_unregister(PCN_MSG_BENCH);
	pcn_msg_unregister(PCN_MSG_ECHO);
}
