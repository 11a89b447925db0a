/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A shared-memory window between kernels, as the ring layer sees it: a
 * mapped region, this kernel's peer id, and doorbells. The ivshmem PCI
 * driver is one backend; an NTB or reserved-memory backend fills in the
 * same structure, so nothing above this header knows about ivshmem.
 */
#ifndef _POPCORN_SHM_WINDOW_H
#define _POPCORN_SHM_WINDOW_H

#include <linux/types.h>

struct pcn_shm_window;

struct pcn_shm_window_ops {
	/* Ring doorbell @vector of peer @peer; may be called from any context. */
	int (*ring)(struct pcn_shm_window *win, u16 peer, u16 vector);
};

typedef void (*pcn_shm_doorbell_fn)(struct pcn_shm_window *win,
				    unsigned int vector);

struct pcn_shm_window {
	void *mem;			/* write-back mapping of the window */
	size_t size;
	int self;			/* our peer id, -1 when unknown */
	unsigned int nr_vectors;	/* doorbells we can receive, 0 if none */
	const struct pcn_shm_window_ops *ops;
	/* Called in hard-irq context for every doorbell received. */
	pcn_shm_doorbell_fn doorbell;
	void *priv;			/* owned by whoever set @doorbell */
};

int pcn_shm_window_ring(struct pcn_shm_window *win, u16 peer, u16 vector);
void pcn_shm_window_set_doorbell(struct pcn_shm_window *win,
				 pcn_shm_doorbell_fn fn, void *priv);

#endif /* _POPCORN_SHM_WINDOW_H */
