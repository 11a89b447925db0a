// SPDX-License-Identifier: GPL-2.0
/*
 * Every kernel computes the same layout from the window's size and checks
 * it against the header the first one wrote, so kernels built with
 * different layouts refuse to talk instead of corrupting each other.
 *
 * Section of peer k:
 *   control page: producer blocks of rings k -> p (p = 0..7), then
 *                 consumer blocks of rings p -> k (p = 0..7)
 *   slots of ring k -> 0, k -> 1, ... k -> 7
 * so a kernel writes only its own section, and reads the others'.
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
	size_t per_section;
	u32 magic;

	BUILD_BUG_ON(2 * PCN_SHM_MAX_PEERS * PCN_SHM_CTL_BLOCK > PCN_SHM_CTL_PAGE);
	if (size < PCN_SHM_HEADER_SIZE + PCN_SHM_MAX_PEERS *
		   (PCN_SHM_CTL_PAGE + PCN_SHM_MAX_PEERS * 4096) || size > SZ_1G)
		return -EINVAL;
	per_section = (size - PCN_SHM_HEADER_SIZE) / PCN_SHM_MAX_PEERS;
	l->base = base;
	l->section_offset = PCN_SHM_HEADER_SIZE;
	l->ring_bytes = rounddown_pow_of_two((per_section - PCN_SHM_CTL_PAGE) /
					     PCN_SHM_MAX_PEERS);
	/* Sections are not spaced by a power of two, so ring N of one and
	 * ring N of the next are not at the same offset modulo 1 MiB, which
	 * QEMU's software TLB copies between slowly.
	 */
	l->section_stride = PCN_SHM_CTL_PAGE + PCN_SHM_MAX_PEERS * l->ring_bytes;

	magic = le32_to_cpu(READ_ONCE(h->magic));
	if (magic != PCN_SHM_MAGIC) {
		h->version = cpu_to_le32(PCN_SHM_LAYOUT_VERSION);
		h->max_peers = cpu_to_le32(PCN_SHM_MAX_PEERS);
		h->section_offset = cpu_to_le32(l->section_offset);
		h->section_stride = cpu_to_le32(l->section_stride);
		h->ring_bytes = cpu_to_le32(l->ring_bytes);
		/* Fields before the magic that says they are there. */
		smp_wmb();
		WRITE_ONCE(h->magic, cpu_to_le32(PCN_SHM_MAGIC));
		return 0;
	}
	smp_rmb();	/* the fields after the magic that says they are there */
	if (le32_to_cpu(h->version) != PCN_SHM_LAYOUT_VERSION) {
		pr_err("window layout v%u is not ours (v%u): the kernels sharing it run different popcorn_shm versions\n",
		       le32_to_cpu(h->version), PCN_SHM_LAYOUT_VERSION);
		return -EPROTO;
	}
	if (le32_to_cpu(h->max_peers) != PCN_SHM_MAX_PEERS ||
	    le32_to_cpu(h->section_offset) != l->section_offset ||
	    le32_to_cpu(h->section_stride) != l->section_stride ||
	    le32_to_cpu(h->ring_bytes) != l->ring_bytes) {
		pr_err("window layout v%u (%u peers, rings of %u bytes) differs from ours (%u peers, rings of %u bytes)\n",
		       le32_to_cpu(h->version), le32_to_cpu(h->max_peers),
		       le32_to_cpu(h->ring_bytes), PCN_SHM_MAX_PEERS, l->ring_bytes);
		return -EPROTO;
	}
	return 0;
}

static void *pcn_shm_section(struct pcn_shm_layout *l, unsigned int peer)
{
	return l->base + l->section_offset + (size_t)peer * l->section_stride;
}

void *pcn_shm_prod_ctl(struct pcn_shm_layout *l, unsigned int src,
		       unsigned int dst)
{
	return pcn_shm_section(l, src) + dst * PCN_SHM_CTL_BLOCK;
}

void *pcn_shm_cons_ctl(struct pcn_shm_layout *l, unsigned int src,
		       unsigned int dst)
{
	return pcn_shm_section(l, dst) +
	       (PCN_SHM_MAX_PEERS + src) * PCN_SHM_CTL_BLOCK;
}

void *pcn_shm_ring_data(struct pcn_shm_layout *l, unsigned int src,
			unsigned int dst)
{
	return pcn_shm_section(l, src) + PCN_SHM_CTL_PAGE +
	       (size_t)dst * l->ring_bytes;
}
