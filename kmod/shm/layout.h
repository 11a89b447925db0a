/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How a shared-memory window is carved into rings: a header page, then one
 * section per peer that only that peer writes: its control blocks (the
 * producer's of its outgoing rings, the consumer's of its incoming ones)
 * and the slots of its outgoing rings (Documentation/shm-layout.rst).
 */
#ifndef _POPCORN_SHM_LAYOUT_H
#define _POPCORN_SHM_LAYOUT_H

#include <linux/types.h>

#define PCN_SHM_MAGIC		0x4e435053	/* "SPCN" */
#define PCN_SHM_LAYOUT_VERSION	2
#define PCN_SHM_MAX_PEERS	8
#define PCN_SHM_HEADER_SIZE	4096
/* A section starts with a page of control blocks, 128 bytes each. */
#define PCN_SHM_CTL_PAGE	4096
#define PCN_SHM_CTL_BLOCK	128

struct pcn_shm_header {
	__le32 magic;
	__le32 version;
	__le32 max_peers;
	__le32 section_offset;	/* peer 0's section */
	__le32 section_stride;	/* bytes from one section to the next */
	__le32 ring_bytes;	/* data bytes of each ring, a power of two */
};

struct pcn_shm_layout {
	void *base;
	u32 section_offset;
	u32 section_stride;
	u32 ring_bytes;
};

int pcn_shm_layout_init(struct pcn_shm_layout *l, void *base, size_t size);
/* The pieces of ring @src -> @dst. */
void *pcn_shm_prod_ctl(struct pcn_shm_layout *l, unsigned int src,
		       unsigned int dst);
void *pcn_shm_cons_ctl(struct pcn_shm_layout *l, unsigned int src,
		       unsigned int dst);
void *pcn_shm_ring_data(struct pcn_shm_layout *l, unsigned int src,
			unsigned int dst);

#endif /* _POPCORN_SHM_LAYOUT_H */
