/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What crosses between kernels, whatever the transport: the message header
 * and the message types of the core. All fields are little endian.
 */
#ifndef _POPCORN_WIRE_H
#define _POPCORN_WIRE_H

#include <linux/types.h>
#include <uapi/linux/virtio_net.h>

#define PCN_PROTO_MAGIC		0x50434e4d	/* "PCNM" */
#define PCN_PROTO_VERSION	1

/* Every message starts with this header, then hdr.frag_len payload bytes. */
struct pcn_msg_hdr {
	__le16 type;
	__le16 flags;		/* PCN_MSG_F_* */
	__u8 src;		/* sending node */
	__u8 dst;		/* receiving node */
	__le16 reserved;	/* zero */
	__le32 seq;		/* per-pair message number; names fragments */
	__le32 len;		/* payload bytes of the whole message */
	__le64 rpc_id;		/* requests and replies only */
	__le32 frag_off;	/* where this fragment's payload starts */
	__le32 frag_len;	/* payload bytes in this fragment */
};

#define PCN_MSG_F_REQUEST	0x0001	/* an RPC request: expects a reply */
#define PCN_MSG_F_REPLY		0x0002	/* an RPC reply, to rpc_id */
#define PCN_MSG_F_ERROR		0x0004	/* reply payload is a __le32 errno */
#define PCN_MSG_F_ALL		0x0007

/* Message types 0..63 belong to the core; other modules start at 64. */
enum pcn_msg_type {
	PCN_MSG_HELLO = 1,	/* struct pcn_hello, on link up */
	PCN_MSG_HEARTBEAT = 2,	/* empty, when a link is idle */
	PCN_MSG_ECHO = 3,	/* RPC: the reply is the request */
	PCN_MSG_BENCH = 4,	/* counted and dropped */
	PCN_MSG_BENCH_SYNC = 5,	/* RPC: replies once every BENCH before it was seen */
	PCN_MSG_LOAD = 6,	/* struct pcn_load_wire: the sender's load, for Angel */
	PCN_MSG_TEST_BARRIER = 63,	/* __le32 step; debug variant's test barrier */
	PCN_MSG_FIRST_USER = 64,
	PCN_MSG_SNAPBEAN_FRAME = 64,	/* struct pcn_sb_frame, then an Ethernet frame */
	PCN_MSG_MAX_TYPE = 1023,
};

#define PCN_HELLO_F_REPLY	0x1	/* answering a hello: do not answer back */

struct pcn_hello {
	__le32 magic;		/* PCN_PROTO_MAGIC */
	__le16 version;		/* PCN_PROTO_VERSION */
	__le16 flags;		/* PCN_HELLO_F_* */
	__le32 node;		/* sender's node id */
	__le32 features;	/* PCN_FEAT_*; none defined yet */
	__le64 nonce;		/* changes every time the sender's core loads */
};

/* A kernel's load, as Angel weighs it; cpu_busy in thousandths. */
struct pcn_load_wire {
	__le32 accept_queue;	/* connections waiting in the service's listeners */
	__le32 established;	/* the service's established connections */
	__le32 cpu_busy;	/* 0..1000 */
	__le32 reserved;	/* 0 */
};

/*
 * Snap Bean: one Ethernet frame between kernels, after its offloads as
 * virtio-net carries them (little endian): a checksum left to compute
 * (NEEDS_CSUM, csum_start/offset) or already checked (DATA_VALID), and a
 * TCP super-frame's segment size (gso_type, gso_size).
 */
#define PCN_SB_VERSION		2

struct pcn_sb_frame {
	u8 version;		/* PCN_SB_VERSION */
	u8 flags;		/* none defined yet: 0 */
	__le16 reserved;	/* 0 */
	struct virtio_net_hdr vnet;
};

#endif /* _POPCORN_WIRE_H */
