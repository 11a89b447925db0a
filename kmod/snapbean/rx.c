// SPDX-License-Identifier: GPL-2.0
/*
 * Receive: the transport's receive path copies a frame message into an
 * skb and queues it; NAPI hands the queue to the stack (with GRO) in
 * budgets. Everything the peer wrote is checked first; a frame that makes
 * no sense is dropped and counted against its sender.
 */
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/skbuff.h>

#include "snapbean.h"

/* Frames waiting for NAPI; beyond this, the receive path drops. */
#define SB_RXQ_MAX	1024

static bool sb_frame_ok(const struct net_device *dev, const struct pcn_msg *msg)
{
	const struct pcn_sb_frame *f = msg->payload;

	return msg->len >= sizeof(*f) + ETH_HLEN &&
	       msg->len - sizeof(*f) <= dev->mtu + VLAN_ETH_HLEN &&
	       f->version == PCN_SB_VERSION && !f->flags && !f->reserved;
}

/* The core's handler for frame messages: atomic, bottom halves off. */
int sb_rx(const struct pcn_msg *msg, void *priv)
{
	const struct pcn_sb_frame *f = msg->payload;
	struct sb_peer_stats *ps;
	struct net_device *dev;
	struct sk_buff *skb;
	struct sb_priv *sb;
	u32 len;

	rcu_read_lock();
	dev = rcu_dereference(sb_dev);
	if (!dev || !netif_running(dev))
		goto out;
	sb = netdev_priv(dev);
	ps = &sb->peer[msg->src];
	if (!sb_frame_ok(dev, msg)) {
		atomic64_inc(&ps->rx_errors);
		net_warn_ratelimited("%s: dropped a malformed frame from node %u\n",
				     dev->name, msg->src);
		goto out;
	}
	len = msg->len - sizeof(*f);
	skb = skb_queue_len(&sb->rxq) < SB_RXQ_MAX ?
	      netdev_alloc_skb_ip_align(dev, len) : NULL;
	if (!skb) {
		atomic64_inc(&ps->rx_dropped);
		goto out;
	}
	skb_put_data(skb, f + 1, len);
	atomic64_inc(&ps->rx_packets);
	atomic64_add(len, &ps->rx_bytes);
	skb_queue_tail(&sb->rxq, skb);
	napi_schedule(&sb->napi);
out:
	rcu_read_unlock();
	return 0;
}

int sb_poll(struct napi_struct *napi, int budget)
{
	struct sb_priv *sb = container_of(napi, struct sb_priv, napi);
	struct sk_buff *skb;
	int done = 0;

	while (done < budget && (skb = skb_dequeue(&sb->rxq))) {
		skb->protocol = eth_type_trans(skb, sb->dev);
		napi_gro_receive(napi, skb);
		done++;
	}
	/* A frame queued after our last look schedules us again. */
	if (done < budget && napi_complete_done(napi, done) &&
	    !skb_queue_empty_lockless(&sb->rxq))
		napi_schedule(napi);
	return done;
}
