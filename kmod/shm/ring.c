// SPDX-License-Identifier: GPL-2.0
/* The shared-memory ring; see ring.h for the protocol. */
#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/random.h>

#include "ring.h"

static u64 pcn_ring_stamp(u32 epoch, u32 idx)
{
	return (u64)epoch << 32 | idx;
}

static struct pcn_ring_rec *pcn_ring_slot(struct pcn_ring *r, u32 idx)
{
	return (struct pcn_ring_rec *)(r->data +
		(size_t)(idx & (r->nslots - 1)) * PCN_RING_SLOT);
}

void pcn_ring_init(struct pcn_ring *r, void *prod, void *cons, void *data,
		   size_t bytes)
{
	BUILD_BUG_ON(sizeof(struct pcn_ring_prod_ctl) != 128);
	BUILD_BUG_ON(sizeof(struct pcn_ring_cons_ctl) != 128);
	r->prod = prod;
	r->cons = cons;
	r->data = data;
	r->nslots = bytes / PCN_RING_SLOT;
	r->max_record = pcn_ring_max_record(bytes);
	atomic_set(&r->reserve, 0);
	r->epoch = 0;
	atomic_set(&r->kick_done, 0);
	r->head = 0;
	r->stale_epoch = 0;
	r->kick_seq = 0;
	spin_lock_init(&r->kick_lock);
}

/* Start a new session with a fresh epoch; sending waits for its ack. */
void pcn_ring_prod_start(struct pcn_ring *r)
{
	u32 epoch;

	do {
		epoch = get_random_u32();
	} while (!epoch || epoch == r->epoch ||
		 epoch == le32_to_cpu(READ_ONCE(r->prod->epoch)));
	r->epoch = epoch;
	atomic_set(&r->reserve, 0);
	/* The consumer resets its tail when it sees the new epoch. */
	smp_store_release(&r->prod->epoch, cpu_to_le32(epoch));
}

bool pcn_ring_prod_acked(struct pcn_ring *r)
{
	/* Pairs with the consumer's release: its tail reset is visible. */
	return le32_to_cpu(smp_load_acquire(&r->cons->ack_epoch)) == r->epoch;
}

/*
 * Whether the consumer refuses our session for good: it acknowledged it
 * and detached before we saw the acknowledgment, so it takes the session
 * as one that may have been read from. Only a new session gets through.
 */
bool pcn_ring_prod_refused(struct pcn_ring *r)
{
	return le32_to_cpu(READ_ONCE(r->cons->refused_epoch)) == r->epoch;
}

/*
 * Slots handed out and not given back yet: our counter, then the
 * consumer's tail. The counter never runs more than the ring ahead of the
 * tail, and the tail read after it is only newer, so the difference fits
 * the ring, unless other CPUs reserved and the consumer took their records
 * in between, which puts the tail past the counter we read: read again.
 * A tail that stays out of bounds was not written by a consumer of ours.
 */
static int pcn_ring_used(struct pcn_ring *r, u32 *old, u32 *used)
{
	int tries;

	for (tries = 0; tries < 8; tries++) {
		*old = atomic_read(&r->reserve);
		smp_rmb();	/* our counter before the tail */
		*used = *old - le32_to_cpu(smp_load_acquire(&r->cons->tail));
		if (*used <= r->nslots)
			return 0;
	}
	return -EIO;
}

/*
 * Hand out room for a record of @len bytes: -ENOSPC when full, -EMSGSIZE
 * when it could never fit, -EIO when the consumer's tail makes no sense.
 */
int pcn_ring_reserve(struct pcn_ring *r, size_t len, u32 *idx, u32 *nslots,
		     void **payload)
{
	u32 n, old, pad, used;
	struct pcn_ring_rec *rec;
	int err;

	if (len > r->max_record - sizeof(*rec))
		return -EMSGSIZE;
	n = DIV_ROUND_UP(sizeof(*rec) + len, PCN_RING_SLOT);
	do {
		err = pcn_ring_used(r, &old, &used);
		if (err)
			return err;
		pad = r->nslots - (old & (r->nslots - 1));
		if (pad >= n)
			pad = 0;
		if (used + pad + n > r->nslots)
			return -ENOSPC;
	} while (atomic_cmpxchg(&r->reserve, old, old + pad + n) != old);

	if (pad)
		pcn_ring_commit(r, old, pad, 0, true);
	*idx = old + pad;
	*nslots = n;
	*payload = pcn_ring_slot(r, *idx) + 1;
	return 0;
}

void pcn_ring_commit(struct pcn_ring *r, u32 idx, u32 nslots, size_t len,
		     bool pad)
{
	struct pcn_ring_rec *rec = pcn_ring_slot(r, idx);

	rec->nslots = cpu_to_le16(nslots);
	rec->flags = cpu_to_le16(pad ? PCN_REC_F_PAD : 0);
	rec->len = cpu_to_le32(pad ? 0 : len);
	/* Payload and header before the stamp that makes them visible. */
	smp_wmb();
	WRITE_ONCE(rec->stamp, cpu_to_le64(pcn_ring_stamp(r->epoch, idx)));
}

/*
 * Should the producer ring the consumer's doorbell? Once per request of
 * the consumer's: the CPU that claims it in our own memory rings.
 */
