// SPDX-License-Identifier: GPL-2.0
/*
 * Request/reply on top of messages. A waiter lives on its caller's stack
 * and sits in an xarray; whoever erases it from the xarray (the reply, the
 * node going down, or the timeout) owns finishing it, so a late reply can
 * never touch a waiter that already returned.
 *
 * An RPC id is a generation number above the waiter's index. Indexes are
 * the lowest free ones, so the xarray stays one node deep, and a reserved
 * index keeps that node allocated: a call allocates nothing. The
 * generation tells a late reply from one to the next call at its index.
 */
#include <linux/completion.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "internal.h"

struct pcn_rpc_wait {
	u64 id;
	int node;
	struct completion done;
	void *reply;
	size_t cap;
	size_t len;
	int status;
};

static DEFINE_XARRAY_FLAGS(pcn_rpcs, XA_FLAGS_ALLOC1 | XA_FLAGS_LOCK_BH);
/* Never handed out: it keeps the xarray's node, and so index 1, busy. */
#define PCN_RPC_PINNED	1
static u32 pcn_rpc_gen;

int pcn_rpc_init(void)
{
	return xa_reserve_bh(&pcn_rpcs, PCN_RPC_PINNED, GFP_KERNEL);
}

void pcn_rpc_exit(void)
{
	xa_destroy(&pcn_rpcs);
}

/* Publish @w under a new RPC id. */
static int pcn_rpc_add(struct pcn_rpc_wait *w)
{
	u32 idx;
	int err;

	xa_lock_bh(&pcn_rpcs);
	err = __xa_alloc(&pcn_rpcs, &idx, w, xa_limit_32b, GFP_KERNEL);
	if (!err)
		w->id = (u64)(++pcn_rpc_gen) << 32 | idx;
	xa_unlock_bh(&pcn_rpcs);
	return err;
}

/* Take @w back from the xarray: false if someone else took it first. */
static bool pcn_rpc_del(struct pcn_rpc_wait *w)
{
	return xa_erase_bh(&pcn_rpcs, (u32)w->id) == w;
}

unsigned long pcn_rpc_pending(void)
{
	struct pcn_rpc_wait *w;
	unsigned long id, n = 0;

	xa_for_each(&pcn_rpcs, id, w)
		n++;
	return n;
}

/* Sleep for the reply; false on timeout or a signal. */
static bool pcn_rpc_sleep(struct pcn_rpc_wait *w, unsigned long timeout)
{
	return wait_for_completion_interruptible_timeout(&w->done, timeout) > 0;
}

/*
 * Wait for the reply by receiving in this context: spinning (@spin), or
 * sleeping until the transport's doorbell between rounds. Either way no
 * other thread sits between the reply and its caller. A signal ends the
 * wait as a timeout does.
 */
static bool pcn_rpc_poll(struct pcn_node *node, struct pcn_rpc_wait *w,
			 unsigned long timeout, bool spin)
{
	unsigned long deadline = jiffies + timeout;
	struct pcn_transport *t = node->t;
	long left;

	while (!completion_done(&w->done) && !signal_pending(current)) {
		left = (long)(deadline - jiffies);
		if (left <= 0)
			break;
		/* A sleeper's reply is hardly there yet: wait, then receive. */
		if (!spin)
			t->wait(node, left, &w->done);
		if (t->poll(node, 64) > 0 || !spin)
			continue;
		cond_resched();
		cpu_relax();
	}
	return completion_done(&w->done);
}

/* Transports that can receive in the caller's context do. */
static bool pcn_rpc_can_poll(struct pcn_node *node)
{
	return node->t->poll && node->t->set_polling && node->t->wait;
}

/*
 * Credits: an honest sender keeps no more requests in flight to a node
 * than half of what that node queues for process context. The receiver
 * then never stops reading us, so replies always get through, even with
 * both kernels calling each other at once; only a peer that ignores this
 * is pushed back. One request of any size may always be in flight.
 */
