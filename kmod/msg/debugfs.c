// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/popcorn_msg/:
 *   rpc_pending  RPC callers waiting right now (a test checks it drains)
 *   echo_drop    1 makes this node ignore echo requests, as a hung peer
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

void pcn_debugfs_init(void)
{
	pcn_debugfs = debugfs_create_dir("popcorn_msg", NULL);
	debugfs_create_file("rpc_pending", 0444, pcn_debugfs, NULL,
			    &rpc_pending_fops);
	debugfs_create_bool("echo_drop", 0600, pcn_debugfs, &pcn_echo_drop);
}

void pcn_debugfs_exit(void)
{
	debugfs_remove(pcn_debugfs);
}
