// SPDX-License-Identifier: GPL-2.0
/*
 * Every kernel computes the same layout from the window's size and checks
 * it against the header the first one wrote, so kernels built with
 * different layouts refuse to talk instead of corrupting each other.
 */
#include <linux/errno.h>
#include <linux/log2.h>
#include <linux/printk.h>
#include <linux/sizes.h>

#include "layout.h"
#include "ring.h"

int pcn_shm_layout_init(struct pcn_shm_layout *l, void *base, size_t size)
{
	struct pcn_shm_header *h = base;
	size_t per_ring;
	u32 magic;

	if (size < PCN_SHM_HEADER_SIZE + PCN_SHM_MAX_PEERS * PCN_SHM_MAX_PEERS *
		   (PCN_RING_CTL_SIZE + 4096) || size > SZ_1G)
		return -EINVAL;
	per_ring = (size - PCN_SHM_HEADER_SIZE) /
		   (PCN_SHM_MAX_PEERS * PCN_SHM_MAX_PEERS);
	l->base = base;
	l->ring_offset = PCN_SHM_HEADER_SIZE;
	l->ring_bytes = rounddown_pow_of_two(per_ring - PCN_RING_CTL_SIZE);
	/* Rings are not spaced by a power of two, so ring N's slots and ring
	 * N+1's are not at the same offset modulo 1 MiB, which QEMU's
	 * software TLB copies between slowly.
	 */
	l->ring_stride = PCN_RING_CTL_SIZE + l->ring_bytes;

	magic = le32_to_cpu(READ_ONCE(h->magic));
	if (magic != PCN_SHM_MAGIC) {
		h->version = cpu_to_le32(PCN_SHM_LAYOUT_VERSION);
		h->max_peers = cpu_to_le32(PCN_SHM_MAX_PEERS);
		h->ring_offset = cpu_to_le32(l->ring_offset);
		h->ring_stride = cpu_to_le32(l->ring_stride);
		h->ring_bytes = cpu_to_le32(l->ring_bytes);
		/* Fields before the magic that says they are there. */
		smp_wmb();
		WRITE_ONCE(h->magic, cpu_to_le32(PCN_SHM_MAGIC));
		return 0;
	}
	smp_rmb();	/* the fields after the magic that says they are there */
	if (le32_to_cpu(h->version) != PCN_SHM_LAYOUT_VERSION ||
	    le32_to_cpu(h->max_peers) != PCN_SHM_MAX_PEERS ||
	    le32_to_cpu(h->ring_offset) != l->ring_offset ||
	    le32_to_cpu(h->ring_stride) != l->ring_stride ||
	    le32_to_cpu(h->ring_bytes) != l->ring_bytes) {
		pr_err("window layout v%u (%u peers, rings of %u bytes) is not ours (v%u)\n",
		       le32_to_cpu(h->version), le32_to_cpu(h->max_peers),
		       le32_to_cpu(h->ring_bytes), PCN_SHM_LAYOUT_VERSION);
		return -EPROTO;
	}
	return 0;
}

void *pcn_shm_ring_ctl(struct pcn_shm_layout *l, unsigned int src,
		       unsigned int dst)
{
	return l->base + l->ring_offset +
	       (size_t)(src * PCN_SHM_MAX_PEERS + dst) * l->ring_stride;
}
