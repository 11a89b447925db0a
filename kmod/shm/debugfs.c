// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/popcorn_shm/ and one directory per device under it.
 * The production module puts nothing in them; the debug variant adds its
 * test knobs (debug.c, doorbell_bench.c).
 */
#include <linux/debugfs.h>

#include "ivshmem.h"

static struct dentry *pcn_shm_debugfs_root;

void pcn_ivshmem_debugfs_add(struct pcn_ivshmem *dev)
{
	dev->debugfs = debugfs_create_dir(pci_name(dev->pdev),
					  pcn_shm_debugfs_root);
	pcn_shm_debug_add_dev(dev);
	pcn_doorbell_bench_debugfs(dev);
}

void pcn_ivshmem_debugfs_remove(struct pcn_ivshmem *dev)
{
	debugfs_remove(dev->debugfs);
}

int pcn_shm_debugfs_init(void)
{
	pcn_shm_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	pcn_shm_debug_init(pcn_shm_debugfs_root);
	return 0;
}

void pcn_shm_debugfs_exit(void)
{
	debugfs_remove(pcn_shm_debugfs_root);
}
