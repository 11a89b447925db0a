/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Snap Bean: an Ethernet device between kernels. Every kernel has one
 * (sb0); a frame goes to the kernel whose node id its destination MAC
 * carries, over the messaging layer, and a broadcast to every kernel
 * that is up (Documentation/snapbean.rst).
 */
#ifndef _POPCORN_SNAPBEAN_H
#define _POPCORN_SNAPBEAN_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/netdevice.h>
#include <popcorn/msg.h>

/* MAC of node N: 02:50:43:4e:00:N ("PCN", locally administered). */
#define SB_MAC_PREFIX		"\x02\x50\x43\x4e\x00"
#define SB_MAC_PREFIX_LEN	5

struct sb_peer_stats {
	atomic64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
	atomic64_t tx_dropped, rx_dropped, rx_errors;
};

/* A transmit queue stopped on a full ring keeps the frame it could not send. */
struct sb_txq {
	struct net_device *dev;
	struct sk_buff *pending;
	int node;
	struct hrtimer retry;
	u64 stopped, retried;
};

struct sb_priv {
	struct net_device *dev;
	/* Frames the transport handed us, for NAPI to take up in budgets. */
	struct sk_buff_head rxq;
	struct napi_struct napi;
	unsigned long peers_up[BITS_TO_LONGS(PCN_MAX_NODES)];
	struct sb_peer_stats peer[PCN_MAX_NODES];
	atomic64_t tx_no_peer;	/* unicast to a kernel that is not up */
	u64 rx_pulled;		/* records NAPI took from the transport itself */
	struct sb_txq *txq;
	struct bpf_prog __rcu *xdp_prog;
};

/* The one Snap Bean device of this kernel, if any; RCU. */
extern struct net_device __rcu *sb_dev;

int sb_mac_node(const u8 *mac);
void sb_update_peers(struct sb_priv *sb);

/* dev.c */
extern struct rtnl_link_ops sb_link_ops;

/* tx.c */
netdev_tx_t sb_xmit(struct sk_buff *skb, struct net_device *dev);
void sb_txq_init(struct sb_priv *sb);
void sb_txq_stop_all(struct sb_priv *sb);
struct xdp_frame;
int sb_xdp_xmit(struct net_device *dev, int n, struct xdp_frame **frames,
		u32 flags);

/* rx.c */
int sb_rx(const struct pcn_msg *msg, void *priv);
int sb_poll(struct napi_struct *napi, int budget);

/* ethtool.c */
extern const struct ethtool_ops sb_ethtool_ops;

/* debug.c: test knobs of the debug variant */
#ifdef CONFIG_POPCORN_DEBUG
void sb_debug_init(void);
void sb_debug_exit(void);
#else
static inline void sb_debug_init(void) {}
static inline void sb_debug_exit(void) {}
#endif

#endif /* _POPCORN_SNAPBEAN_H */
