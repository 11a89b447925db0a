// SPDX-License-Identifier: GPL-2.0
/*
 * PCI driver for the ivshmem device: BAR0 holds the registers, BAR2 the
 * memory shared with the other kernels, and with ivshmem-doorbell each
 * MSI-X vector is a doorbell another kernel can ring.
 */
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>

#include "ivshmem.h"
#include "transport.h"

static int pcn_ivshmem_ring(struct pcn_shm_window *win, u16 peer, u16 vector)
{
	struct pcn_ivshmem *dev = win_to_ivshmem(win);

	if (!win->nr_vectors)
		return -EOPNOTSUPP;
	/* Vectors are counted per device, and every peer has as many as we do. */
	if (vector >= win->nr_vectors)
		return -ERANGE;
	writel(((u32)peer << 16) | vector, dev->regs + IVSHMEM_REG_DOORBELL);
	return 0;
}

static const struct pcn_shm_window_ops pcn_ivshmem_ops = {
	.ring = pcn_ivshmem_ring,
};

static irqreturn_t pcn_ivshmem_irq(int irq, void *data)
{
	struct pcn_ivshmem_vector *vec = data;
	struct pcn_shm_window *win = &vec->dev->win;
	pcn_shm_doorbell_fn fn;

	atomic64_inc(&vec->count);
	if (vec->nr == PCN_IVSHMEM_BENCH_VECTOR)
		pcn_doorbell_bench_irq(vec->dev);
	fn = READ_ONCE(win->doorbell);
	if (fn)
		fn(win, vec->nr);
	return IRQ_HANDLED;
}

static int pcn_ivshmem_setup_irqs(struct pcn_ivshmem *dev)
{
	struct pci_dev *pdev = dev->pdev;
	int nvec, i, err;

	nvec = pci_msix_vec_count(pdev);
	if (nvec <= 0)
		return 0;	/* ivshmem-plain: memory only, no doorbells */
	nvec = min(nvec, IVSHMEM_MAX_VECTORS);

	dev->vectors = devm_kcalloc(&pdev->dev, nvec, sizeof(*dev->vectors),
				    GFP_KERNEL);
	if (!dev->vectors)
		return -ENOMEM;

	/* QEMU drops MSI-X messages of a device that is not bus master. */
	pci_set_master(pdev);
	nvec = pci_alloc_irq_vectors(pdev, nvec, nvec, PCI_IRQ_MSIX);
	if (nvec < 0) {
		pci_clear_master(pdev);
		return nvec;
	}

	for (i = 0; i < nvec; i++) {
		dev->vectors[i].dev = dev;
		dev->vectors[i].nr = i;
		err = request_irq(pci_irq_vector(pdev, i), pcn_ivshmem_irq, 0,
				  KBUILD_MODNAME, &dev->vectors[i]);
		if (err)
			goto err_free;
	}
	dev->win.nr_vectors = nvec;
	return 0;

err_free:
	while (--i >= 0)
		free_irq(pci_irq_vector(pdev, i), &dev->vectors[i]);
	pci_free_irq_vectors(pdev);
	pci_clear_master(pdev);
	return err;
}

static void pcn_ivshmem_free_irqs(struct pcn_ivshmem *dev)
{
	struct pci_dev *pdev = dev->pdev;
	unsigned int i;

	if (!dev->win.nr_vectors)
		return;
	for (i = 0; i < dev->win.nr_vectors; i++)
		free_irq(pci_irq_vector(pdev, i), &dev->vectors[i]);
	pci_free_irq_vectors(pdev);
	pci_clear_master(pdev);
	dev->win.nr_vectors = 0;
}

static int pcn_ivshmem_map(struct pcn_ivshmem *dev)
{
	struct pci_dev *pdev = dev->pdev;
	resource_size_t start = pci_resource_start(pdev, IVSHMEM_MEM_BAR);
	resource_size_t len = pci_resource_len(pdev, IVSHMEM_MEM_BAR);

	if (!pci_resource_len(pdev, IVSHMEM_REGS_BAR) || !len) {
		pci_err(pdev, "missing BAR%d or BAR%d\n",
			IVSHMEM_REGS_BAR, IVSHMEM_MEM_BAR);
		return -ENODEV;
	}
	dev->regs = pci_iomap(pdev, IVSHMEM_REGS_BAR, 0);
	if (!dev->regs)
		return -ENOMEM;
	/* BAR2 is RAM on the host side: map it cached, not as MMIO. */
	dev->win.mem = memremap(start, len, MEMREMAP_WB);
	if (!dev->win.mem) {
		pci_iounmap(pdev, dev->regs);
		return -ENOMEM;
	}
	dev->win.size = len;
	return 0;
}

static void pcn_ivshmem_unmap(struct pcn_ivshmem *dev)
{
	memunmap(dev->win.mem);
	pci_iounmap(dev->pdev, dev->regs);
}

static int pcn_ivshmem_probe(struct pci_dev *pdev,
			     const struct pci_device_id *id)
{
	struct pcn_ivshmem *dev;
	int err;

	dev = devm_kzalloc(&pdev->dev, sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	dev->pdev = pdev;
	dev->win.ops = &pcn_ivshmem_ops;
	pcn_doorbell_bench_init(dev);
	pci_set_drvdata(pdev, dev);

	err = pci_enable_device(pdev);
	if (err)
		return err;
	err = pci_request_regions(pdev, KBUILD_MODNAME);
	if (err)
		goto err_disable;
	err = pcn_ivshmem_map(dev);
	if (err)
		goto err_release;

	/* ivshmem-plain has no peer id; the register then reads as 0 or -1. */
	dev->win.self = pci_msix_vec_count(pdev) > 0 ?
			(int)readl(dev->regs + IVSHMEM_REG_IV_POSITION) : -1;
	/* Doorbells arrive as MSI-X only; keep legacy INTx masked. */
	writel(0, dev->regs + IVSHMEM_REG_INTR_MASK);

	err = pcn_ivshmem_setup_irqs(dev);
	if (err)
		goto err_unmap;

	pcn_ivshmem_debugfs_add(dev);
	pci_info(pdev, "peer %d, %zu KiB shared, %u doorbell vectors\n",
		 dev->win.self, dev->win.size >> 10, dev->win.nr_vectors);
	err = pcn_shm_transport_attach(&dev->win);
	if (err && err != -EOPNOTSUPP)
		pci_warn(pdev, "not usable by the shm transport (%d)\n", err);
	return 0;

err_unmap:
	pcn_ivshmem_unmap(dev);
err_release:
	pci_release_regions(pdev);
err_disable:
	pci_disable_device(pdev);
	return err;
}

static void pcn_ivshmem_remove(struct pci_dev *pdev)
{
	struct pcn_ivshmem *dev = pci_get_drvdata(pdev);

	pcn_shm_transport_detach(&dev->win);
	pcn_ivshmem_debugfs_remove(dev);
	pcn_ivshmem_free_irqs(dev);
	pcn_ivshmem_unmap(dev);
	pci_release_regions(pdev);
	pci_disable_device(pdev);
}

static const struct pci_device_id pcn_ivshmem_ids[] = {
	{ PCI_DEVICE(IVSHMEM_VENDOR_ID, IVSHMEM_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, pcn_ivshmem_ids);

struct pci_driver pcn_ivshmem_driver = {
	.name = KBUILD_MODNAME,
	.id_table = pcn_ivshmem_ids,
	.probe = pcn_ivshmem_probe,
	.remove = pcn_ivshmem_remove,
	.dev_groups = pcn_ivshmem_groups,
};