static bool pcn_rpc_credit_take(struct pcn_node *node, u32 len)
{
	int msgs = atomic_inc_return(&node->rpc_msgs);
	int bytes = atomic_add_return(len, &node->rpc_bytes);

	if (msgs == 1 || (msgs <= PCN_BACKLOG_MSGS / 2 &&
			  bytes <= PCN_BACKLOG_BYTES / 2))
		return true;
	atomic_dec(&node->rpc_msgs);
	atomic_sub(len, &node->rpc_bytes);
	return false;
}

static void pcn_rpc_credit_put(struct pcn_node *node, u32 len)
{
	atomic_dec(&node->rpc_msgs);
	atomic_sub(len, &node->rpc_bytes);
	if (wq_has_sleeper(&node->rpc_credit_wq))
		wake_up(&node->rpc_credit_wq);
}

/* Wait for a credit, or for the node to go down (the send then fails). */
static int pcn_rpc_credit_wait(struct pcn_node *node, u32 len,
			       unsigned long timeout, bool *taken)
{
	long left;

	left = wait_event_interruptible_timeout(node->rpc_credit_wq,
						(*taken = pcn_rpc_credit_take(node, len)) ||
						!READ_ONCE(node->up), timeout);
	if (left < 0)
		return -EINTR;
	return left ? 0 : -ETIMEDOUT;
}

static int pcn_rpc_call(struct pcn_node *node, u16 type, const void *req,
			size_t req_len, void *reply, size_t *reply_len,
			unsigned long timeout, unsigned int flags)
{
	struct pcn_rpc_wait w = {
		.node = node->id,
		.reply = reply,
		.cap = reply_len ? *reply_len : 0,
	};
	bool spin = flags & PCN_RPC_POLL;
	bool poll = pcn_rpc_can_poll(node);
	bool done;
	int err;

	init_completion(&w.done);
	err = pcn_rpc_add(&w);
	if (err)
		return err;
	/* Before the request: its reply must find us polling. */
	if (poll)
		node->t->set_polling(node, true, spin);
	err = pcn_send(node, type, PCN_MSG_F_REQUEST, w.id, req, req_len,
		       GFP_KERNEL);
	if (err)
		done = false;
	else if (poll)
		done = pcn_rpc_poll(node, &w, timeout, spin);
	else
		done = pcn_rpc_sleep(&w, timeout);
	if (poll)
		node->t->set_polling(node, false, spin);
	if (err) {
		/* A reply (to a half-sent request) may be finishing with us. */
		if (!pcn_rpc_del(&w))
			wait_for_completion(&w.done);
		return err;
	}

	if (!done) {
		if (pcn_rpc_del(&w)) {
			/* Nobody answered: the waiter is ours to finish. */
			if (signal_pending(current))
				return -EINTR;
			atomic64_inc(&node->rpc_timeouts);
			return -ETIMEDOUT;
		}
		/* A reply or a node failure took it; it completes us shortly. */
		wait_for_completion(&w.done);
	}
	if (reply_len)
		*reply_len = w.len;
	return w.status;
}

int pcn_msg_rpc(int node, u16 type, const void *req, size_t req_len,
		void *reply, size_t *reply_len, unsigned long timeout,
		unsigned int flags)
{
	unsigned long start = jiffies;
	bool taken = false;
	struct pcn_node *n;
	int idx, err;

	if (flags & ~PCN_RPC_F_ALL)
		return -EINVAL;
	if (req_len > PCN_MSG_MAX_LEN)
		return -EMSGSIZE;
	/*
	 * The node is resolved once and held to the end: the credit belongs
	 * to this node, not to one added later under the same id.
	 */
	n = pcn_send_node(node, type, &idx, &err);
	if (!n)
		return err;
	err = pcn_rpc_credit_wait(n, req_len, timeout, &taken);
	if (err == -ETIMEDOUT)
		atomic64_inc(&n->rpc_timeouts);
	if (!err)
		err = pcn_rpc_call(n, type, req, req_len, reply, reply_len,
				   timeout - min(timeout, jiffies - start), flags);
	if (taken)
		pcn_rpc_credit_put(n, req_len);
	srcu_read_unlock(&pcn_node_srcu, idx);
	return err;
}
EXPORT_SYMBOL_GPL(pcn_msg_rpc);

