/* SPDX-License-Identifier: GPL-2.0 */
/*
 * popcorn_tcp: the messaging core's records over kernel TCP sockets, one
 * connection per node. The node with the lower id connects; the other
 * accepts on its listener. A connection starts with a hello each way,
 * then carries frames: a __le32 length and one record of the core.
 */
#ifndef _POPCORN_TCP_H
#define _POPCORN_TCP_H

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/spinlock.h>
#include <linux/uio.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <popcorn/transport.h>

#define PCN_TCP_MAGIC		0x54434e50	/* "PCNT" */
#define PCN_TCP_VERSION		1
#define PCN_TCP_DEFAULT_PORT	7373

/* Largest record a frame carries, the core's header included. */
#define PCN_TCP_MAX_RECORD	(64 * 1024)

/* Frames the sender hands to one sendmsg, at most. */
#define PCN_TCP_TX_BATCH	64

/* The connecting side sends a hello; the accepting side answers with one. */
struct pcn_tcp_hello {
	__le32 magic;		/* PCN_TCP_MAGIC */
	__le16 version;		/* PCN_TCP_VERSION */
	__le16 flags;		/* PCN_TCP_HELLO_F_* */
	__le32 from;		/* the sender's node id */
	__le32 to;		/* the node id the sender takes the receiver for */
	__le32 status;		/* in an answer: 0, or the positive errno refusing */
	__le32 reserved;	/* zero */
};

#define PCN_TCP_HELLO_F_ANSWER	0x1

/* Frame header: the record's length, 1..PCN_TCP_MAX_RECORD. */
struct pcn_tcp_frame {
	__le32 len;
};

/*
 * Records waiting to be sent, in a ring of bytes that reserve() carves
 * without sleeping: each entry is a __u32 state then the frame as it goes
 * on the wire, padded to 8 bytes. Positions run freely; size is a power
 * of two.
 */
struct pcn_tcp_txbuf {
	spinlock_t lock;	/* head, tail, ready; the states at head */
	void *mem;
	u32 size;
	u32 head;		/* next reservation */
	u32 tail;		/* first entry not yet sent */
	bool ready;		/* a session is up: reservations allowed */
	atomic_t inflight;	/* reservations not yet committed */
	wait_queue_head_t wq;	/* the sender waits here for committed entries */
};

struct pcn_tcp_link {
	struct pcn_node *node;
	int id;
	struct sockaddr_storage addr;	/* the node's listener */
	int addrlen;
	char endpoint[64];

	struct pcn_tcp_txbuf tx;
	struct task_struct *rx_thread;	/* connects, receives, owns sessions */
	struct task_struct *tx_thread;
	struct kvec tx_vec[PCN_TCP_TX_BATCH];	/* the sender's */

	struct mutex sock_lock;		/* @sock for the sender */
	struct socket *sock;		/* the session's connection */
	struct socket *pending;		/* accepted and greeted, under pcn_tcp.lock */
	unsigned long flags;		/* PCN_TCP_RESET, PCN_TCP_RESUME */
	wait_queue_head_t rx_wq;

	void *rx_buf;			/* one record */
	void *scratch;			/* the core's, PCN_TCP_MAX_RECORD bytes */
	atomic64_t errors, sessions, tx_bytes, rx_bytes;
};

#define PCN_TCP_RESET	0	/* the core wants a new session */
#define PCN_TCP_RESUME	1	/* the core takes records again */

struct pcn_tcp_stats {
	atomic64_t accepted;	/* connections handed to a node */
	atomic64_t refused;	/* connections closed during their hello */
	atomic64_t bad_frames;	/* sessions ended by a frame that made no sense */
	atomic64_t connect_failed;
};

struct pcn_tcp {
	struct mutex lock;	/* links[], and hand-overs of accepted sockets */
	struct pcn_tcp_link *links[PCN_MAX_NODES];
	struct pcn_tcp_stats stats;
};

extern struct pcn_tcp pcn_tcp;

/* sock.c */
int pcn_tcp_parse_endpoint(const char *s, struct sockaddr_storage *ss,
			   int *len, u16 default_port);
bool pcn_tcp_same_host(const struct sockaddr_storage *a,
		       const struct sockaddr_storage *b);
void pcn_tcp_sock_tune(struct socket *sock, long timeout);
int pcn_tcp_recv(struct socket *sock, void *buf, size_t len,
		 bool (*stop)(void *), void *arg);
int pcn_tcp_send(struct socket *sock, struct kvec *vec, size_t nr,
		 size_t len, bool (*stop)(void *), void *arg);
void pcn_tcp_hello_fill(struct pcn_tcp_hello *h, u32 from, u32 to,
			u16 flags, u32 status);
int pcn_tcp_hello_check(const struct pcn_tcp_hello *h, u32 self);

/* txbuf.c */
int pcn_tcp_txbuf_init(struct pcn_tcp_txbuf *tx, u32 size);
void pcn_tcp_txbuf_free(struct pcn_tcp_txbuf *tx);
int pcn_tcp_reserve(struct pcn_node *node, size_t len, struct pcn_msg_tx *tx);
void pcn_tcp_commit(struct pcn_node *node, struct pcn_msg_tx *tx, bool abort);
void pcn_tcp_txbuf_start(struct pcn_tcp_txbuf *tx);
void pcn_tcp_txbuf_stop(struct pcn_tcp_txbuf *tx);
int pcn_tcp_tx_thread(void *data);

/* link.c */
extern unsigned int pcn_tcp_tx_kb;
int pcn_tcp_link_add(struct pcn_node *node, const char *endpoint,
		     struct netlink_ext_ack *extack);
void pcn_tcp_link_del(struct pcn_node *node);
void pcn_tcp_link_reset(struct pcn_node *node);
void pcn_tcp_rx_resume(struct pcn_node *node);

/* listen.c */
extern unsigned short pcn_tcp_port;
int pcn_tcp_listen_start(void);
void pcn_tcp_listen_stop(void);

/* debugfs.c */
void pcn_tcp_debugfs_init(void);
void pcn_tcp_debugfs_exit(void);

#endif /* _POPCORN_TCP_H */
