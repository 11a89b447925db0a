// SPDX-License-Identifier: GPL-2.0
/*
 * The send side: reserve() carves a record out of the link's ring of
 * bytes without sleeping, in any context, and commit() marks it ready; the
 * link's sender thread writes committed records to the socket in order,
 * many to one sendmsg, and frees their room once they are out.
 *
 * An entry is a __u32 state, then the frame as it goes on the wire (a
 * __le32 length and the record), padded to 8 bytes. One that would cross
 * the end of the ring starts at its beginning instead, after a WRAP.
 */
#include <linux/kthread.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "tcp.h"

enum {
	PCN_TCP_RESERVED,	/* being written */
	PCN_TCP_COMMITTED,	/* to send */
	PCN_TCP_ABORTED,	/* to skip */
	PCN_TCP_WRAP,		/* the rest of the ring is unused this lap */
};

#define PCN_TCP_ENTRY_HDR	8	/* state and frame length */
#define PCN_TCP_TX_BATCH_BYTES	(256 * 1024)

static u32 pcn_tcp_entry_size(u32 len)
{
	return ALIGN(PCN_TCP_ENTRY_HDR + len, 8);
}

static u32 *pcn_tcp_state(struct pcn_tcp_txbuf *b, u32 pos)
{
	return b->mem + (pos & (b->size - 1));
}

int pcn_tcp_txbuf_init(struct pcn_tcp_txbuf *b, u32 size)
{
	size = roundup_pow_of_two(max_t(u32, size, 4 * PCN_TCP_MAX_RECORD));
	b->mem = kvzalloc(size, GFP_KERNEL);
	if (!b->mem)
		return -ENOMEM;
	b->size = size;
	spin_lock_init(&b->lock);
	init_waitqueue_head(&b->wq);
	return 0;
}

void pcn_tcp_txbuf_free(struct pcn_tcp_txbuf *b)
{
	kvfree(b->mem);
}

int pcn_tcp_reserve(struct pcn_node *node, size_t len, struct pcn_msg_tx *tx)
{
	struct pcn_tcp_link *link = pcn_node_link(node);
	struct pcn_tcp_txbuf *b = &link->tx;
	u32 need = pcn_tcp_entry_size(len), off, skip;
	int err = 0;

	if (!len || len > PCN_TCP_MAX_RECORD)
		return -EMSGSIZE;
	atomic_inc(&b->inflight);
	smp_mb__after_atomic();	/* pairs with pcn_tcp_txbuf_stop() */
	spin_lock_bh(&b->lock);
	if (!b->ready) {
		err = -ENOTCONN;
		goto unlock;
	}
	off = b->head & (b->size - 1);
	skip = off + need > b->size ? b->size - off : 0;
	if (b->size - (b->head - b->tail) < skip + need) {
		err = -ENOSPC;
		goto unlock;
	}
	if (skip) {
		*pcn_tcp_state(b, b->head) = PCN_TCP_WRAP;
		off = 0;
	}
	*(u32 *)(b->mem + off) = PCN_TCP_RESERVED;
	/* The entry's state before the head that shows it; see the sender. */
	smp_store_release(&b->head, b->head + skip + need);
	tx->rec = b->mem + off + PCN_TCP_ENTRY_HDR;
	tx->idx = off;
	tx->len = len;
unlock:
	spin_unlock_bh(&b->lock);
	if (err)
		atomic_dec(&b->inflight);
	return err;
}

void pcn_tcp_commit(struct pcn_node *node, struct pcn_msg_tx *tx, bool abort)
{
	struct pcn_tcp_link *link = pcn_node_link(node);
	struct pcn_tcp_txbuf *b = &link->tx;
	void *entry = b->mem + tx->idx;
	struct pcn_tcp_frame *f = entry + sizeof(u32);

	f->len = cpu_to_le32(tx->len);
	/* The record and its length before the state the sender reads. */
	smp_store_release((u32 *)entry, abort ? PCN_TCP_ABORTED : PCN_TCP_COMMITTED);
	atomic_dec(&b->inflight);
	if (!abort && wq_has_sleeper(&b->wq))
		wake_up(&b->wq);
}

/* A session starts: reservations are taken. Under the link's sock_lock. */
void pcn_tcp_txbuf_start(struct pcn_tcp_txbuf *b)
{
	spin_lock_bh(&b->lock);
	b->tail = b->head;
	b->ready = true;
	spin_unlock_bh(&b->lock);
}

/*
 * A session ends: no reservation from now on, and what the old session
 * left unsent is dropped once no sender still writes into it. Under the
 * link's sock_lock, so the sender thread is not inside the ring.
 */
