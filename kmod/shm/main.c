// SPDX-License-Identifier: GPL-2.0
/*
 * popcorn_shm: the shared-memory window between kernels and the "shm"
 * transport of popcorn_msg. The device layer (ivshmem today) owns the
 * memory and the doorbells; the rings sit on top of struct pcn_shm_window.
 */
#include <linux/module.h>
#include <linux/pci.h>

#include "ivshmem.h"
#include "transport.h"

static int __init pcn_shm_init(void)
{
	int err;

	pcn_shm_debugfs_init();
	err = pcn_shm_transport_init();
	if (err)
		goto err_debugfs;
	err = pci_register_driver(&pcn_ivshmem_driver);
	if (err)
		goto err_transport;
	return 0;

err_transport:
	pcn_shm_transport_exit();
err_debugfs:
	pcn_shm_debugfs_exit();
	return err;
}

static void __exit pcn_shm_exit(void)
{
	pcn_shm_transport_exit();
	pci_unregister_driver(&pcn_ivshmem_driver);
	pcn_shm_debugfs_exit();
}

module_init(pcn_shm_init);
module_exit(pcn_shm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Popcorn shared-memory window between kernels");
MODULE_AUTHOR("Popcorn developers");
