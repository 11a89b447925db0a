// SPDX-License-Identifier: GPL-2.0
/*
 * Sending and receiving messages: fragmentation to the transport's record
 * size, reassembly, checks on everything a peer wrote, and dispatch to the
 * registered handlers.
 */
#include <linux/bottom_half.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "internal.h"

/* How long a sender waits for room before it calls the link broken. */
#define PCN_SEND_TIMEOUT	(5 * HZ)

struct pcn_handler {
	pcn_msg_handler_t fn;
	void *priv;
	unsigned int flags;
};

DEFINE_STATIC_SRCU(pcn_handler_srcu);
static struct pcn_handler __rcu *pcn_handlers[PCN_MSG_MAX_TYPE + 1];
static DEFINE_MUTEX(pcn_handlers_lock);

int pcn_msg_register(u16 type, pcn_msg_handler_t fn, void *priv,
		     unsigned int flags)
{
	struct pcn_handler *h;
	int err = 0;

	if (type > PCN_MSG_MAX_TYPE || !fn || (flags & ~PCN_HANDLER_ATOMIC))
		return -EINVAL;
	h = kmalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	h->fn = fn;
	h->priv = priv;
	h->flags = flags;

	mutex_lock(&pcn_handlers_lock);
	if (rcu_access_pointer(pcn_handlers[type])) {
		err = -EBUSY;
		kfree(h);
	} else {
		rcu_assign_pointer(pcn_handlers[type], h);
	}
	mutex_unlock(&pcn_handlers_lock);
	return err;
}
EXPORT_SYMBOL_GPL(pcn_msg_register);

void pcn_msg_unregister(u16 type)
{
	struct pcn_handler *h;

	if (type > PCN_MSG_MAX_TYPE)
		return;
	mutex_lock(&pcn_handlers_lock);
	h = rcu_dereference_protected(pcn_handlers[type],
				      lockdep_is_held(&pcn_handlers_lock));
	RCU_INIT_POINTER(pcn_handlers[type], NULL);
	mutex_unlock(&pcn_handlers_lock);
	synchronize_srcu(&pcn_handler_srcu);
	kfree(h);
}
EXPORT_SYMBOL_GPL(pcn_msg_unregister);

void pcn_handlers_exit(void)
{
	int i;

	for (i = 0; i <= PCN_MSG_MAX_TYPE; i++)
		if (rcu_access_pointer(pcn_handlers[i]))
			pcn_msg_unregister(i);
}

static void pcn_fill_hdr(struct pcn_msg_hdr *hdr, struct pcn_node *node,
			 u16 type, u16 flags, u64 rpc_id, u32 seq, size_t len,
			 size_t off, size_t flen)
{
	hdr->type = cpu_to_le16(type);
	hdr->flags = cpu_to_le16(flags);
	hdr->src = READ_ONCE(pcn_self_id);
	hdr->dst = node->id;
	hdr->reserved = 0;
	hdr->seq = cpu_to_le32(seq);
	hdr->len = cpu_to_le32(len);
	hdr->rpc_id = cpu_to_le64(rpc_id);
	hdr->frag_off = cpu_to_le32(off);
	hdr->frag_len = cpu_to_le32(flen);
}

/* Reserve a record, waiting for room when @wait; 0 or a negative errno. */
static int pcn_reserve(struct pcn_node *node, size_t len,
		       struct pcn_msg_tx *tx, bool wait)
{
	unsigned long deadline = jiffies + PCN_SEND_TIMEOUT;
	unsigned int spins = 0;
	int err;

	for (;;) {
		err = node->t->reserve(node, len, tx);
		if (err != -ENOSPC || !wait)
			return err;
		if (READ_ONCE(node->dead))
			return -EHOSTDOWN;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		/* The receiver frees room in microseconds; yield, then nap. */
		if (++spins < 64)
			cond_resched();
		else
			usleep_range(50, 200);
	}
}