/* Callers asleep in the transport's wait() do not sleep on the completion. */
static void pcn_rpc_wake(struct pcn_node *node)
{
	if (node->t->wake)
		node->t->wake(node);
}

void pcn_rpc_complete(struct pcn_node *node, const struct pcn_msg *msg)
{
	struct pcn_rpc_wait *w;

	xa_lock_bh(&pcn_rpcs);
	w = xa_load(&pcn_rpcs, (u32)msg->rpc_id);
	/* Only the node we asked may answer, and only this call. */
	if (w && w->id == msg->rpc_id && w->node == node->id)
		__xa_erase(&pcn_rpcs, (u32)msg->rpc_id);
	else
		w = NULL;
	xa_unlock_bh(&pcn_rpcs);
	if (!w)
		return;	/* late: the caller timed out */

	if (msg->flags & PCN_MSG_F_ERROR) {
		__le32 err;

		if (msg->len == sizeof(err)) {
			memcpy(&err, msg->payload, sizeof(err));
			w->status = -(int)clamp_t(u32, le32_to_cpu(err), 1, MAX_ERRNO);
		} else {
			w->status = -EBADMSG;
		}
	} else if (msg->len > w->cap) {
		w->status = -EMSGSIZE;
		w->len = msg->len;
	} else {
		memcpy(w->reply, msg->payload, msg->len);
		w->len = msg->len;
		w->status = 0;
	}
	complete(&w->done);
	pcn_rpc_wake(node);
}

void pcn_rpc_fail_node(struct pcn_node *node)
{
	struct pcn_rpc_wait *w;
	unsigned long id;

	xa_lock_bh(&pcn_rpcs);
	xa_for_each(&pcn_rpcs, id, w) {
		if (w->node != node->id)
			continue;
		__xa_erase(&pcn_rpcs, id);
		w->status = -EHOSTDOWN;
		complete(&w->done);
	}
	xa_unlock_bh(&pcn_rpcs);
	pcn_rpc_wake(node);
	wake_up_all(&node->rpc_credit_wq);
}

/* On the receive path the node is at hand; elsewhere, look it up. */
static int pcn_reply(const struct pcn_msg *req, u16 flags, const void *buf,
		     size_t len, gfp_t gfp)
{
	if (!req->node)
		return pcn_msg_send_flags(req->src, req->type, flags, req->rpc_id,
					  buf, len, gfp);
	if (!READ_ONCE(req->node->up))
		return -EHOSTDOWN;
	return pcn_send(req->node, req->type, flags, req->rpc_id, buf, len, gfp);
}

int pcn_msg_reply(const struct pcn_msg *req, const void *buf, size_t len,
		  gfp_t gfp)
{
	if (!(req->flags & PCN_MSG_F_REQUEST))
		return -EINVAL;
	return pcn_reply(req, PCN_MSG_F_REPLY, buf, len, gfp);
}
EXPORT_SYMBOL_GPL(pcn_msg_reply);

int pcn_msg_reply_err(const struct pcn_msg *req, int err, gfp_t gfp)
{
	__le32 e = cpu_to_le32(-err);

	if (!(req->flags & PCN_MSG_F_REQUEST) || err >= 0)
		return -EINVAL;
	return pcn_reply(req, PCN_MSG_F_REPLY | PCN_MSG_F_ERROR, &e, sizeof(e), gfp);
}
EXPORT_SYMBOL_GPL(pcn_msg_reply_err);
