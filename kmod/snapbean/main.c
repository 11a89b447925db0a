// SPDX-License-Identifier: GPL-2.0
/*
 * snapbean: a virtual Ethernet device between kernels, over the Popcorn
 * messaging layer. Its peers are the messaging layer's nodes: a kernel is
 * reachable through the device while its node is up.
 */
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <net/rtnetlink.h>

#include "snapbean.h"

struct net_device __rcu *sb_dev;
/* Node events and the device's creation both set the peer bitmap. */
static DEFINE_SPINLOCK(sb_peers_lock);

int sb_mac_node(const u8 *mac)
{
	if (memcmp(mac, SB_MAC_PREFIX, SB_MAC_PREFIX_LEN) || mac[5] >= PCN_MAX_NODES)
		return -1;
	return mac[5];
}

/*
 * A super-frame must fit one transport record to @node, header and VLAN
 * tag included: the stack builds none larger than the device's TSO limit.
 */
static void sb_fit_tso(struct sb_priv *sb, int node)
{
	size_t max = pcn_msg_post_max(node);

	if (max < sizeof(struct pcn_sb_frame) + VLAN_ETH_HLEN + ETH_DATA_LEN)
		return;
	max -= sizeof(struct pcn_sb_frame) + VLAN_ETH_HLEN;
	if (max < sb->dev->tso_max_size)
		netif_set_tso_max_size(sb->dev, max);
}

/* Take @node's state from the core, which is the truth at this moment. */
static void sb_update_peer(struct sb_priv *sb, int node)
{
	if (pcn_node_is_up(node)) {
		sb_fit_tso(sb, node);
		set_bit(node, sb->peers_up);
	} else {
		clear_bit(node, sb->peers_up);
	}
}

static void sb_update_carrier(struct sb_priv *sb)
{
	if (bitmap_empty(sb->peers_up, PCN_MAX_NODES))
		netif_carrier_off(sb->dev);
	else
		netif_carrier_on(sb->dev);
}

void sb_update_peers(struct sb_priv *sb)
{
	int node;

	spin_lock_bh(&sb_peers_lock);
	for (node = 0; node < PCN_MAX_NODES; node++)
		sb_update_peer(sb, node);
	sb_update_carrier(sb);
	spin_unlock_bh(&sb_peers_lock);
}

/* Any context but hard irq: a node went up or down. */
static int sb_node_event(struct notifier_block *nb, unsigned long ev, void *data)
{
	struct net_device *dev;
	struct sb_priv *sb;

	rcu_read_lock();
	dev = rcu_dereference(sb_dev);
	if (dev) {
		sb = netdev_priv(dev);
		spin_lock_bh(&sb_peers_lock);
		sb_update_peer(sb, (long)data);
		sb_update_carrier(sb);
		spin_unlock_bh(&sb_peers_lock);
	}
	rcu_read_unlock();
	return NOTIFY_OK;
}

static struct notifier_block sb_node_nb = {
	.notifier_call = sb_node_event,
};

static int __init sb_init(void)
{
	int err;

	err = pcn_msg_register_notifier(&sb_node_nb);
	if (err)
		return err;
	err = pcn_msg_register(PCN_MSG_SNAPBEAN_FRAME, sb_rx, NULL,
			       PCN_HANDLER_ATOMIC);
	if (err)
		goto err_notifier;
	err = rtnl_link_register(&sb_link_ops);
	if (err)
		goto err_handler;
	sb_debug_init();
	return 0;

err_handler:
	pcn_msg_unregister(PCN_MSG_SNAPBEAN_FRAME);
err_notifier:
	pcn_msg_unregister_notifier(&sb_node_nb);
	return err;
}

static void __exit sb_exit(void)
{
	sb_debug_exit();
	/* Deletes the device first, so nothing sends or receives after. */
	rtnl_link_unregister(&sb_link_ops);
	pcn_msg_unregister(PCN_MSG_SNAPBEAN_FRAME);
	pcn_msg_unregister_notifier(&sb_node_nb);
}

module_init(sb_init);
module_exit(sb_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Snap Bean: an Ethernet device between Popcorn kernels");
MODULE_AUTHOR("Popcorn developers");
MODULE_ALIAS_RTNL_LINK("snapbean");