void pcn_tcp_txbuf_stop(struct pcn_tcp_txbuf *b)
{
	spin_lock_bh(&b->lock);
	b->ready = false;
	spin_unlock_bh(&b->lock);
	smp_mb();	/* ready before reading inflight; see reserve */
	while (atomic_read(&b->inflight))
		cond_resched();
	spin_lock_bh(&b->lock);
	b->tail = b->head;
	spin_unlock_bh(&b->lock);
}

/* Whether the entry at the tail is ready to go (or to be skipped). */
static bool pcn_tcp_tx_pending(struct pcn_tcp_txbuf *b)
{
	/* Pairs with reserve: an entry's state is set before the head moves. */
	u32 head = smp_load_acquire(&b->head);
	u32 state;

	if (head == b->tail)
		return false;
	/* Pairs with commit: a record is whole before its state says so. */
	state = smp_load_acquire(pcn_tcp_state(b, b->tail));
	return state != PCN_TCP_RESERVED;
}

/*
 * The committed entries from the tail, as kvecs of their frames; returns
 * how many, with *end the position after the last entry taken (skipped
 * ones included) and *bytes their frames' length.
 */
static int pcn_tcp_tx_collect(struct pcn_tcp_txbuf *b, struct kvec *vec,
			      u32 *end, size_t *bytes)
{
	/* As in pcn_tcp_tx_pending(), for head and for each state. */
	u32 head = smp_load_acquire(&b->head), pos = b->tail, state, len;
	struct pcn_tcp_frame *f;
	int n = 0;

	*bytes = 0;
	while (pos != head && n < PCN_TCP_TX_BATCH && *bytes < PCN_TCP_TX_BATCH_BYTES) {
		state = smp_load_acquire(pcn_tcp_state(b, pos));	/* see above */
		if (state == PCN_TCP_RESERVED)
			break;
		if (state == PCN_TCP_WRAP) {
			pos += b->size - (pos & (b->size - 1));
			continue;
		}
		f = (void *)pcn_tcp_state(b, pos) + sizeof(u32);
		len = le32_to_cpu(f->len);
		if (state == PCN_TCP_COMMITTED) {
			vec[n].iov_base = f;
			vec[n].iov_len = sizeof(*f) + len;
			*bytes += vec[n].iov_len;
			n++;
		}
		pos += pcn_tcp_entry_size(len);
	}
	*end = pos;
	return n;
}

static bool pcn_tcp_tx_stop(void *arg)
{
	struct pcn_tcp_link *link = arg;

	return kthread_should_stop() || test_bit(PCN_TCP_RESET, &link->flags);
}

/* Send what is committed; false when the session's socket failed. */
static bool pcn_tcp_tx_round(struct pcn_tcp_link *link)
{
	struct kvec *vec = link->tx_vec;
	struct pcn_tcp_txbuf *b = &link->tx;
	size_t bytes;
	int n, err = 0;
	u32 end;

	mutex_lock(&link->sock_lock);
	if (!link->sock) {
		mutex_unlock(&link->sock_lock);
		return false;
	}
	n = pcn_tcp_tx_collect(b, vec, &end, &bytes);
	if (n)
		err = pcn_tcp_send(link->sock, vec, n, bytes, pcn_tcp_tx_stop, link);
	if (!err) {
		spin_lock_bh(&b->lock);
		b->tail = end;
		spin_unlock_bh(&b->lock);
		atomic64_add(bytes, &link->tx_bytes);
	}
	mutex_unlock(&link->sock_lock);
	if (err && err != -ECANCELED) {
		pr_info_ratelimited("node %d: send failed (%d), ending the session\n",
				    link->id, err);
		set_bit(PCN_TCP_RESET, &link->flags);
		wake_up(&link->rx_wq);
	}
	return !err;
}

static bool pcn_tcp_tx_wanted(struct pcn_tcp_link *link)
{
	return kthread_should_stop() ||
	       (READ_ONCE(link->tx.ready) && !test_bit(PCN_TCP_RESET, &link->flags) &&
		pcn_tcp_tx_pending(&link->tx));
}

static bool pcn_tcp_tx_unblocked(struct pcn_tcp_link *link)
{
	return kthread_should_stop() || !test_bit(PCN_TCP_RESET, &link->flags);
}

/* Sleeps until a session has something to send. */
int pcn_tcp_tx_thread(void *data)
{
	struct pcn_tcp_link *link = data;

	while (!kthread_should_stop()) {
		wait_event_interruptible(link->tx.wq, pcn_tcp_tx_wanted(link));
		if (kthread_should_stop())
			break;
		/* After a failure the receive thread ends the session: wait. */
		if (!pcn_tcp_tx_round(link))
			wait_event_interruptible_timeout(link->tx.wq,
							 pcn_tcp_tx_unblocked(link),
							 HZ / 10);
	}
	return 0;
}
