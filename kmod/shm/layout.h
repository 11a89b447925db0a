/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How a shared-memory window is carved into rings: a header page, then one
 * ring per ordered pair of peers (Documentation/shm-layout.rst).
 */
#ifndef _POPCORN_SHM_LAYOUT_H
#define _POPCORN_SHM_LAYOUT_H

#include <linux/types.h>

#define PCN_SHM_MAGIC		0x4e435053	/* "SPCN" */
#define PCN_SHM_LAYOUT_VERSION	1
#define PCN_SHM_MAX_PEERS	8
#define PCN_SHM_HEADER_SIZE	4096

struct pcn_shm_header {
	__le32 magic;
	__le32 version;
	__le32 max_peers;
	__le32 ring_offset;	/* first ring's control page */
	__le32 ring_stride;	/* bytes from one ring to the next */
	__le32 ring_bytes;	/* data bytes of each ring, a power of two */
};

struct pcn_shm_layout {
	void *base;
	u32 ring_offset;
	u32 ring_stride;
	u32 ring_bytes;
};

int pcn_shm_layout_init(struct pcn_shm_layout *l, void *base, size_t size);
void *pcn_shm_ring_ctl(struct pcn_shm_layout *l, unsigned int src,
		       unsigned int dst);

#endif /* _POPCORN_SHM_LAYOUT_H */
