// SPDX-License-Identifier: GPL-2.0
/*
 * Receive: the transport's receive path copies a frame message into an
 * skb (paged beyond a page's worth) and queues it, after a doorbell or
 * when NAPI asks the transport for more; NAPI runs the XDP
 * program, if any, and hands the rest to the stack (with GRO) in budgets.
 * The header is copied out of the window before it is checked, and what
 * the peer wrote is checked before it is used (its offloads by the same
 * code that checks virtio-net's and tun's); a frame that makes no sense
 * is dropped and counted against its sender.
 */
#include <linux/etherdevice.h>
#include <linux/filter.h>
#include <linux/if_vlan.h>
#include <linux/skbuff.h>
#include <linux/virtio_net.h>
#include <net/xdp.h>
#include <popcorn/compat.h>

#include "snapbean.h"

/* Frames waiting for NAPI; beyond this, the receive path drops. */
#define SB_RXQ_MAX	1024
/* Frames up to this size are copied whole into the skb's head. */
#define SB_RX_LINEAR	(SKB_WITH_OVERHEAD(PAGE_SIZE) - NET_SKB_PAD - NET_IP_ALIGN)
/* A larger frame keeps this much in the head, for the headers. */
#define SB_RX_HEAD	256
/* A TCP super-frame: up to 64 KiB of IP packet. */
#define SB_GSO_MAX_FRAME	(GSO_LEGACY_MAX_SIZE + VLAN_ETH_HLEN)

static bool sb_frame_ok(const struct net_device *dev, const struct pcn_sb_frame *f,
			u32 len)
{
	u32 max = dev->mtu + VLAN_ETH_HLEN;

	if (f->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		max = max_t(u32, max, SB_GSO_MAX_FRAME);
	return len >= ETH_HLEN && len <= max && f->version == PCN_SB_VERSION &&
	       !f->flags && !f->reserved;
}

/* A private copy of @len bytes of frame at @data, with its offloads. */
static struct sk_buff *sb_build_skb(struct net_device *dev, const void *data,
				    u32 len, const struct virtio_net_hdr *vnet)
{
	struct sk_buff *skb;
	u32 head = len;
	int err;

	if (len > SB_RX_LINEAR) {
		head = SB_RX_HEAD;
		skb = alloc_skb_with_frags(NET_SKB_PAD + NET_IP_ALIGN + head,
					   len - head, PAGE_ALLOC_COSTLY_ORDER,
					   &err, GFP_ATOMIC);
		if (skb) {
			skb_reserve(skb, NET_SKB_PAD + NET_IP_ALIGN);
			skb->dev = dev;
		}
	} else {
		skb = netdev_alloc_skb_ip_align(dev, len);
	}
	if (!skb)
		return ERR_PTR(-ENOMEM);
	skb_put(skb, head);
	skb->data_len = len - head;
	skb->len = len;
	if (skb_store_bits(skb, 0, data, len) ||
	    virtio_net_hdr_to_skb(skb, vnet, true)) {
		kfree_skb(skb);
		return ERR_PTR(-EINVAL);
	}
	if (vnet->flags & VIRTIO_NET_HDR_F_DATA_VALID)
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	return skb;
}

/* The core's handler for frame messages: atomic, bottom halves off. */
int sb_rx(const struct pcn_msg *msg, void *priv)
{
	struct pcn_sb_frame f;
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
	if (msg->len < sizeof(f))
		goto bad;
	memcpy(&f, msg->payload, sizeof(f));
	len = msg->len - sizeof(f);
	if (!sb_frame_ok(dev, &f, len))
		goto bad;
	if (skb_queue_len(&sb->rxq) >= SB_RXQ_MAX) {
		atomic64_inc(&ps->rx_dropped);
		goto out;
	}
	skb = sb_build_skb(dev, msg->payload + sizeof(f), len, &f.vnet);
	if (IS_ERR(skb)) {
		if (PTR_ERR(skb) == -EINVAL)
			goto bad;
		atomic64_inc(&ps->rx_dropped);
		goto out;
	}
	atomic64_inc(&ps->rx_packets);
	atomic64_add(len, &ps->rx_bytes);
	skb_queue_tail(&sb->rxq, skb);
	napi_schedule(&sb->napi);
out:
	rcu_read_unlock();
	return 0;
bad:
	atomic64_inc(&ps->rx_errors);
	net_warn_ratelimited("%s: dropped a malformed frame from node %u\n",
			     dev->name, msg->src);
	goto out;
}

/*
 * The XDP program sees each frame before the stack does, in the skb the
 * receive path built (the kernel's skb XDP path, which tun also uses for
 * frames it did not build in place): it may pass, drop, send back out of
 * sb0 or redirect. True when the frame goes on to the stack.
 */
static bool sb_xdp_pass(struct sb_priv *sb, struct sk_buff **pskb)
{
	struct bpf_prog *prog = rcu_dereference(sb->xdp_prog);

	return !prog || pcn_xdp_generic_pass(prog, pskb);
}

/*
 * Take what the peers sent that is still in the transport, as a NIC's
 * poll reads its ring: a socket busy-polling sb0 then receives its
 * frames without waiting for a doorbell. sb_rx() queues them. While a
 * socket busy-polls, the peers ring no doorbells; the busy poll's last
 * round (NAPI_STATE_IN_BUSY_POLL cleared) asks every peer for them
 * again, whatever the queue holds.
 */
static void sb_pull(struct sb_priv *sb, int budget)
{
	bool again = test_bit(NAPI_STATE_IN_BUSY_POLL, &sb->napi.state);
	int node, room;

	for_each_set_bit(node, sb->peers_up, PCN_MAX_NODES) {
		room = max_t(int, budget - skb_queue_len(&sb->rxq), 0);
		if (!room && again)
			break;
		WRITE_ONCE(sb->rx_pulled,
			   sb->rx_pulled + pcn_msg_poll(node, room, again));
	}
}

int sb_poll(struct napi_struct *napi, int budget)
{
	struct sb_priv *sb = container_of(napi, struct sb_priv, napi);
	struct sk_buff *skb;
	int done = 0;

	sb_pull(sb, budget);
	rcu_read_lock();
	while (done < budget && (skb = skb_dequeue(&sb->rxq))) {
		done++;
		skb->protocol = eth_type_trans(skb, sb->dev);
		if (sb_xdp_pass(sb, &skb))
			napi_gro_receive(napi, skb);
	}
	rcu_read_unlock();
	/* A frame queued after our last look schedules us again. */
	if (done < budget && napi_complete_done(napi, done) &&
	    !skb_queue_empty_lockless(&sb->rxq))
		napi_schedule(napi);
	return done;
}
