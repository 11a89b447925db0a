/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How a transport plugs into popcorn_msg. A transport carries records
 * (a struct pcn_msg_hdr then its payload) of up to @max_record bytes to one
 * node, in order, and hands received records to pcn_transport_deliver().
 */
#ifndef _POPCORN_TRANSPORT_H
#define _POPCORN_TRANSPORT_H

#include <linux/completion.h>
#include <linux/list.h>
#include <linux/netlink.h>
#include <popcorn/msg.h>

struct pcn_node;

struct pcn_transport_stats {
	u64 doorbells_rung;
	u64 doorbells_suppressed;
	u64 errors;
};

struct pcn_transport {
	const char *name;
	struct module *owner;

	/* Reach @node at @endpoint; the link comes up later, asynchronously. */
	int (*link_add)(struct pcn_node *node, const char *endpoint,
			struct netlink_ext_ack *extack);
	/* Tear the link down; no transport call for @node runs afterwards. */
	void (*link_del)(struct pcn_node *node);
	/* Start a new session: drop whatever is in flight in both directions. */
	void (*link_reset)(struct pcn_node *node);
	/* Largest record the link carries, header included. */
	size_t (*max_record)(struct pcn_node *node);
	/*
	 * Reserve room for a record of @len bytes and point tx->rec at it.
	 * Never sleeps: -ENOSPC means "full, try again", -ENOTCONN no link.
	 */
	int (*reserve)(struct pcn_node *node, size_t len, struct pcn_msg_tx *tx);
	/* Publish a reserved record; @abort turns it into padding. */
	void (*commit)(struct pcn_node *node, struct pcn_msg_tx *tx, bool abort);
	/*
	 * Optional, for RPC callers that wait by receiving themselves: between
	 * set_polling(true) and set_polling(false) the caller calls poll() to
	 * receive (at least from @node) in its own context, and either spins
	 * (@spin: no doorbells wanted) or sleeps in wait() until a doorbell.
	 */
	int (*poll)(struct pcn_node *node, int budget);
	void (*set_polling)(struct pcn_node *node, bool polling, bool spin);
	void (*wait)(struct pcn_node *node, long timeout, struct completion *done);
	/*
	 * Optional: receive up to @budget records from @node with bottom
	 * halves disabled, never sleeping (pcn_msg_poll()); while the
	 * caller polls @again, @node need ring no doorbell.
	 */
	int (*rx_poll)(struct pcn_node *node, int budget, bool again);
	/* Wake callers in wait(): an RPC of theirs finished elsewhere. */
	void (*wake)(struct pcn_node *node);
	/* The core takes records from @node again after refusing with -EBUSY. */
	void (*rx_resume)(struct pcn_node *node);
	void (*get_stats)(struct pcn_node *node, struct pcn_transport_stats *st);

	struct list_head list;	/* private to the core */
};

int pcn_transport_register(struct pcn_transport *t);
/* Deletes every node that uses @t. */
void pcn_transport_unregister(struct pcn_transport *t);

/* The transport's state for a node, set in link_add. */
void pcn_node_set_link(struct pcn_node *node, void *link);
void *pcn_node_link(struct pcn_node *node);
int pcn_node_id(struct pcn_node *node);

/* Link state changes and received records, from the transport. */
void pcn_transport_link_up(struct pcn_node *node);
void pcn_transport_link_down(struct pcn_node *node, int err);
/*
 * One received record of @len bytes at @rec, which may be memory the peer
 * can still write: the core copies before it trusts anything. @scratch is
 * max_record bytes the core may use, owned by the caller's receive path.
 * Called from a thread or from softirq; in softirq, -EAGAIN means the
 * record needs process context (a fragment, a large copy): leave it in
 * place and deliver it again from a thread. -EBUSY means the core holds
 * all it may for this node: leave the record in place, read nothing more
 * from the node until rx_resume() (or a later retry). Otherwise the record
 * is consumed (a malformed one is counted and dropped) and 0 returned.
 */
int pcn_transport_deliver(struct pcn_node *node, const void *rec, size_t len,
			  void *scratch);
/* The receive side started a new session: forget partial messages. */
void pcn_transport_rx_reset(struct pcn_node *node);
/* Wait until no sender or RPC caller is inside the transport's calls. */
void pcn_transport_sync(void);

#endif /* _POPCORN_TRANSPORT_H */
