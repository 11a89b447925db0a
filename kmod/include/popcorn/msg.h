/* SPDX-License-Identifier: GPL-2.0 */
/*
 * popcorn_msg: typed messages between kernels.
 *
 * Nodes are numbered 0..PCN_MAX_NODES-1; one of them is this kernel
 * (pcn_msg_self()). Messages to one node arrive in the order they were
 * sent by one thread, whole, from 0 bytes to PCN_MSG_MAX_LEN; the core
 * splits large ones into fragments for the transport.
 *
 * Contexts: the caller says whether a send may sleep. With GFP_KERNEL,
 * pcn_msg_send() and its kin wait for room in the transport (up to a few
 * seconds); with GFP_ATOMIC they never sleep, fail with -ENOSPC when the
 * transport is full and with -EWOULDBLOCK for a message larger than one
 * transport record. pcn_msg_rpc() always sleeps. pcn_msg_alloc() and
 * pcn_msg_post() never sleep and may be used from any context.
 *
 * A handler registered with PCN_HANDLER_ATOMIC runs on the transport's
 * receive path (softirq, or a thread with bottom halves disabled): it
 * must not sleep, and replies with msg->gfp (GFP_ATOMIC there). If it
 * cannot finish there (no room to reply, a reply too large to send
 * without waiting), it returns -EAGAIN before doing anything, and is
 * called again from process context with msg->gfp == GFP_KERNEL. Any other
 * handler runs in process context, on its node's ordered workqueue, with
 * a copy of the message, and may sleep.
 *
 * What a peer can make us hold is bounded: when a node's queue of copies
 * for process context is full, its messages stay in the transport until
 * the queue drains, so the back-pressure lands on the sender.
 */
#ifndef _POPCORN_MSG_H
#define _POPCORN_MSG_H

#include <linux/gfp.h>
#include <linux/types.h>
#include <popcorn/wire.h>

struct pcn_node;

#define PCN_MAX_NODES		64
#define PCN_MSG_MAX_LEN		(4U << 20)

/* A received message, valid for the duration of the handler. */
struct pcn_msg {
	u16 type;
	u16 flags;
	u8 src;
	u8 dst;
	u64 rpc_id;
	u32 len;
	void *payload;
	gfp_t gfp;	/* what the handler may reply or allocate with */
	struct pcn_node *node;	/* private to the core */
};

typedef int (*pcn_msg_handler_t)(const struct pcn_msg *msg, void *priv);

#define PCN_HANDLER_ATOMIC	0x1

int pcn_msg_register(u16 type, pcn_msg_handler_t fn, void *priv,
		     unsigned int flags);
/* Returns once no handler call for @type is running. */
void pcn_msg_unregister(u16 type);

/* This kernel's node id, or -1 before it was configured. */
int pcn_msg_self(void);
bool pcn_node_is_up(int node);

/*
 * Nodes going up and down, for modules that follow their peers: called
 * with the event and the node id as data, in any context (an atomic
 * notifier chain). A module registers, then reads pcn_node_is_up() for
 * the state before it registered.
 */
enum pcn_node_event {
	PCN_NODE_UP,
	PCN_NODE_DOWN,
};

struct notifier_block;
int pcn_msg_register_notifier(struct notifier_block *nb);
int pcn_msg_unregister_notifier(struct notifier_block *nb);

int pcn_msg_send(int node, u16 type, const void *buf, size_t len, gfp_t gfp);

/*
 * Receive up to @budget records that @node sent and are waiting in its
 * transport, now, in the caller's context with bottom halves disabled
 * (a NAPI poll, busy-polled for a socket): atomic handlers run before it
 * returns, what needs process context is left to the transport's thread.
 * @again: the caller polls again soon (a socket's busy poll), so @node
 * need not ring a doorbell for what it sends meanwhile; the last call of
 * a busy poll passes false and doorbells resume.
 * Returns how many records were taken; 0 when the transport cannot poll.
 */
int pcn_msg_poll(int node, int budget, bool again);
int pcn_msg_broadcast(u16 type, const void *buf, size_t len, gfp_t gfp);

/*
 * Zero-copy send of up to pcn_msg_post_max(node) bytes: pcn_msg_alloc()
 * lends a buffer inside the transport, which pcn_msg_post() sends or
 * pcn_msg_abort() gives back. Exactly one of the two must follow.
 */
struct pcn_msg_tx {
	void *payload;
	/* private to the core and the transport */
	struct pcn_node *node;
	void *rec;
	size_t len;
	u32 idx;
	u32 slots;
	int srcu_idx;
};

size_t pcn_msg_post_max(int node);
int pcn_msg_alloc(int node, u16 type, size_t len, struct pcn_msg_tx *tx);
void pcn_msg_post(struct pcn_msg_tx *tx);
void pcn_msg_abort(struct pcn_msg_tx *tx);

/*
 * Send a request and wait up to @timeout jiffies for its reply, copied into
 * @reply (at most *@reply_len bytes; *@reply_len is set to the reply's
 * length). Fails with -ETIMEDOUT, -EHOSTDOWN as soon as the node goes down,
 * -EMSGSIZE if the reply did not fit, -EINTR on a signal, -EINVAL for
 * unknown @flags, or the errno the handler replied.
 */
#define PCN_RPC_POLL	0x1	/* busy-poll for the reply instead of sleeping */
#define PCN_RPC_F_ALL	PCN_RPC_POLL
int pcn_msg_rpc(int node, u16 type, const void *req, size_t req_len,
		void *reply, size_t *reply_len, unsigned long timeout,
		unsigned int flags);

/*
 * Answer a request from its handler, usually with req->gfp;
 * pcn_msg_reply_err() sends an errno.
 */
int pcn_msg_reply(const struct pcn_msg *req, const void *buf, size_t len,
		  gfp_t gfp);
int pcn_msg_reply_err(const struct pcn_msg *req, int err, gfp_t gfp);

#endif /* _POPCORN_MSG_H */
