// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/popcorn_tcp/: "stats", what the listener and the
 * links saw, and "links", one line per node.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "tcp.h"

static struct dentry *pcn_tcp_debugfs_root;

static int pcn_tcp_stats_show(struct seq_file *m, void *v)
{
	struct pcn_tcp_stats *s = &pcn_tcp.stats;

	seq_printf(m, "accepted %lld\n", atomic64_read(&s->accepted));
	seq_printf(m, "refused %lld\n", atomic64_read(&s->refused));
	seq_printf(m, "bad_frames %lld\n", atomic64_read(&s->bad_frames));
	seq_printf(m, "connect_failed %lld\n", atomic64_read(&s->connect_failed));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pcn_tcp_stats);

static int pcn_tcp_links_show(struct seq_file *m, void *v)
{
	struct pcn_tcp_link *link;
	int i;

	seq_puts(m, "node endpoint connected sessions tx_bytes rx_bytes errors\n");
	mutex_lock(&pcn_tcp.lock);
	for (i = 0; i < PCN_MAX_NODES; i++) {
		link = pcn_tcp.links[i];
		if (!link)
			continue;
		seq_printf(m, "%d %s %d %lld %lld %lld %lld\n", link->id,
			   link->endpoint, READ_ONCE(link->tx.ready),
			   atomic64_read(&link->sessions),
			   atomic64_read(&link->tx_bytes),
			   atomic64_read(&link->rx_bytes),
			   atomic64_read(&link->errors));
	}
	mutex_unlock(&pcn_tcp.lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pcn_tcp_links);

void pcn_tcp_debugfs_init(void)
{
	pcn_tcp_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("stats", 0444, pcn_tcp_debugfs_root, NULL,
			    &pcn_tcp_stats_fops);
	debugfs_create_file("links", 0444, pcn_tcp_debugfs_root, NULL,
			    &pcn_tcp_links_fops);
}

void pcn_tcp_debugfs_exit(void)
{
	debugfs_remove_recursive(pcn_tcp_debugfs_root);
}
