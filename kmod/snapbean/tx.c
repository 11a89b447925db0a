// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit: one message per frame, copied straight into the transport's
 * buffer. A full ring stops the queue with the frame in hand (never
 * NETDEV_TX_BUSY); a timer offers the frame again and wakes the queue
 * once it went.
 */
#include <linux/etherdevice.h>
#include <linux/skbuff.h>

#include "snapbean.h"

#define SB_RETRY_NS	(50 * NSEC_PER_USEC)

/* One message to @node with @skb's frame: 0, -ENOSPC when the ring is full. */
static int sb_send(struct sb_priv *sb, int node, struct sk_buff *skb)
{
	struct sb_peer_stats *ps = &sb->peer[node];
	struct pcn_sb_frame *f;
	struct pcn_msg_tx tx;
	int err;

	err = pcn_msg_alloc(node, PCN_MSG_SNAPBEAN_FRAME, sizeof(*f) + skb->len, &tx);
	if (err)
		return err;
	f = tx.payload;
	f->version = PCN_SB_VERSION;
	f->flags = 0;
	f->reserved = 0;
	err = skb_copy_bits(skb, 0, f + 1, skb->len);
	if (err) {
		pcn_msg_abort(&tx);
		return err;
	}
	pcn_msg_post(&tx);
	atomic64_inc(&ps->tx_packets);
	atomic64_add(skb->len, &ps->tx_bytes);
	return 0;
}

/* A frame that will not go: counted against @node, with why, now and then. */
static void sb_drop(struct sb_priv *sb, int node, struct sk_buff *skb, int err)
{
	atomic64_inc(&sb->peer[node].tx_dropped);
	if (err == -EMSGSIZE)
		net_warn_ratelimited("%s: a %u-byte frame is larger than the transport to node %d carries: lower the MTU\n",
				     sb->dev->name, skb->len, node);
	dev_kfree_skb_any(skb);
}

/* Broadcast and multicast go to every kernel that is up; a full ring drops. */
static void sb_flood(struct sb_priv *sb, struct sk_buff *skb)
{
	int node;

	for_each_set_bit(node, sb->peers_up, PCN_MAX_NODES)
		if (sb_send(sb, node, skb))
			atomic64_inc(&sb->peer[node].tx_dropped);
	consume_skb(skb);
}

static struct netdev_queue *sb_netdev_queue(struct sb_priv *sb, struct sb_txq *t)
{
	return netdev_get_tx_queue(sb->dev, t - sb->txq);
}

static void sb_hold(struct sb_priv *sb, struct sk_buff *skb, int node)
{
	struct sb_txq *t = &sb->txq[skb_get_queue_mapping(skb)];

	t->pending = skb;
	t->node = node;
	t->stopped++;
	netif_tx_stop_queue(sb_netdev_queue(sb, t));
	hrtimer_start(&t->retry, ns_to_ktime(SB_RETRY_NS), HRTIMER_MODE_REL_SOFT);
}

netdev_tx_t sb_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct sb_priv *sb = netdev_priv(dev);
	int node, err;

	if (is_multicast_ether_addr(skb->data)) {
		sb_flood(sb, skb);
		return NETDEV_TX_OK;
	}
	node = sb_mac_node(skb->data);
	if (node < 0 || !test_bit(node, sb->peers_up)) {
		atomic64_inc(&sb->tx_no_peer);
		dev_kfree_skb_any(skb);
		return NETDEV_TX_OK;
	}
	err = sb_send(sb, node, skb);
	if (err == -ENOSPC)
		sb_hold(sb, skb, node);
	else if (err)
		sb_drop(sb, node, skb, err);
	else
		consume_skb(skb);
	return NETDEV_TX_OK;
}

/* Softirq: offer the held frame again; the queue wakes once it is gone. */
static enum hrtimer_restart sb_retry(struct hrtimer *timer)
{
	struct sb_txq *t = container_of(timer, struct sb_txq, retry);
	struct sb_priv *sb = netdev_priv(t->dev);
	int err = -EHOSTDOWN;

	t->retried++;
	if (test_bit(t->node, sb->peers_up))
		err = sb_send(sb, t->node, t->pending);
	if (err == -ENOSPC) {
		hrtimer_forward_now(timer, ns_to_ktime(SB_RETRY_NS));
		return HRTIMER_RESTART;
	}
	if (err)
		sb_drop(sb, t->node, t->pending, err);
	else
		consume_skb(t->pending);
	t->pending = NULL;
	netif_tx_wake_queue(sb_netdev_queue(sb, t));
	return HRTIMER_NORESTART;
}

void sb_txq_init(struct sb_priv *sb)
{
	unsigned int i;

	for (i = 0; i < sb->dev->num_tx_queues; i++) {
		sb->txq[i].dev = sb->dev;
		hrtimer_init(&sb->txq[i].retry, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
		sb->txq[i].retry.function = sb_retry;
	}
}

/* The queues are stopped: no timer runs and no frame is held after this. */
void sb_txq_stop_all(struct sb_priv *sb)
{
	struct sb_txq *t;
	unsigned int i;

	for (i = 0; i < sb->dev->num_tx_queues; i++) {
		t = &sb->txq[i];
		hrtimer_cancel(&t->retry);
		if (t->pending)
			sb_drop(sb, t->node, t->pending, -ENETDOWN);
		t->pending = NULL;
	}
}