int pcn_send(struct pcn_node *node, u16 type, u16 flags, u64 rpc_id,
	     const void *buf, size_t len, bool wait)
{
	size_t frag = node->t->max_record(node) - sizeof(struct pcn_msg_hdr);
	u32 seq = atomic_inc_return(&node->seq);
	struct pcn_msg_tx tx;
	size_t off = 0, flen;
	int err;

	if (len > PCN_MSG_MAX_LEN)
		return -EMSGSIZE;
	/* Without waiting, half a message could go out: send one record or none. */
	if (!wait && len > frag)
		return -EWOULDBLOCK;
	do {
		flen = min(frag, len - off);
		err = pcn_reserve(node, sizeof(struct pcn_msg_hdr) + flen, &tx, wait);
		if (err) {
			/* A full ring is flow control for those who cannot wait. */
			if (err != -ENOSPC) {
				atomic64_inc(&node->errors);
				pr_warn_ratelimited("node %d: cannot send type %u: %d\n",
						    node->id, type, err);
			}
			return err;
		}
		pcn_fill_hdr(tx.rec, node, type, flags, rpc_id, seq, len, off, flen);
		if (flen)
			memcpy(tx.rec + sizeof(struct pcn_msg_hdr), buf + off, flen);
		node->t->commit(node, &tx, false);
		off += flen;
	} while (off < len);

	WRITE_ONCE(node->last_tx, jiffies);
	atomic64_inc(&node->tx_msgs);
	atomic64_add(len, &node->tx_bytes);
	return 0;
}

/* Resolve @id for sending; returns the node with pcn_node_srcu held. */
static struct pcn_node *pcn_send_node(int id, u16 type, int *srcu_idx, int *err)
{
	struct pcn_node *node;

	if (type > PCN_MSG_MAX_TYPE) {
		*err = -EINVAL;
		return NULL;
	}
	*srcu_idx = srcu_read_lock(&pcn_node_srcu);
	node = pcn_node_get(id);
	if (!node)
		*err = id == READ_ONCE(pcn_self_id) ? -EINVAL : -ENOENT;
	else if (!READ_ONCE(node->up))
		*err = -EHOSTDOWN;
	else
		return node;
	srcu_read_unlock(&pcn_node_srcu, *srcu_idx);
	return NULL;
}

int pcn_msg_send_flags(int id, u16 type, u16 flags, u64 rpc_id,
		       const void *buf, size_t len)
{
	struct pcn_node *node;
	int idx, err;

	node = pcn_send_node(id, type, &idx, &err);
	if (!node)
		return err;
	/* Atomic handlers and softirq callers cannot wait for room. */
	err = pcn_send(node, type, flags, rpc_id, buf, len, preemptible());
	srcu_read_unlock(&pcn_node_srcu, idx);
	return err;
}

int pcn_msg_send(int id, u16 type, const void *buf, size_t len)
{
	return pcn_msg_send_flags(id, type, 0, 0, buf, len);
}
EXPORT_SYMBOL_GPL(pcn_msg_send);

int pcn_msg_broadcast(u16 type, const void *buf, size_t len)
{
	int id, err, first = 0;

	for (id = 0; id < PCN_MAX_NODES; id++) {
		if (!pcn_node_is_up(id))
			continue;
		err = pcn_msg_send(id, type, buf, len);
		if (err && !first)
			first = err;
	}
	return first;
}
EXPORT_SYMBOL_GPL(pcn_msg_broadcast);

size_t pcn_msg_post_max(int id)
{
	struct pcn_node *node;
	size_t max = 0;
	int idx;

	idx = srcu_read_lock(&pcn_node_srcu);
	node = pcn_node_get(id);
	if (node)
		max = node->t->max_record(node) - sizeof(struct pcn_msg_hdr);
	srcu_read_unlock(&pcn_node_srcu, idx);
	return max;
}
EXPORT_SYMBOL_GPL(pcn_msg_post_max);

int pcn_msg_alloc(int id, u16 type, size_t len, struct pcn_msg_tx *tx)
{
	struct pcn_node *node;
	int idx, err;

	node = pcn_send_node(id, type, &idx, &err);
	if (!node)
		return err;
	if (len > node->t->max_record(node) - sizeof(struct pcn_msg_hdr)) {
		err = -EMSGSIZE;
		goto err_unlock;
	}
	err = node->t->reserve(node, sizeof(struct pcn_msg_hdr) + len, tx);
	if (err)
		goto err_unlock;
	pcn_fill_hdr(tx->rec, node, type, 0, 0, atomic_inc_return(&node->seq),
		     len, 0, len);
	tx->node = node;
	tx->payload = tx->rec + sizeof(struct pcn_msg_hdr);
	tx->srcu_idx = idx;
	return 0;

err_unlock:
	srcu_read_unlock(&pcn_node_srcu, idx);
	return err;
}
EXPORT_SYMBOL_GPL(pcn_msg_alloc);

