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
/* How long a sender spins for room before it naps. */
#define PCN_SEND_SPIN_US	200

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
	ktime_t spin_until = 0;
	int err;

	for (;;) {
		err = node->t->reserve(node, len, tx);
		if (err != -ENOSPC || !wait)
			return err;
		if (READ_ONCE(node->dead))
			return -EHOSTDOWN;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		/*
		 * A reading peer frees a record's room in about the time we
		 * took to fill it: spin that long, so a streaming sender keeps
		 * the ring full, then nap.
		 */
		if (!spin_until)
			spin_until = ktime_add_us(ktime_get(), PCN_SEND_SPIN_US);
		if (ktime_before(ktime_get(), spin_until)) {
			cond_resched();
			cpu_relax();
		} else {
			usleep_range(50, 200);
		}
	}
}

/* One record: @flen bytes of @buf's message, from @off. */
static int pcn_send_record(struct pcn_node *node, u16 type, u16 flags,
			   u64 rpc_id, u32 seq, const void *buf, size_t len,
			   size_t off, size_t flen, bool wait)
{
	struct pcn_msg_tx tx;
	int err;

	err = pcn_reserve(node, sizeof(struct pcn_msg_hdr) + flen, &tx, wait);
	if (err)
		return err;
	pcn_fill_hdr(tx.rec, node, type, flags, rpc_id, seq, len, off, flen);
	if (flen)
		memcpy(tx.rec + sizeof(struct pcn_msg_hdr), buf + off, flen);
	node->t->commit(node, &tx, false);
	return 0;
}

/*
 * A message in fragments of @frag bytes. The receiver reassembles at most
 * PCN_REASM_SLOTS messages from us at once, so no more are in flight; one
 * we cannot finish leaves a part with the receiver, which only a new
 * session makes it forget.
 */
static int pcn_send_frags(struct pcn_node *node, u16 type, u16 flags,
			  u64 rpc_id, u32 seq, const void *buf, size_t len,
			  size_t frag)
{
	size_t off = 0, flen;
	int err = 0;

	if (down_timeout(&node->frag_sem, PCN_SEND_TIMEOUT))
		return -ETIMEDOUT;
	while (off < len && !err) {
		flen = min(frag, len - off);
		err = pcn_send_record(node, type, flags, rpc_id, seq, buf, len,
				      off, flen, true);
		if (err && off)
			node->t->link_reset(node);
		off += flen;
	}
	up(&node->frag_sem);
	return err;
}

int pcn_send(struct pcn_node *node, u16 type, u16 flags, u64 rpc_id,
	     const void *buf, size_t len, gfp_t gfp)
{
	size_t frag = node->t->max_record(node) - sizeof(struct pcn_msg_hdr);
	bool wait = gfpflags_allow_blocking(gfp);
	u32 seq;
	int err;

	if (len > PCN_MSG_MAX_LEN)
		return -EMSGSIZE;
	/* Without waiting, half a message could go out: send one record or none. */
	if (!wait && len > frag)
		return -EWOULDBLOCK;
	seq = atomic_inc_return(&node->seq);
	if (len <= frag)
		err = pcn_send_record(node, type, flags, rpc_id, seq, buf, len,
				      0, len, wait);
	else
		err = pcn_send_frags(node, type, flags, rpc_id, seq, buf, len,
				     frag);
	if (err) {
		/* A full ring is flow control for those who cannot wait. */
		if (err != -ENOSPC) {
			atomic64_inc(&node->errors);
			pr_warn_ratelimited("node %d: cannot send type %u: %d\n",
					    node->id, type, err);
		}
		return err;
	}
	WRITE_ONCE(node->last_tx, jiffies);
	atomic64_inc(&node->tx_msgs);
	atomic64_add(len, &node->tx_bytes);
	return 0;
}

/* Resolve @id for sending; returns the node with pcn_node_srcu held. */
struct pcn_node *pcn_send_node(int id, u16 type, int *srcu_idx, int *err)
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
		       const void *buf, size_t len, gfp_t gfp)
{
	struct pcn_node *node;
	int idx, err;

	node = pcn_send_node(id, type, &idx, &err);
	if (!node)
		return err;
	err = pcn_send(node, type, flags, rpc_id, buf, len, gfp);
	srcu_read_unlock(&pcn_node_srcu, idx);
	return err;
}

int pcn_msg_send(int id, u16 type, const void *buf, size_t len, gfp_t gfp)
{
	return pcn_msg_send_flags(id, type, 0, 0, buf, len, gfp);
}
EXPORT_SYMBOL_GPL(pcn_msg_send);

int pcn_msg_poll(int id, int budget, bool again)
{
	struct pcn_node *node;
	int idx, n = 0;

	lockdep_assert_in_softirq();
	idx = srcu_read_lock(&pcn_node_srcu);
	node = pcn_node_get(id);
	if (node && node->t->rx_poll)
		n = node->t->rx_poll(node, budget, again);
	srcu_read_unlock(&pcn_node_srcu, idx);
	return n;
}
EXPORT_SYMBOL_GPL(pcn_msg_poll);

