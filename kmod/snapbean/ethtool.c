// SPDX-License-Identifier: GPL-2.0
/*
 * ethtool: driver info, channels (transmit queues) and counters per
 * transmit queue and per peer kernel (every possible node id, so the
 * list never changes under a reader).
 */
#include <linux/ethtool.h>
#include <linux/netdevice.h>

#include "snapbean.h"

static const char * const sb_peer_stat_names[] = {
	"tx_packets", "tx_bytes", "rx_packets", "rx_bytes",
	"tx_dropped", "rx_dropped", "rx_errors",
};

static const char * const sb_txq_stat_names[] = { "stopped", "retried" };

#define SB_PEER_STATS	ARRAY_SIZE(sb_peer_stat_names)
#define SB_TXQ_STATS	ARRAY_SIZE(sb_txq_stat_names)

static void sb_get_drvinfo(struct net_device *dev, struct ethtool_drvinfo *info)
{
	strscpy(info->driver, "snapbean", sizeof(info->driver));
	snprintf(info->bus_info, sizeof(info->bus_info), "popcorn node %d",
		 pcn_msg_self());
}

static int sb_get_sset_count(struct net_device *dev, int sset)
{
	if (sset != ETH_SS_STATS)
		return -EOPNOTSUPP;
	return 2 + dev->num_tx_queues * SB_TXQ_STATS + PCN_MAX_NODES * SB_PEER_STATS;
}

static void sb_get_strings(struct net_device *dev, u32 sset, u8 *buf)
{
	unsigned int q, i;
	int node;

	if (sset != ETH_SS_STATS)
		return;
	ethtool_sprintf(&buf, "tx_no_peer");
	ethtool_sprintf(&buf, "rx_pulled");
	for (q = 0; q < dev->num_tx_queues; q++)
		for (i = 0; i < SB_TXQ_STATS; i++)
			ethtool_sprintf(&buf, "txq%u_%s", q, sb_txq_stat_names[i]);
	for (node = 0; node < PCN_MAX_NODES; node++)
		for (i = 0; i < SB_PEER_STATS; i++)
			ethtool_sprintf(&buf, "peer%d_%s", node, sb_peer_stat_names[i]);
}

static void sb_get_ethtool_stats(struct net_device *dev,
				 struct ethtool_stats *stats, u64 *data)
{
	struct sb_priv *sb = netdev_priv(dev);
	struct sb_peer_stats *ps;
	unsigned int q;
	int node;

	*data++ = atomic64_read(&sb->tx_no_peer);
	*data++ = READ_ONCE(sb->rx_pulled);
	for (q = 0; q < dev->num_tx_queues; q++) {
		*data++ = READ_ONCE(sb->txq[q].stopped);
		*data++ = READ_ONCE(sb->txq[q].retried);
	}
	for (node = 0; node < PCN_MAX_NODES; node++) {
		ps = &sb->peer[node];
		*data++ = atomic64_read(&ps->tx_packets);
		*data++ = atomic64_read(&ps->tx_bytes);
		*data++ = atomic64_read(&ps->rx_packets);
		*data++ = atomic64_read(&ps->rx_bytes);
		*data++ = atomic64_read(&ps->tx_dropped);
		*data++ = atomic64_read(&ps->rx_dropped);
		*data++ = atomic64_read(&ps->rx_errors);
	}
}

static void sb_get_channels(struct net_device *dev, struct ethtool_channels *ch)
{
	ch->max_tx = dev->num_tx_queues;
	ch->tx_count = dev->real_num_tx_queues;
}

const struct ethtool_ops sb_ethtool_ops = {
	.get_drvinfo = sb_get_drvinfo,
	.get_link = ethtool_op_get_link,
	.get_sset_count = sb_get_sset_count,
	.get_strings = sb_get_strings,
	.get_ethtool_stats = sb_get_ethtool_stats,
	.get_channels = sb_get_channels,
};