void pcn_msg_post(struct pcn_msg_tx *tx)
{
	struct pcn_node *node = tx->node;

	node->t->commit(node, tx, false);
	WRITE_ONCE(node->last_tx, jiffies);
	atomic64_inc(&node->tx_msgs);
	/* tx->len is the transport's record: header and payload. */
	atomic64_add(tx->len - sizeof(struct pcn_msg_hdr), &node->tx_bytes);
	srcu_read_unlock(&pcn_node_srcu, tx->srcu_idx);
}
EXPORT_SYMBOL_GPL(pcn_msg_post);

void pcn_msg_abort(struct pcn_msg_tx *tx)
{
	tx->node->t->commit(tx->node, tx, true);
	srcu_read_unlock(&pcn_node_srcu, tx->srcu_idx);
}
EXPORT_SYMBOL_GPL(pcn_msg_abort);

/*
 * Nobody handles @msg's type: say so. The receive path (@node set) must
 * not wait for room, so there the answer goes only if the ring has room.
 */
static void pcn_reply_unhandled(struct pcn_node *node, const struct pcn_msg *msg)
{
	__le32 e = cpu_to_le32(EOPNOTSUPP);

	if (!node) {
		pcn_msg_reply_err(msg, -EOPNOTSUPP);
		return;
	}
	pcn_send(node, msg->type, PCN_MSG_F_REPLY | PCN_MSG_F_ERROR, msg->rpc_id,
		 &e, sizeof(e), false);
}

/* A message for a process-context handler, queued on its node. */
struct pcn_deferred {
	struct work_struct work;
	struct pcn_msg msg;
	u8 payload[];
};

/*
 * Run @msg's handler: atomic ones here (@node is the receive path's),
 * process-context ones only from the node's workqueue (@node NULL).
 */
static void pcn_run_handler(struct pcn_node *node, const struct pcn_msg *msg)
{
	bool deferred = !node;
	struct pcn_handler *h;
	int idx;

	idx = srcu_read_lock(&pcn_handler_srcu);
	h = srcu_dereference(pcn_handlers[msg->type], &pcn_handler_srcu);
	if (!h) {
		if (msg->flags & PCN_MSG_F_REQUEST)
			pcn_reply_unhandled(node, msg);
	} else if (h->flags & PCN_HANDLER_ATOMIC) {
		local_bh_disable();
		h->fn(msg, h->priv);
		local_bh_enable();
	} else if (deferred) {
		h->fn(msg, h->priv);
	}
	srcu_read_unlock(&pcn_handler_srcu, idx);
}

static void pcn_deferred_work(struct work_struct *work)
{
	struct pcn_deferred *d = container_of(work, struct pcn_deferred, work);

	pcn_run_handler(NULL, &d->msg);
	kvfree(d);
}

static bool pcn_handler_is_atomic(u16 type)
{
	struct pcn_handler *h;
	bool atomic;
	int idx;

	idx = srcu_read_lock(&pcn_handler_srcu);
	h = srcu_dereference(pcn_handlers[type], &pcn_handler_srcu);
	atomic = !h || (h->flags & PCN_HANDLER_ATOMIC);
	srcu_read_unlock(&pcn_handler_srcu, idx);
	return atomic;
}

/*
 * Atomic handlers run here, on the receive path. Others get a copy of the
 * message on the node's ordered workqueue, so a handler that sleeps (or
 * waits for room to reply) never stops the receive path, which is what
 * frees that room.
 */
static int pcn_dispatch(struct pcn_node *node, struct pcn_msg *msg)
{
	struct pcn_deferred *d = NULL;

	/* Before the hello, traffic belongs to a session that is gone. */
	if (msg->type != PCN_MSG_HELLO &&
	    (!READ_ONCE(node->up) || msg->type == PCN_MSG_HEARTBEAT))
		goto count;
	if (msg->type != PCN_MSG_HELLO && !(msg->flags & PCN_MSG_F_REPLY) &&
	    !pcn_handler_is_atomic(msg->type)) {
		d = kvmalloc(struct_size(d, payload, msg->len),
			     in_softirq() ? GFP_ATOMIC : GFP_KERNEL);
		if (!d) {
			if (in_softirq())
				return -EAGAIN;
			atomic64_inc(&node->errors);
			pr_warn_ratelimited("node %d: no memory to queue a message\n",
					    node->id);
			goto count;
		}
	}

	if (msg->type == PCN_MSG_HELLO) {
		pcn_node_handle_hello(node, msg);
	} else if (msg->flags & PCN_MSG_F_REPLY) {
		pcn_rpc_complete(node, msg);
	} else if (!d) {
		pcn_run_handler(node, msg);
	} else {
		INIT_WORK(&d->work, pcn_deferred_work);
		d->msg = *msg;
		d->msg.payload = d->payload;
		memcpy(d->payload, msg->payload, msg->len);
		queue_work(node->wq, &d->work);
	}
count:
	atomic64_inc(&node->rx_msgs);
	atomic64_add(msg->len, &node->rx_bytes);
	return 0;
}

