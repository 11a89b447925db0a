// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/popcorn_msg/:
 *   rpc_pending  RPC callers waiting right now (a test checks it drains)
 *   backlog      per node: messages and bytes queued for process-context
 *                handlers, the most bytes ever queued, and how often the
 *                node's records were left in the transport for want of room
 * and, in the debug variant, the test knobs of debug.c.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "internal.h"

static struct dentry *pcn_debugfs;

static int rpc_pending_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%lu\n", pcn_rpc_pending());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rpc_pending);

static int backlog_show(struct seq_file *m, void *v)
{
	struct pcn_node *node;
	int i, idx;

	seq_puts(m, "node msgs bytes peak_bytes throttled\n");
	idx = srcu_read_lock(&pcn_node_srcu);
	for (i = 0; i < PCN_MAX_NODES; i++) {
		node = pcn_node_get(i);
		if (!node)
			continue;
		seq_printf(m, "%d %d %d %d %lld\n", i,
			   atomic_read(&node->backlog_msgs),
			   atomic_read(&node->backlog_bytes),
			   atomic_read(&node->backlog_peak),
			   atomic64_read(&node->rx_throttled));
	}
	srcu_read_unlock(&pcn_node_srcu, idx);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(backlog);

int pcn_debugfs_init(void)
{
	pcn_debugfs = debugfs_create_dir("popcorn_msg", NULL);
	debugfs_create_file("rpc_pending", 0444, pcn_debugfs, NULL,
			    &rpc_pending_fops);
	debugfs_create_file("backlog", 0444, pcn_debugfs, NULL, &backlog_fops);
	return pcn_debug_init(pcn_debugfs);
}

void pcn_debugfs_exit(void)
{
	pcn_debug_exit();
	debugfs_remove(pcn_debugfs);
}
