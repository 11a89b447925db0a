// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit: one message per frame, copied straight into the transport's
 * buffer behind the frame's offloads (a TCP super-frame goes whole, a
 * checksum the stack left to the device stays to compute). A full ring
 * stops the queue with the frame in hand (never NETDEV_TX_BUSY); a timer
 * offers the frame again and wakes the queue once it went. XDP frames
 * redirected to us take the same path, with no offloads.
 */
#include <linux/etherdevice.h>
#include <linux/skbuff.h>
#include <linux/virtio_net.h>
#include <net/xdp.h>

#include "snapbean.h"

#define SB_RETRY_NS	(50 * NSEC_PER_USEC)

/* A frame to send: an skb, or the bytes of an XDP frame. */
struct sb_frame {
	const struct sk_buff *skb;
	const void *data;
	u32 len;
};

static int sb_fill(struct pcn_sb_frame *f, const struct sb_frame *fr)
{
	f->version = PCN_SB_VERSION;
	f->flags = 0;
	f->reserved = 0;
	if (!fr->skb) {
		memset(&f->vnet, 0, sizeof(f->vnet));
		memcpy(f + 1, fr->data, fr->len);
		return 0;
	}
	if (virtio_net_hdr_from_skb(fr->skb, &f->vnet, true, true, 0))
		return -EPROTONOSUPPORT;
	return skb_copy_bits(fr->skb, 0, f + 1, fr->len);
}

/* One message to @node with the frame: 0, -ENOSPC when the ring is full. */
static int sb_send(struct sb_priv *sb, int node, const struct sb_frame *fr)
{
	struct sb_peer_stats *ps = &sb->peer[node];
	struct pcn_msg_tx tx;
	int err;

	err = pcn_msg_alloc(node, PCN_MSG_SNAPBEAN_FRAME,
			    sizeof(struct pcn_sb_frame) + fr->len, &tx);
	if (err)
		return err;
	err = sb_fill(tx.payload, fr);
	if (err) {
		pcn_msg_abort(&tx);
		return err;
	}
	pcn_msg_post(&tx);
	atomic64_inc(&ps->tx_packets);
	atomic64_add(fr->len, &ps->tx_bytes);
	return 0;
}

/* A frame that will not go: counted against @node, with why, now and then. */
static void sb_count_drop(struct sb_priv *sb, int node, u32 len, int err)
{
	atomic64_inc(&sb->peer[node].tx_dropped);
	if (err == -EMSGSIZE)
		net_warn_ratelimited("%s: a %u-byte frame is larger than the transport to node %d carries: lower the MTU\n",
				     sb->dev->name, len, node);
}

static void sb_drop(struct sb_priv *sb, int node, struct sk_buff *skb, int err)
{
	sb_count_drop(sb, node, skb->len, err);
	dev_kfree_skb_any(skb);
}

/* Broadcast and multicast go to every kernel that is up; a full ring drops. */
static void sb_flood(struct sb_priv *sb, const struct sb_frame *fr)
{
	int node, err;

	for_each_set_bit(node, sb->peers_up, PCN_MAX_NODES) {
		err = sb_send(sb, node, fr);
		if (err)
			sb_count_drop(sb, node, fr->len, err);
	}
}

/* The node a unicast frame goes to, or -1 (counted) if it is not up. */
static int sb_dest(struct sb_priv *sb, const u8 *mac)
{
	int node = sb_mac_node(mac);

	if (node < 0 || !test_bit(node, sb->peers_up)) {
		atomic64_inc(&sb->tx_no_peer);
		return -1;
	}
	return node;
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
	struct sb_frame fr = { .skb = skb, .len = skb->len };
	int node, err;

	if (is_multicast_ether_addr(skb->data)) {
		sb_flood(sb, &fr);
		consume_skb(skb);
		return NETDEV_TX_OK;
	}
	node = sb_dest(sb, skb->data);
	if (node < 0) {
		dev_kfree_skb_any(skb);
		return NETDEV_TX_OK;
	}
	err = sb_send(sb, node, &fr);
	if (err == -ENOSPC)
		sb_hold(sb, skb, node);
	else if (err)
		sb_drop(sb, node, skb, err);
	else
		consume_skb(skb);
	return NETDEV_TX_OK;
}

/* An XDP frame to where its MAC says: -ENOSPC on a full ring, else 0. */
static int sb_xdp_send(struct sb_priv *sb, const struct sb_frame *fr)
{
	int node, err;

	if (is_multicast_ether_addr(fr->data)) {
		sb_flood(sb, fr);
		return 0;
	}
	node = sb_dest(sb, fr->data);
	if (node < 0)
		return 0;
	err = sb_send(sb, node, fr);
	if (err && err != -ENOSPC)
		sb_count_drop(sb, node, fr->len, err);
	return err == -ENOSPC ? err : 0;
}

/*
 * Frames an XDP program redirected to us (XDP keeps each at least an
 * Ethernet header long). A full ring ends the batch: the caller frees
 * what we did not take.
 */
int sb_xdp_xmit(struct net_device *dev, int n, struct xdp_frame **frames,
		u32 flags)
{
	struct sb_priv *sb = netdev_priv(dev);
	int i;

	if (flags & ~XDP_XMIT_FLAGS_MASK)
		return -EINVAL;
	if (!netif_running(dev))
		return -ENETDOWN;
	for (i = 0; i < n; i++) {
		struct sb_frame fr = { .data = frames[i]->data, .len = frames[i]->len };

		if (sb_xdp_send(sb, &fr))
			break;
		xdp_return_frame(frames[i]);
	}
	return i;
}

/* Softirq: offer the held frame again; the queue wakes once it is gone. */
static enum hrtimer_restart sb_retry(struct hrtimer *timer)
{
	struct sb_txq *t = container_of(timer, struct sb_txq, retry);
	struct sb_priv *sb = netdev_priv(t->dev);
	struct sb_frame fr = { .skb = t->pending, .len = t->pending->len };
	int err = -EHOSTDOWN;

	t->retried++;
	if (test_bit(t->node, sb->peers_up))
		err = sb_send(sb, t->node, &fr);
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