static void pcn_reasm_free(struct pcn_reasm *r)
{
	kvfree(r->buf);
	r->buf = NULL;
}

void pcn_reasm_drop(struct pcn_node *node)
{
	int i;

	for (i = 0; i < PCN_REASM_SLOTS; i++)
		pcn_reasm_free(&node->reasm[i]);
}

void pcn_transport_rx_reset(struct pcn_node *node)
{
	pcn_reasm_drop(node);
}
EXPORT_SYMBOL_GPL(pcn_transport_rx_reset);

/*
 * Find the message fragment @hdr continues, or start one. A sender's
 * fragments arrive in order, but fragments of messages sent at once from
 * several CPUs interleave, hence several slots.
 */
static struct pcn_reasm *pcn_reasm_slot(struct pcn_node *node, u32 seq,
					u32 off, u32 len)
{
	struct pcn_reasm *r, *free = NULL;
	int i;

	for (i = 0; i < PCN_REASM_SLOTS; i++) {
		r = &node->reasm[i];
		if (r->buf && r->seq == seq)
			return r;
		if (!r->buf && !free)
			free = r;
	}
	if (off != 0)
		return NULL;	/* the start of this message was lost */
	if (!free) {
		/* Someone abandoned a message: make room. */
		free = &node->reasm[seq % PCN_REASM_SLOTS];
		pcn_reasm_free(free);
		atomic64_inc(&node->errors);
		pr_warn_ratelimited("node %d: too many partial messages, dropped one\n",
				    node->id);
	}
	free->buf = kvmalloc(len, GFP_KERNEL);
	if (!free->buf)
		return NULL;
	free->seq = seq;
	free->len = len;
	free->got = 0;
	return free;
}

int pcn_transport_deliver(struct pcn_node *node, const void *rec, size_t len,
			  void *scratch)
{
	struct pcn_msg_hdr hdr;
	struct pcn_msg msg;
	struct pcn_reasm *r;
	u32 total, off, flen;

	if (len < sizeof(hdr))
		goto bad;
	/* Copy first: the peer may rewrite the record while we look. */
	memcpy(&hdr, rec, sizeof(hdr));
	total = le32_to_cpu(hdr.len);
	off = le32_to_cpu(hdr.frag_off);
	flen = le32_to_cpu(hdr.frag_len);
	msg.type = le16_to_cpu(hdr.type);
	msg.flags = le16_to_cpu(hdr.flags);
	msg.src = hdr.src;
	msg.dst = hdr.dst;
	msg.rpc_id = le64_to_cpu(hdr.rpc_id);
	msg.len = total;

	if (flen != len - sizeof(hdr) || total > PCN_MSG_MAX_LEN ||
	    off > total || flen > total - off || msg.type > PCN_MSG_MAX_TYPE ||
	    (msg.flags & ~PCN_MSG_F_ALL) || msg.src != node->id ||
	    msg.dst != READ_ONCE(pcn_self_id))
		goto bad;
	WRITE_ONCE(node->last_rx, jiffies);

	if (off == 0 && flen == total) {
		memcpy(scratch, rec + sizeof(hdr), flen);
		msg.payload = scratch;
		return pcn_dispatch(node, &msg);
	}
	/* Reassembly allocates and may sleep. */
	if (in_softirq())
		return -EAGAIN;

	r = pcn_reasm_slot(node, le32_to_cpu(hdr.seq), off, total);
	if (!r || r->len != total || r->got != off) {
		if (r)
			pcn_reasm_free(r);
		goto bad;
	}
	if (off == 0) {
		r->type = msg.type;
		r->flags = msg.flags;
		r->rpc_id = msg.rpc_id;
	} else if (r->type != msg.type || r->flags != msg.flags ||
		   r->rpc_id != msg.rpc_id) {
		pcn_reasm_free(r);
		goto bad;
	}
	memcpy(r->buf + off, rec + sizeof(hdr), flen);
	r->got += flen;
	if (r->got < r->len)
		return 0;

	msg.payload = r->buf;
	pcn_dispatch(node, &msg);
	pcn_reasm_free(r);
	return 0;

bad:
	atomic64_inc(&node->errors);
	pr_warn_ratelimited("node %d: dropped a malformed record\n", node->id);
	return 0;
}
EXPORT_SYMBOL_GPL(pcn_transport_deliver);