int pcn_msg_broadcast(u16 type, const void *buf, size_t len, gfp_t gfp)
{
	int id, err, first = 0;

	for (id = 0; id < PCN_MAX_NODES; id++) {
		if (!pcn_node_is_up(id))
			continue;
		err = pcn_msg_send(id, type, buf, len, gfp);
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

/* A message for a process-context handler, queued on its node. */
struct pcn_deferred {
	struct work_struct work;
	struct pcn_node *node;
	struct pcn_msg msg;
	u8 payload[];
};

static void pcn_backlog_sub(struct pcn_node *node, u32 len)
{
	atomic_dec(&node->backlog_msgs);
	atomic_sub(len, &node->backlog_bytes);
}

/* Count @len bytes into @node's backlog, if it has room. */
static bool pcn_backlog_take(struct pcn_node *node, u32 len)
{
	int msgs = atomic_inc_return(&node->backlog_msgs);
	int bytes = atomic_add_return(len, &node->backlog_bytes);
	int peak = atomic_read(&node->backlog_peak);

	/* One message of any size must get through an empty backlog. */
	if (msgs > 1 && (msgs > PCN_BACKLOG_MSGS || bytes > PCN_BACKLOG_BYTES)) {
		pcn_backlog_sub(node, len);
		return false;
	}
	while (bytes > peak && !atomic_try_cmpxchg(&node->backlog_peak, &peak, bytes))
		;
	return true;
}

/*
 * Tell the transport that @node's records stay where they are for now;
 * the backlog draining (or the transport's own retry) resumes them.
 */
static int pcn_rx_refuse(struct pcn_node *node)
{
	WRITE_ONCE(node->rx_refused, true);
	atomic64_inc(&node->rx_throttled);
	return -EBUSY;
}

static void pcn_backlog_put(struct pcn_node *node, u32 len)
{
	int idx;

	pcn_backlog_sub(node, len);
	if (!READ_ONCE(node->rx_refused))
		return;
	WRITE_ONCE(node->rx_refused, false);
	/* A node being removed has no link to resume once it is unpublished. */
	idx = srcu_read_lock(&pcn_node_srcu);
	if (pcn_node_get(node->id) == node && node->t->rx_resume)
		node->t->rx_resume(node);
	srcu_read_unlock(&pcn_node_srcu, idx);
}

/* Process context: the handler of a queued message, if it still has one. */
static void pcn_deferred_work(struct work_struct *work)
{
	struct pcn_deferred *d = container_of(work, struct pcn_deferred, work);
	struct pcn_handler *h;
	int idx;

	d->msg.gfp = GFP_KERNEL;
	/* Off the receive path, a reply looks the node up again. */
	d->msg.node = NULL;
	idx = srcu_read_lock(&pcn_handler_srcu);
	h = srcu_dereference(pcn_handlers[d->msg.type], &pcn_handler_srcu);
	if (h)
		h->fn(&d->msg, h->priv);
	else if (d->msg.flags & PCN_MSG_F_REQUEST)
		pcn_msg_reply_err(&d->msg, -EOPNOTSUPP, GFP_KERNEL);
	srcu_read_unlock(&pcn_handler_srcu, idx);
	pcn_backlog_put(d->node, d->msg.len);
	kvfree(d);
}

/* Queue a copy of @msg for process context, within @node's backlog. */
static int pcn_defer(struct pcn_node *node, const struct pcn_msg *msg)
{
	bool atomic = in_softirq();
	struct pcn_deferred *d;

	if (!pcn_backlog_take(node, msg->len))
		return pcn_rx_refuse(node);
	d = kvmalloc(struct_size(d, payload, msg->len),
		     atomic ? GFP_ATOMIC : GFP_KERNEL);
	if (!d) {
		pcn_backlog_sub(node, msg->len);
		/* The receive thread tries again with GFP_KERNEL, then later. */
		return atomic ? -EAGAIN : pcn_rx_refuse(node);
	}
	INIT_WORK(&d->work, pcn_deferred_work);
	d->node = node;
	d->msg = *msg;
	d->msg.payload = d->payload;
	memcpy(d->payload, msg->payload, msg->len);
	queue_work(node->wq, &d->work);
	return 0;
}

/*
 * On the receive path: an atomic handler runs here; a process-context one,
 * or an atomic one that asks for it (-EAGAIN), gets a queued copy. Nobody
 * handling a request is said to its sender, if the ring has room now.
 */
static int pcn_handle(struct pcn_node *node, struct pcn_msg *msg)
{
	__le32 e = cpu_to_le32(EOPNOTSUPP);
	struct pcn_handler *h;
	int idx, err = -EAGAIN;

	idx = srcu_read_lock(&pcn_handler_srcu);
	h = srcu_dereference(pcn_handlers[msg->type], &pcn_handler_srcu);
	if (!h) {
		if (msg->flags & PCN_MSG_F_REQUEST)
			pcn_send(node, msg->type, PCN_MSG_F_REPLY | PCN_MSG_F_ERROR,
				 msg->rpc_id, &e, sizeof(e), GFP_ATOMIC);
		err = 0;
	} else if (h->flags & PCN_HANDLER_ATOMIC) {
		msg->gfp = GFP_ATOMIC;
		local_bh_disable();
		err = h->fn(msg, h->priv);
		local_bh_enable();
	}
	srcu_read_unlock(&pcn_handler_srcu, idx);
	return err == -EAGAIN ? pcn_defer(node, msg) : 0;
}

/*
 * 0 once @msg is taken care of; -EAGAIN or -EBUSY leave its record in the
 * transport (see pcn_transport_deliver()).
 */
static int pcn_dispatch(struct pcn_node *node, struct pcn_msg *msg)
{
	int err = 0;

	if (msg->type == PCN_MSG_HELLO)
		pcn_node_handle_hello(node, msg);
	else if (!READ_ONCE(node->up) || msg->type == PCN_MSG_HEARTBEAT)
		;	/* a session that is gone, or only a sign of life */
	else if (msg->flags & PCN_MSG_F_REPLY)
		pcn_rpc_complete(node, msg);
	else
		err = pcn_handle(node, msg);
	if (err)
		return err;
	atomic64_inc(&node->rx_msgs);
	atomic64_add(msg->len, &node->rx_bytes);
	return 0;
}

/* Free the slot; its buffer stays for the next message if small enough. */
static void pcn_reasm_done(struct pcn_reasm *r, bool keep)
{
	r->busy = false;
	if (keep && r->cap <= PCN_REASM_KEEP)
		return;
	kvfree(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

void pcn_reasm_drop(struct pcn_node *node)
{
	int i;

	for (i = 0; i < PCN_REASM_SLOTS; i++)
		pcn_reasm_done(&node->reasm[i], false);
}

/* Start a message of @len bytes in slot @r, reusing its buffer if it fits. */
static bool pcn_reasm_start(struct pcn_reasm *r, u32 seq, u32 len)
{
	if (r->cap < len) {
		pcn_reasm_done(r, false);
		r->buf = kvmalloc(len, GFP_KERNEL);
		if (!r->buf)
			return false;
		r->cap = len;
	}
	r->busy = true;
	r->seq = seq;
	r->len = len;
	r->got = 0;
	return true;
}

void pcn_transport_rx_reset(struct pcn_node *node)
{
	pcn_reasm_drop(node);
}
EXPORT_SYMBOL_GPL(pcn_transport_rx_reset);

/*
 * Find the message fragment @hdr continues, or start one. A sender's
 * fragments arrive in order, but fragments of messages sent at once from
 * several CPUs interleave, hence several slots. A sender keeps no more
 * in flight than there are slots: one that does is broken, and its new
 * message is dropped, never one already under way.
 */
static struct pcn_reasm *pcn_reasm_slot(struct pcn_node *node, u32 seq,
					u32 off, u32 len)
{
	struct pcn_reasm *r, *free = NULL;
	int i;

	for (i = 0; i < PCN_REASM_SLOTS; i++) {
		r = &node->reasm[i];
		if (r->busy && r->seq == seq)
			return r;
		if (!r->busy && !free)
			free = r;
	}
	if (off != 0)
		return NULL;	/* the start of this message was lost */
	if (!free) {
		pr_warn_ratelimited("node %d: more partial messages than we reassemble\n",
				    node->id);
		return NULL;
	}
	return pcn_reasm_start(free, seq, len) ? free : NULL;
}

int pcn_transport_deliver(struct pcn_node *node, const void *rec, size_t len,
			  void *scratch)
{
	struct pcn_msg_hdr hdr;
	struct pcn_msg msg;
	struct pcn_reasm *r;
	u32 total, off, flen;
	int err;

	if (pcn_debug_knob(pcn_debug_rx_stop))
		return -EBUSY;
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
	/* The receive path keeps the node and its link alive. */
	msg.node = node;

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
			pcn_reasm_done(r, true);
		goto bad;
	}
	if (off == 0) {
		r->type = msg.type;
		r->flags = msg.flags;
		r->rpc_id = msg.rpc_id;
	} else if (r->type != msg.type || r->flags != msg.flags ||
		   r->rpc_id != msg.rpc_id) {
		pcn_reasm_done(r, true);
		goto bad;
	}
	memcpy(r->buf + off, rec + sizeof(hdr), flen);
	r->got += flen;
	if (r->got < r->len)
		return 0;

	msg.payload = r->buf;
	err = pcn_dispatch(node, &msg);
	if (err) {
		/* The last fragment stays in the ring and comes again. */
		r->got -= flen;
		return err;
	}
	pcn_reasm_done(r, true);
	return 0;

bad:
	atomic64_inc(&node->errors);
	pr_warn_ratelimited("node %d: dropped a malformed record\n", node->id);
	return 0;
}
EXPORT_SYMBOL_GPL(pcn_transport_deliver);
