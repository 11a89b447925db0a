/* SPDX-License-Identifier: GPL-2.0 */
/* popcorn_msg internals: the node table, receive path, RPC and netlink. */
#ifndef _POPCORN_MSG_INTERNAL_H
#define _POPCORN_MSG_INTERNAL_H

#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/mutex.h>
#include <linux/semaphore.h>
#include <linux/sizes.h>
#include <linux/srcu.h>
#include <popcorn/msg.h>
#include <popcorn/transport.h>

/*
 * Partly received fragmented messages, per sending node. A sender keeps
 * at most this many fragmented messages in flight to one node, so a
 * correct peer never needs more.
 */
#define PCN_REASM_SLOTS	4
/* A slot keeps a buffer this large for the next message; larger go back. */
#define PCN_REASM_KEEP	SZ_1M

/*
 * Copies of messages queued for process-context handlers, per node: at
 * most this many, and this many bytes (one message of any size always
 * fits an empty queue). Beyond that, the node's records stay in the
 * transport.
 */
#define PCN_BACKLOG_MSGS	256
#define PCN_BACKLOG_BYTES	(8U << 20)

struct pcn_reasm {
	void *buf;
	u32 cap;		/* bytes at @buf */
	bool busy;		/* a message is under way */
	u32 seq;
	u32 len;
	u32 got;
	u16 type;
	u16 flags;
	u64 rpc_id;
};

struct pcn_node {
	int id;
	struct pcn_transport *t;
	void *link;
	char endpoint[64];

	spinlock_t lock;	/* up, link_up, peer_nonce */
	bool link_up;
	bool up;
	bool dead;		/* being deleted: senders give up */
	u64 peer_nonce;
	unsigned long last_rx;
	unsigned long last_tx;
	unsigned long last_hello;

	unsigned long last_restart;	/* the peer's nonce last changed */

	atomic_t seq;
	/* Fragmented messages in flight to the node: PCN_REASM_SLOTS. */
	struct semaphore frag_sem;
	/* Process-context handlers run here, in arrival order. */
	struct workqueue_struct *wq;
	/* What wq holds for us, against PCN_BACKLOG_*. */
	atomic_t backlog_msgs;
	atomic_t backlog_bytes;
	atomic_t backlog_peak;	/* most bytes ever queued */
	bool rx_refused;	/* the transport was told -EBUSY */
	/* Our requests in flight to the node, against half of PCN_BACKLOG_*. */
	atomic_t rpc_msgs;
	atomic_t rpc_bytes;
	wait_queue_head_t rpc_credit_wq;
	/* Only the node's receive path touches these. */
	struct pcn_reasm reasm[PCN_REASM_SLOTS];

	atomic64_t tx_msgs, tx_bytes, rx_msgs, rx_bytes, errors, rpc_timeouts;
	atomic64_t rx_throttled;	/* records left in the transport */
	struct rcu_head rcu;
};

/* Senders and receivers hold this while they use a struct pcn_node. */
extern struct srcu_struct pcn_node_srcu;
extern struct pcn_node __rcu *pcn_nodes[PCN_MAX_NODES];
extern struct mutex pcn_config_lock;
extern int pcn_self_id;
extern u64 pcn_self_nonce;

/* node.c */
struct pcn_node *pcn_node_get(int id);	/* under pcn_node_srcu */
int pcn_node_add(int id, const char *transport, const char *endpoint,
		 struct netlink_ext_ack *extack);
int pcn_node_del(int id, struct netlink_ext_ack *extack);
int pcn_self_set(int id, struct netlink_ext_ack *extack);
void pcn_node_handle_hello(struct pcn_node *node, const struct pcn_msg *msg);
int pcn_send_hello(struct pcn_node *node, u16 flags, u64 nonce);
void pcn_nodes_remove_all(void);
int pcn_heartbeat_init(void);
void pcn_heartbeat_exit(void);

/* msg.c */
int pcn_send(struct pcn_node *node, u16 type, u16 flags, u64 rpc_id,
	     const void *buf, size_t len, gfp_t gfp);
int pcn_msg_send_flags(int id, u16 type, u16 flags, u64 rpc_id,
		       const void *buf, size_t len, gfp_t gfp);
struct pcn_node *pcn_send_node(int id, u16 type, int *srcu_idx, int *err);
void pcn_handlers_exit(void);
void pcn_reasm_drop(struct pcn_node *node);

/* load.c */
struct pcn_load {
	u32 accept_queue;
	u32 established;
	u32 cpu_busy;	/* thousandths */
};

int pcn_load_init(void);
void pcn_load_exit(void);
int pcn_load_report(const struct pcn_load *l);
int pcn_load_get(int id, struct pcn_load *l, u32 *age_ms);
void pcn_load_forget(int id);

/* rpc.c */
int pcn_rpc_init(void);
void pcn_rpc_exit(void);
void pcn_rpc_complete(struct pcn_node *node, const struct pcn_msg *msg);
void pcn_rpc_fail_node(struct pcn_node *node);
unsigned long pcn_rpc_pending(void);

/* netlink.c */
int pcn_netlink_init(void);
void pcn_netlink_exit(void);
void pcn_netlink_notify(struct pcn_node *node);

/* selftest.c: echo and bench handlers, ping and bench operations */
int pcn_selftest_init(void);
void pcn_selftest_exit(void);
int pcn_ping(int node, u32 size, u32 timeout_ms, bool poll, u64 *ns);
int pcn_bench(int node, u32 count, u32 size, u64 *bytes, u64 *nsec);

/* debugfs.c */
int pcn_debugfs_init(void);
void pcn_debugfs_exit(void);

/* debug.c: test knobs of the debug variant (CONFIG_POPCORN_DEBUG) */
extern bool pcn_debug_echo_drop;
extern bool pcn_debug_rx_stop;
extern u32 pcn_debug_echo_delay_ms;
#ifdef CONFIG_POPCORN_DEBUG
int pcn_debug_init(struct dentry *dir);
void pcn_debug_exit(void);
#else
static inline int pcn_debug_init(struct dentry *dir) { return 0; }
static inline void pcn_debug_exit(void) {}
#endif

/* Reads a knob that exists only in the debug variant; false otherwise. */
#define pcn_debug_knob(x) (IS_ENABLED(CONFIG_POPCORN_DEBUG) && READ_ONCE(x))

#endif /* _POPCORN_MSG_INTERNAL_H */
