// SPDX-License-Identifier: GPL-2.0
/*
 * popcorn_msg: the messaging core between kernels. Transports (popcorn_shm,
 * popcorn_tcp) register with it; other modules send typed messages through
 * it; people configure it over the generic netlink family "popcorn".
 */
#include <linux/module.h>
#include <net/genetlink.h>

#include "internal.h"

static int __init pcn_msg_init(void)
{
	int err;

	err = pcn_rpc_init();
	if (err)
		return err;
	err = pcn_selftest_init();
	if (err)
		goto err_rpc;
	err = pcn_load_init();
	if (err)
		goto err_selftest;
	err = pcn_heartbeat_init();
	if (err)
		goto err_load;
	err = pcn_debugfs_init();
	if (err)
		goto err_debugfs;
	err = pcn_netlink_init();
	if (err)
		goto err_debugfs;
	return 0;

err_debugfs:
	pcn_debugfs_exit();
	pcn_heartbeat_exit();
err_load:
	pcn_load_exit();
err_selftest:
	pcn_selftest_exit();
err_rpc:
	pcn_rpc_exit();
	return err;
}

static void __exit pcn_msg_exit(void)
{
	pcn_netlink_exit();
	pcn_debugfs_exit();
	pcn_heartbeat_exit();
	/* Transports are gone (they depend on us), and so are their nodes. */
	pcn_nodes_remove_all();
	pcn_load_exit();
	pcn_selftest_exit();
	pcn_handlers_exit();
	synchronize_srcu(&pcn_node_srcu);
	pcn_rpc_exit();
}

module_init(pcn_msg_init);
module_exit(pcn_msg_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Popcorn messaging between kernels");
MODULE_AUTHOR("Popcorn developers");
MODULE_ALIAS_GENL_FAMILY("popcorn");
