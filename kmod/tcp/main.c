// SPDX-License-Identifier: GPL-2.0
/*
 * popcorn_tcp: the "tcp" transport of popcorn_msg, for kernels that share
 * no memory (another machine, another island) and as the baseline of the
 * shared-memory one. A node is added with the endpoint ADDRESS[:PORT] of
 * its listener.
 */
#include <linux/module.h>

#include "tcp.h"

struct pcn_tcp pcn_tcp = {
	.lock = __MUTEX_INITIALIZER(pcn_tcp.lock),
};

static size_t pcn_tcp_max_record(struct pcn_node *node)
{
	return PCN_TCP_MAX_RECORD;
}

static void pcn_tcp_get_stats(struct pcn_node *node,
			      struct pcn_transport_stats *st)
{
	struct pcn_tcp_link *link = pcn_node_link(node);

	st->errors = atomic64_read(&link->errors);
}

static struct pcn_transport pcn_tcp_transport = {
	.name = "tcp",
	.owner = THIS_MODULE,
	.link_add = pcn_tcp_link_add,
	.link_del = pcn_tcp_link_del,
	.link_reset = pcn_tcp_link_reset,
	.max_record = pcn_tcp_max_record,
	.reserve = pcn_tcp_reserve,
	.commit = pcn_tcp_commit,
	.rx_resume = pcn_tcp_rx_resume,
	.get_stats = pcn_tcp_get_stats,
};

static int __init pcn_tcp_init(void)
{
	int err;

	err = pcn_tcp_listen_start();
	if (err)
		return err;
	err = pcn_transport_register(&pcn_tcp_transport);
	if (err) {
		pcn_tcp_listen_stop();
		return err;
	}
	pcn_tcp_debugfs_init();
	return 0;
}

static void __exit pcn_tcp_exit(void)
{
	pcn_tcp_debugfs_exit();
	/* No new connection, then every node and its link goes. */
	pcn_tcp_listen_stop();
	pcn_transport_unregister(&pcn_tcp_transport);
}

module_init(pcn_tcp_init);
module_exit(pcn_tcp_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Popcorn messaging over TCP");
MODULE_AUTHOR("Popcorn developers");
