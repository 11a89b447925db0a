// SPDX-License-Identifier: GPL-2.0
/*
 * Load reports for Angel, the balancer of new connections
 * (Documentation/angel.rst). Each kernel's popcornd measures the service's
 * load there and hands it to its core (netlink load-set), which keeps it
 * as this node's and broadcasts it to every node that is up; each kernel
 * thus holds the latest load of every kernel, which the NIC owner's
 * popcornd reads (load-get) to steer. A node's load is forgotten when it
 * goes down. What a peer sends is checked before it is kept.
 */
#include <linux/jiffies.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <uapi/linux/popcorn.h>

#include "internal.h"

struct pcn_load_entry {
	struct pcn_load load;
	unsigned long stamp;	/* jiffies when it arrived */
	bool valid;
};

static DEFINE_SPINLOCK(pcn_load_lock);
static struct pcn_load_entry pcn_loads[PCN_MAX_NODES];

static void pcn_load_keep(int id, const struct pcn_load *l)
{
	spin_lock_bh(&pcn_load_lock);
	pcn_loads[id].load = *l;
	pcn_loads[id].stamp = jiffies;
	pcn_loads[id].valid = true;
	spin_unlock_bh(&pcn_load_lock);
}

void pcn_load_forget(int id)
{
	spin_lock_bh(&pcn_load_lock);
	pcn_loads[id].valid = false;
	spin_unlock_bh(&pcn_load_lock);
}

/**
 * pcn_load_get() - the latest load a node reported
 * @id: node id
 * @l: filled with the load
 * @age_ms: filled with how long ago it arrived
 *
 * Return: 0, or -ENOENT when the node reported none since it came up.
 */
int pcn_load_get(int id, struct pcn_load *l, u32 *age_ms)
{
	int err = -ENOENT;

	spin_lock_bh(&pcn_load_lock);
	if (pcn_loads[id].valid) {
		*l = pcn_loads[id].load;
		*age_ms = jiffies_to_msecs(jiffies - pcn_loads[id].stamp);
		err = 0;
	}
	spin_unlock_bh(&pcn_load_lock);
	return err;
}

/**
 * pcn_load_report() - this kernel's load: kept, and sent to every node up
 * @l: the load; cpu_busy in thousandths
 *
 * Never waits: a node whose transport is full misses this report;
 * the next one follows within a period.
 *
 * Return: 0, -ENOENT before this kernel has a node id, -EINVAL for an
 * impossible load.
 */
int pcn_load_report(const struct pcn_load *l)
{
	struct pcn_load_wire w = {
		.accept_queue = cpu_to_le32(l->accept_queue),
		.established = cpu_to_le32(l->established),
		.cpu_busy = cpu_to_le32(l->cpu_busy),
	};
	int self = READ_ONCE(pcn_self_id);

	if (self < 0)
		return -ENOENT;
	if (l->cpu_busy > POPCORN_LOAD_BUSY_MAX)
		return -EINVAL;
	pcn_load_keep(self, l);
	pcn_msg_broadcast(PCN_MSG_LOAD, &w, sizeof(w), GFP_ATOMIC);
	return 0;
}

/* Atomic: a peer's report, checked, then kept. */
static int pcn_load_rx(const struct pcn_msg *msg, void *priv)
{
	struct pcn_load_wire w;
	struct pcn_load l;

	if (msg->len != sizeof(w))
		goto bad;
	memcpy(&w, msg->payload, sizeof(w));
	l.accept_queue = le32_to_cpu(w.accept_queue);
	l.established = le32_to_cpu(w.established);
	l.cpu_busy = le32_to_cpu(w.cpu_busy);
	if (l.cpu_busy > POPCORN_LOAD_BUSY_MAX || w.reserved)
		goto bad;
	pcn_load_keep(msg->src, &l);
	return 0;
bad:
	atomic64_inc(&msg->node->errors);
	pr_warn_ratelimited("node %u: dropped a malformed load report\n", msg->src);
	return 0;
}

int pcn_load_init(void)
{
	return pcn_msg_register(PCN_MSG_LOAD, pcn_load_rx, NULL, PCN_HANDLER_ATOMIC);
}

void pcn_load_exit(void)
{
	pcn_msg_unregister(PCN_MSG_LOAD);
}
