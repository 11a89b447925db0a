/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A single-consumer ring in shared memory, written by any number of CPUs
 * of one producer kernel and read by one consumer kernel. It knows nothing
 * of the device the memory comes from.
 *
 * The data area is an array of 64-byte slots. A record takes consecutive
 * slots and never wraps: a record that would is preceded by padding. The
 * first slot starts with struct pcn_ring_rec, whose stamp (the producer's
 * session epoch and the record's slot index) is written last: a record is
 * there when its stamp is the one the consumer expects next.
 *
 * Producers reserve slots with a compare-and-swap on a counter in their
 * own memory, so CPUs never take a lock to send. The consumer publishes
 * how far it has read (tail); the producer never trusts it further than
 * the ring's size.
 *
 * Each side writes only its own control block, which lives in its own
 * section of the window, and no side performs an atomic read-modify-write
 * on shared memory: the ring works over a PCIe window without atomics
 * across the link (NTB). A consumer about to sleep asks for a doorbell by
 * writing a new request number; the producer's CPUs agree in their own
 * memory on which of them answers it.
 *
 * Padding fills the end of the ring before a record that would wrap, and
 * replaces a record its producer aborted. The consumer takes each padding
 * record as a record of its own (counted against its budget), so padding
 * may follow padding, and a producer writing padding forever cannot pin
 * the consumer.
 *
 * Sessions: the producer starts one by writing a new epoch; the consumer
 * resets its tail and acknowledges the epoch; only then does the producer
 * send. A consumer that (re)attaches clears the acknowledgment and will
 * not acknowledge the epoch it found, which forces the producer to start
 * a new session: nothing from an old session is ever taken for new. The
 * refused epoch is kept in the consumer's half of the control page, so
 * it stays refused across a detach and attach (node deleted and added,
 * module reloaded) that the producer has not noticed yet.
 */
#ifndef _POPCORN_SHM_RING_H
#define _POPCORN_SHM_RING_H

#include <linux/atomic.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#define PCN_RING_SLOT		64

/* Written by the producer only, in its section of the window. */
struct pcn_ring_prod_ctl {
	__le32 epoch;		/* current session, 0 = none */
	u8 pad[124];
};

/* Written by the consumer only, in its section of the window. */
struct pcn_ring_cons_ctl {
	__le32 tail;		/* slots consumed in this session */
	__le32 ack_epoch;	/* the session it accepted */
	__le32 kick;		/* request number << 1, | 1: ring my doorbell */
	__le32 refused_epoch;	/* a session it will never accept */
	u8 pad[112];
};

#define PCN_REC_F_PAD		0x1

struct pcn_ring_rec {
	__le64 stamp;		/* epoch << 32 | slot index, written last */
	__le16 nslots;
	__le16 flags;		/* PCN_REC_F_* */
	__le32 len;		/* bytes after this header */
};

struct pcn_ring {
	struct pcn_ring_prod_ctl *prod;
	struct pcn_ring_cons_ctl *cons;
	u8 *data;
	u32 nslots;		/* a power of two */
	u32 max_record;		/* bytes, header included */
	/* producer */
	atomic_t reserve;	/* next slot to hand out */
	u32 epoch;
	atomic_t kick_done;	/* the consumer's last request we answered */
	/* consumer */
	u32 head;		/* next slot to read */
	u32 head_nslots;	/* size of the record peek returned */
	u32 stale_epoch;	/* found at attach: never acknowledged */
	u32 kick_seq;		/* our last doorbell request */
	spinlock_t kick_lock;	/* kick_seq and the window's kick word */
};

/* Largest record a ring of @bytes takes: a quarter, so several senders
 * make progress at once.
 */
static inline size_t pcn_ring_max_record(size_t bytes)
{
	return bytes / 4;
}

void pcn_ring_init(struct pcn_ring *r, void *prod, void *cons, void *data,
		   size_t bytes);

/* Producer side. */
void pcn_ring_prod_start(struct pcn_ring *r);
bool pcn_ring_prod_acked(struct pcn_ring *r);
bool pcn_ring_prod_refused(struct pcn_ring *r);
int pcn_ring_reserve(struct pcn_ring *r, size_t len, u32 *idx, u32 *nslots,
		     void **payload);
void pcn_ring_commit(struct pcn_ring *r, u32 idx, u32 nslots, size_t len,
		     bool pad);
bool pcn_ring_take_kick(struct pcn_ring *r);

/* Consumer side. */
void pcn_ring_cons_attach(struct pcn_ring *r);
int pcn_ring_cons_state(struct pcn_ring *r);
void pcn_ring_cons_accept(struct pcn_ring *r);
int pcn_ring_peek(struct pcn_ring *r, const void **payload, u32 *len);
void pcn_ring_release(struct pcn_ring *r);
void pcn_ring_set_kick(struct pcn_ring *r, bool kick);

#endif /* _POPCORN_SHM_RING_H */
