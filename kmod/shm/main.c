// SPDX-License-Identifier: GPL-2.0
/*
 * popcorn_shm: the shared-memory window between kernels. This layer owns
 * the device (ivshmem today) and its doorbells; the ring transport sits on
 * top of struct pcn_shm_window.
 */
#include <linux/module.h>
#include <linux/pci.h>

#include "ivshmem.h"

static int __init pcn_shm_init(void)
{
	int err;

	pcn_shm_debugfs_init();
	err = pci_register_driver(&pcn_ivshmem_driver);
	if (err)
		goto err_debugfs;
	return 0;

err_debugfs:
	pcn_shm_debugfs_exit();
	return err;
}

static void __exit pcn_shm_exit(void)
{
	pci_unregister_driver(&pcn_ivshmem_driver);
	pcn_shm_debugfs_exit();
}

module_init(pcn_shm_init);
module_exit(pcn_shm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Popcorn shared-memory window between kernels");
MODULE_AUTHOR("Popcorn developers");
