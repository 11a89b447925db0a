// SPDX-License-Identifier: GPL-2.0
/*
 * Read-only device facts under /sys/bus/pci/devices/<dev>/popcorn/:
 * peer_id, shm_size, vectors, and interrupts (one count per vector).
 */
#include <linux/device.h>
#include <linux/pci.h>
#include <linux/sysfs.h>

#include "ivshmem.h"

static struct pcn_ivshmem *to_ivshmem(struct device *d)
{
	return pci_get_drvdata(to_pci_dev(d));
}

static ssize_t peer_id_show(struct device *d, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%d\n", to_ivshmem(d)->win.self);
}
static DEVICE_ATTR_RO(peer_id);

static ssize_t shm_size_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%zu\n", to_ivshmem(d)->win.size);
}
static DEVICE_ATTR_RO(shm_size);

static ssize_t vectors_show(struct device *d, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%u\n", to_ivshmem(d)->win.nr_vectors);
}
static DEVICE_ATTR_RO(vectors);

static ssize_t interrupts_show(struct device *d, struct device_attribute *attr,
			       char *buf)
{
	struct pcn_ivshmem *dev = to_ivshmem(d);
	unsigned int i;
	int len = 0;

	for (i = 0; i < dev->win.nr_vectors; i++)
		len += sysfs_emit_at(buf, len, "%s%lld", i ? " " : "",
				     atomic64_read(&dev->vectors[i].count));
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}
static DEVICE_ATTR_RO(interrupts);

static struct attribute *pcn_ivshmem_attrs[] = {
	&dev_attr_peer_id.attr,
	&dev_attr_shm_size.attr,
	&dev_attr_vectors.attr,
	&dev_attr_interrupts.attr,
	NULL
};

static const struct attribute_group pcn_ivshmem_group = {
	.name = "popcorn",
	.attrs = pcn_ivshmem_attrs,
};

const struct attribute_group *pcn_ivshmem_groups[] = {
	&pcn_ivshmem_group,
	NULL
};
