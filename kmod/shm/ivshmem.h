/* SPDX-License-Identifier: GPL-2.0 */
/* The ivshmem PCI device (QEMU's ivshmem-plain and ivshmem-doorbell). */
#ifndef _POPCORN_SHM_IVSHMEM_H
#define _POPCORN_SHM_IVSHMEM_H

#include <linux/atomic.h>
#include <linux/pci.h>

#include "window.h"

#define IVSHMEM_VENDOR_ID	0x1af4
#define IVSHMEM_DEVICE_ID	0x1110

/* BAR0 registers, see QEMU docs/specs/ivshmem-spec.rst. */
#define IVSHMEM_REG_INTR_MASK	0x00
#define IVSHMEM_REG_INTR_STATUS	0x04
#define IVSHMEM_REG_IV_POSITION	0x08
#define IVSHMEM_REG_DOORBELL	0x0c

#define IVSHMEM_REGS_BAR	0
#define IVSHMEM_MEM_BAR		2
#define IVSHMEM_MAX_VECTORS	64

struct pcn_ivshmem;

struct pcn_ivshmem_vector {
	struct pcn_ivshmem *dev;
	unsigned int nr;
	atomic64_t count;
};

/* Raw doorbell round trips, the yardstick of the transport's doorbell mode. */
#define PCN_IVSHMEM_BENCH_VECTOR	1

struct pcn_doorbell_bench {
	struct mutex lock;		/* one measurement at a time */
	int echo_peer;			/* ring this peer back, -1: do not */
	struct completion pong;
	u32 count;
	u64 p50_ns, p99_ns;
};

struct pcn_ivshmem {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct pcn_shm_window win;
	struct pcn_ivshmem_vector *vectors;
	struct dentry *debugfs;
	struct pcn_doorbell_bench bench;
};

static inline struct pcn_ivshmem *win_to_ivshmem(struct pcn_shm_window *win)
{
	return container_of(win, struct pcn_ivshmem, win);
}

extern struct pci_driver pcn_ivshmem_driver;
extern const struct attribute_group *pcn_ivshmem_groups[];

void pcn_ivshmem_debugfs_add(struct pcn_ivshmem *dev);
void pcn_ivshmem_debugfs_remove(struct pcn_ivshmem *dev);
int pcn_shm_debugfs_init(void);
void pcn_shm_debugfs_exit(void);

/* Test knobs and the raw-doorbell benchmark: the debug variant only. */
#ifdef CONFIG_POPCORN_DEBUG
int pcn_debugfs_read_pair(const char __user *ubuf, size_t count, u32 *a, u32 *b);
void pcn_shm_debug_init(struct dentry *root);
void pcn_shm_debug_add_dev(struct pcn_ivshmem *dev);
void pcn_doorbell_bench_init(struct pcn_ivshmem *dev);
void pcn_doorbell_bench_irq(struct pcn_ivshmem *dev);
void pcn_doorbell_bench_debugfs(struct pcn_ivshmem *dev);
#else
static inline void pcn_shm_debug_init(struct dentry *root) {}
static inline void pcn_shm_debug_add_dev(struct pcn_ivshmem *dev) {}
static inline void pcn_doorbell_bench_init(struct pcn_ivshmem *dev) {}
static inline void pcn_doorbell_bench_irq(struct pcn_ivshmem *dev) {}
static inline void pcn_doorbell_bench_debugfs(struct pcn_ivshmem *dev) {}
#endif

#endif /* _POPCORN_SHM_IVSHMEM_H */