bool pcn_ring_take_kick(struct pcn_ring *r)
{
	u32 want, done;

	/* Order the stamp before reading the consumer's request (set_kick). */
	smp_mb();
	want = le32_to_cpu(READ_ONCE(r->cons->kick));
	if (!(want & 1))
		return false;
	done = atomic_read(&r->kick_done);
	return want != done && atomic_cmpxchg(&r->kick_done, done, want) == done;
}

/*
 * Forget the producer's session: it has to start a new one. A session
 * someone acknowledged may have been read from, and one we refused stays
 * refused; one nobody acknowledged holds nothing yet and is safe to accept.
 */
void pcn_ring_cons_attach(struct pcn_ring *r)
{
	u32 epoch = le32_to_cpu(READ_ONCE(r->prod->epoch));
	u32 ack = le32_to_cpu(READ_ONCE(r->cons->ack_epoch));
	u32 refused = le32_to_cpu(READ_ONCE(r->cons->refused_epoch));
	unsigned long flags;

	r->stale_epoch = epoch == ack || epoch == refused ? epoch : 0;
	WRITE_ONCE(r->cons->refused_epoch, cpu_to_le32(r->stale_epoch));
	WRITE_ONCE(r->cons->ack_epoch, 0);
	/* Go on from the last request number, which the producer has seen. */
	spin_lock_irqsave(&r->kick_lock, flags);
	r->kick_seq = le32_to_cpu(READ_ONCE(r->cons->kick)) >> 1;
	WRITE_ONCE(r->cons->kick, cpu_to_le32(r->kick_seq << 1));
	spin_unlock_irqrestore(&r->kick_lock, flags);
	r->head = 0;
}

/*
 * Where the consumer stands with the producer's session: 0 in step, 1
 * when a new session waits to be accepted (pcn_ring_cons_accept()),
 * -EAGAIN when there is no session to read.
 */
int pcn_ring_cons_state(struct pcn_ring *r)
{
	/* Pairs with pcn_ring_prod_start()'s release of the epoch. */
	u32 epoch = le32_to_cpu(smp_load_acquire(&r->prod->epoch));

	if (!epoch || epoch == r->stale_epoch)
		return -EAGAIN;
	return epoch != le32_to_cpu(READ_ONCE(r->cons->ack_epoch));
}

/* Accept the producer's new session, from its first slot. */
void pcn_ring_cons_accept(struct pcn_ring *r)
{
	u32 epoch = le32_to_cpu(READ_ONCE(r->prod->epoch));

	r->head = 0;
	WRITE_ONCE(r->cons->tail, 0);
	/* The producer must see the zero tail before the acknowledgment. */
	smp_store_release(&r->cons->ack_epoch, cpu_to_le32(epoch));
}

/*
 * The next record, checked against the ring's bounds: 1 when there is one
 * (padding has a NULL @payload and must be released like any record), 0
 * when the ring is empty, -EIO when the producer wrote something no
 * producer of ours would.
 */
int pcn_ring_peek(struct pcn_ring *r, const void **payload, u32 *len)
{
	u32 epoch = le32_to_cpu(READ_ONCE(r->cons->ack_epoch));
	struct pcn_ring_rec *rec = pcn_ring_slot(r, r->head);
	u32 nslots, flags, room;

	if (le64_to_cpu(READ_ONCE(rec->stamp)) != pcn_ring_stamp(epoch, r->head))
		return 0;
	/* Pairs with pcn_ring_commit()'s smp_wmb(): header after stamp. */
	smp_rmb();
	nslots = le16_to_cpu(READ_ONCE(rec->nslots));
	flags = le16_to_cpu(READ_ONCE(rec->flags));
	*len = le32_to_cpu(READ_ONCE(rec->len));
	room = r->nslots - (r->head & (r->nslots - 1));
	if (!nslots || nslots > room || (flags & ~PCN_REC_F_PAD) ||
	    *len > (size_t)nslots * PCN_RING_SLOT - sizeof(*rec) ||
	    *len > r->max_record)
		return -EIO;
	/* Sizes are ours now: the peer may rewrite the record meanwhile. */
	r->head_nslots = nslots;
	if (flags & PCN_REC_F_PAD) {
		*payload = NULL;
		*len = 0;
	} else {
		*payload = rec + 1;
	}
	return 1;
}

/* Done with the record peek returned: hand its slots back. */
void pcn_ring_release(struct pcn_ring *r)
{
	r->head += r->head_nslots;
	/* Our reads of the record are done before its slots go back. */
	smp_store_release(&r->cons->tail, cpu_to_le32(r->head));
}

/*
 * Ask the producer for a doorbell (before sleeping: a new request) or stop
 * asking. After asking, the caller must look at the ring once more: a
 * record committed before the producer saw the request rings no doorbell.
 */
void pcn_ring_set_kick(struct pcn_ring *r, bool kick)
{
	unsigned long flags;

	/*
	 * The receive thread, softirq, RPC callers and busy polls all ask
	 * and withdraw: each request gets its own number, and the word in
	 * the window is the last one taken.
	 */
	spin_lock_irqsave(&r->kick_lock, flags);
	if (kick)
		r->kick_seq++;
	WRITE_ONCE(r->cons->kick, cpu_to_le32(r->kick_seq << 1 | kick));
	spin_unlock_irqrestore(&r->kick_lock, flags);
	if (!kick)
		return;
	/* Pairs with pcn_ring_take_kick(): request before our second look. */
	smp_mb();
}
