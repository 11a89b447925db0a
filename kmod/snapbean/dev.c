// SPDX-License-Identifier: GPL-2.0
/*
 * The device: `ip link add sb0 type snapbean`, one per kernel. Its MAC
 * names this kernel's node id, so it is set here and cannot be changed;
 * its carrier is on while any other kernel is up. Like veth, it computes
 * no checksum and cuts no TCP super-frame: the receiving kernel gets the
 * frame with its offloads and does what it would have done.
 */
#include <linux/etherdevice.h>
#include <linux/filter.h>
#include <linux/slab.h>
#include <net/rtnetlink.h>
#include <popcorn/compat.h>

#include "snapbean.h"

#define SB_MAX_TX_QUEUES	16
#define SB_FEATURES	(NETIF_F_SG | NETIF_F_HW_CSUM | NETIF_F_RXCSUM | \
			 NETIF_F_HIGHDMA | NETIF_F_TSO | NETIF_F_TSO6 | \
			 NETIF_F_TSO_ECN)

static int sb_open(struct net_device *dev)
{
	struct sb_priv *sb = netdev_priv(dev);

	napi_enable(&sb->napi);
	netif_tx_start_all_queues(dev);
	return 0;
}

static int sb_stop(struct net_device *dev)
{
	struct sb_priv *sb = netdev_priv(dev);

	netif_tx_disable(dev);
	sb_txq_stop_all(sb);
	napi_disable(&sb->napi);
	skb_queue_purge(&sb->rxq);
	return 0;
}

static void sb_get_stats64(struct net_device *dev, struct rtnl_link_stats64 *s)
{
	struct sb_priv *sb = netdev_priv(dev);
	struct sb_peer_stats *ps;
	int i;

	for (i = 0; i < PCN_MAX_NODES; i++) {
		ps = &sb->peer[i];
		s->tx_packets += atomic64_read(&ps->tx_packets);
		s->tx_bytes += atomic64_read(&ps->tx_bytes);
		s->rx_packets += atomic64_read(&ps->rx_packets);
		s->rx_bytes += atomic64_read(&ps->rx_bytes);
		s->tx_dropped += atomic64_read(&ps->tx_dropped);
		s->rx_dropped += atomic64_read(&ps->rx_dropped);
		s->rx_errors += atomic64_read(&ps->rx_errors);
	}
	s->tx_dropped += atomic64_read(&sb->tx_no_peer);
}

/* The core holds rtnl and hands us its reference on the new program. */
static int sb_bpf(struct net_device *dev, struct netdev_bpf *bpf)
{
	struct sb_priv *sb = netdev_priv(dev);
	struct bpf_prog *old;

	if (bpf->command != XDP_SETUP_PROG)
		return -EINVAL;
	old = rtnl_dereference(sb->xdp_prog);
	rcu_assign_pointer(sb->xdp_prog, bpf->prog);
	if (old)
		bpf_prog_put(old);
	return 0;
}

static const struct net_device_ops sb_netdev_ops = {
	.ndo_open = sb_open,
	.ndo_stop = sb_stop,
	.ndo_start_xmit = sb_xmit,
	.ndo_get_stats64 = sb_get_stats64,
	.ndo_bpf = sb_bpf,
	.ndo_xdp_xmit = sb_xdp_xmit,
};

static void sb_free(struct net_device *dev)
{
	struct sb_priv *sb = netdev_priv(dev);

	/* The receive path may queue between stop and unpublishing. */
	skb_queue_purge(&sb->rxq);
	kfree(sb->txq);
}

static void sb_setup(struct net_device *dev)
{
	ether_setup(dev);
	dev->netdev_ops = &sb_netdev_ops;
	dev->ethtool_ops = &sb_ethtool_ops;
	dev->needs_free_netdev = true;
	dev->priv_destructor = sb_free;
	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = ETH_MAX_MTU;
	dev->features |= SB_FEATURES;
	dev->hw_features |= SB_FEATURES;
	pcn_xdp_features_full(dev);
}

static unsigned int sb_num_tx_queues(void)
{
	return min_t(unsigned int, num_possible_cpus(), SB_MAX_TX_QUEUES);
}

static int sb_validate(struct nlattr *tb[], struct nlattr *data[],
		       struct netlink_ext_ack *extack)
{
	if (tb[IFLA_ADDRESS]) {
		NL_SET_ERR_MSG(extack, "a snapbean MAC names the node: it cannot be chosen");
		return -EINVAL;
	}
	return 0;
}

static int sb_newlink(struct net *net, struct net_device *dev,
		      struct nlattr *tb[], struct nlattr *data[],
		      struct netlink_ext_ack *extack)
{
	struct sb_priv *sb = netdev_priv(dev);
	int self = pcn_msg_self();
	u8 mac[ETH_ALEN];
	int err;

	if (self < 0) {
		NL_SET_ERR_MSG(extack,
			       "this kernel has no node id yet (popcornctl node add ID --self)");
		return -EINVAL;
	}
	if (rtnl_dereference(sb_dev)) {
		NL_SET_ERR_MSG(extack, "this kernel already has a snapbean device");
		return -EEXIST;
	}
	sb->dev = dev;
	sb->txq = kcalloc(dev->num_tx_queues, sizeof(*sb->txq), GFP_KERNEL);
	if (!sb->txq)
		return -ENOMEM;
	sb_txq_init(sb);
	skb_queue_head_init(&sb->rxq);
	netif_napi_add(dev, &sb->napi, sb_poll);
	memcpy(mac, SB_MAC_PREFIX, SB_MAC_PREFIX_LEN);
	mac[5] = self;
	eth_hw_addr_set(dev, mac);
	netif_carrier_off(dev);

	err = register_netdevice(dev);
	if (err) {
		/* Not registered: the destructor does not run. */
		netif_napi_del(&sb->napi);
		kfree(sb->txq);
		return err;
	}
	rcu_assign_pointer(sb_dev, dev);
	sb_update_peers(sb);
	return 0;
}

/* Unpublished before unregistering, whose RCU sync covers our readers. */
static void sb_dellink(struct net_device *dev, struct list_head *head)
{
	if (rtnl_dereference(sb_dev) == dev)
		RCU_INIT_POINTER(sb_dev, NULL);
	unregister_netdevice_queue(dev, head);
}

struct rtnl_link_ops sb_link_ops = {
	.kind = "snapbean",
	.priv_size = sizeof(struct sb_priv),
	.setup = sb_setup,
	.validate = sb_validate,
	.newlink = sb_newlink,
	.dellink = sb_dellink,
	.get_num_tx_queues = sb_num_tx_queues,
	.get_num_rx_queues = sb_num_tx_queues,
};
