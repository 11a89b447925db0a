// SPDX-License-Identifier: GPL-2.0
/*
 * The "shm" transport: one ring per direction to each peer on the window,
 * a receive thread that polls them in budgeted rounds, and doorbells only
 * when the receiver has said it is going to sleep.
 *
 * A doorbell schedules a budgeted poll in softirq (irq_poll, NAPI's
 * sibling), which receives without waking any thread; what needs process
 * context (fragments of large messages) is left to the receive thread.
 * The thread also busy-polls for busy_poll_us after the last record it
 * saw, and advances each link between rounds: a link is up once the peer
 * has acknowledged our session on the ring we send on.
 */
#include <linux/list.h>
#include <linux/irq_poll.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <popcorn/transport.h>

#include "layout.h"
#include "ring.h"
#include "transport.h"

static unsigned int busy_poll_us;
module_param(busy_poll_us, uint, 0644);
MODULE_PARM_DESC(busy_poll_us,
		 "Receive thread polls this long after the last message before sleeping (0: doorbells only)");

#define PCN_SHM_BUDGET		64
#define PCN_SHM_TICK		(HZ / 20)

struct pcn_shm_link {
	struct pcn_node *node;
	unsigned int peer;
	struct pcn_ring tx;
	struct pcn_ring rx;
	bool tx_ready;		/* the peer acknowledged our session */
	bool dead;		/* the window is gone: touch no ring */
	atomic_t tx_inflight;	/* reservations not yet committed */
	struct pcn_shm_window *win;	/* the window the rings are in */
	bool reset;		/* the core asked for a new session */
	bool throttled;		/* the core refused a record: retry on a tick */
	unsigned long rx_busy;	/* bit 0: someone reads @rx (thread or softirq) */
	unsigned long rx_quiet;	/* bit 0: a busy poll withdrew our doorbells */
	void *scratch;
	size_t scratch_size;
	atomic64_t rung, suppressed, errors;
};

static struct {
	struct rw_semaphore lock;	/* links[] and win, for writers and sleepers */
	struct pcn_shm_window *win;
	struct pcn_shm_layout layout;
	/* Read under rcu_read_lock() in softirq, under @lock elsewhere. */
	struct pcn_shm_link __rcu *links[PCN_SHM_MAX_PEERS];
	struct irq_poll iop;
	struct task_struct *thread;
	/*
	 * RPC callers waiting for a reply receive for everyone meanwhile;
	 * doorbells then wake them instead of the receive thread, which
	 * saves a thread switch on the way to the caller.
	 */
	atomic_t pollers;
	wait_queue_head_t pollq;
} pcn_shm;

/* Any context; the thread pointer is cleared (and RCU-synced) on unload. */
static void pcn_shm_wake_thread(void)
{
	struct task_struct *t;

	rcu_read_lock();
	t = READ_ONCE(pcn_shm.thread);
	if (t)
		wake_up_process(t);
	rcu_read_unlock();
}

static void pcn_shm_kick(struct pcn_shm_link *link)
{
	if (pcn_ring_take_kick(&link->tx)) {
		pcn_shm_window_ring(link->win, link->peer, PCN_SHM_RX_VECTOR);
		atomic64_inc(&link->rung);
	} else {
		atomic64_inc(&link->suppressed);
	}
}

static struct pcn_shm_link *pcn_shm_link_get(int i)
{
	return rcu_dereference_check(pcn_shm.links[i], lockdep_is_held(&pcn_shm.lock));
}

static bool pcn_shm_rx_trylock(struct pcn_shm_link *link)
{
	return !test_and_set_bit_lock(0, &link->rx_busy);
}

static void pcn_shm_rx_unlock(struct pcn_shm_link *link)
{
	clear_bit_unlock(0, &link->rx_busy);
}

/*
 * Receive up to @budget records from one link. Returns how many, or
 * -EAGAIN when a record, or a new session, needs process context: only
 * a caller that may sleep (@may_sleep) accepts a session, since that
 * frees the partial messages of the old one.
 */
static int pcn_shm_link_rx(struct pcn_shm_link *link, int budget, bool may_sleep)
{
	bool need_thread = false;
	const void *rec;
	int n = 0, err;
	u32 len;

	if (READ_ONCE(link->throttled) || !pcn_shm_rx_trylock(link))
		return 0;
	/* A link waiting for its reset has nothing we would trust. */
	if (READ_ONCE(link->reset) || smp_load_acquire(&link->dead)) {
		pcn_shm_rx_unlock(link);
		return 0;
	}
	err = pcn_ring_cons_state(&link->rx);	/* -EAGAIN: no session yet */
	if (err == 1 && !may_sleep) {
		pcn_shm_rx_unlock(link);
		return -EAGAIN;
	}
	if (err == 1) {
		pcn_ring_cons_accept(&link->rx);
		pcn_transport_rx_reset(link->node);
	}
	while (err >= 0 && n < budget) {
		err = pcn_ring_peek(&link->rx, &rec, &len);
		if (err <= 0)
			break;
		if (rec) {
			err = pcn_transport_deliver(link->node, rec, len, link->scratch);
			if (err == -EBUSY)
				WRITE_ONCE(link->throttled, true);
			if (err) {
				need_thread = err == -EAGAIN;
				break;
			}
		}
		pcn_ring_release(&link->rx);
		n++;
	}
	/* A peer that writes garbage gets a new session, not our trust. */
	if (err == -EIO)
		WRITE_ONCE(link->reset, true);
	pcn_shm_rx_unlock(link);
	if (err == -EIO) {
		atomic64_inc(&link->errors);
		pr_warn_ratelimited("peer %u: corrupt ring, resetting the link\n",
				    link->peer);
		pcn_shm_wake_thread();
	}
	return need_thread ? -EAGAIN : n;
}

/*
 * Start a new send session once no sender still holds a reservation of
 * the old one: its record would otherwise land in the new session.
 */
static void pcn_shm_tx_restart(struct pcn_shm_link *link)
{
	WRITE_ONCE(link->tx_ready, false);
	smp_mb();	/* tx_ready before reading tx_inflight; see reserve */
	while (atomic_read(&link->tx_inflight))
		cond_resched();
	pcn_ring_prod_start(&link->tx);
}

/* Advance the link's state; called by the receive thread between rounds. */
static void pcn_shm_link_tick(struct pcn_shm_link *link)
{
	if (READ_ONCE(link->dead))
		return;
	/* The core refused a record: offer it again, at most once a tick. */
	WRITE_ONCE(link->throttled, false);
	if (READ_ONCE(link->reset)) {
		/* Forget the bad session before anyone may read the ring again. */
		while (!pcn_shm_rx_trylock(link))
			cond_resched();
		pcn_ring_cons_attach(&link->rx);
		WRITE_ONCE(link->reset, false);
		pcn_shm_rx_unlock(link);
		pcn_transport_link_down(link->node, -ECONNRESET);
		pcn_shm_tx_restart(link);
		return;
	}
	if (!link->tx_ready) {
		if (pcn_ring_prod_acked(&link->tx)) {
			WRITE_ONCE(link->tx_ready, true);
			pcn_transport_link_up(link->node);
		} else if (pcn_ring_prod_refused(&link->tx)) {
			pcn_shm_tx_restart(link);
		}
	} else if (!pcn_ring_prod_acked(&link->tx)) {
		/* The peer reattached: it wants a new session. */
		pcn_transport_link_down(link->node, -ECONNRESET);
		pcn_shm_tx_restart(link);
	}
}

/* Receive from every link in process context. */
static int pcn_shm_poll_all(bool tick)
{
	struct pcn_shm_link *link;
	int i, n = 0, got;

	down_read(&pcn_shm.lock);
	for (i = 0; i < PCN_SHM_MAX_PEERS; i++) {
		link = pcn_shm_link_get(i);
		if (!link)
			continue;
		if (tick)
			pcn_shm_link_tick(link);
		got = pcn_shm_link_rx(link, PCN_SHM_BUDGET, true);
		n += max(got, 0);
	}
	up_read(&pcn_shm.lock);
	return n;
}

/*
 * Ask for doorbells on every link (someone is about to sleep) or stop
 * asking; after asking, true if a record or a new session is already
 * waiting on a link we may read. Any context: it only looks.
 */
static bool pcn_shm_arm(bool kick)
{
	struct pcn_shm_link *link;
	const void *rec;
	bool pending = false;
	int i, state;
	u32 len;

	rcu_read_lock();
	for (i = 0; i < PCN_SHM_MAX_PEERS; i++) {
		link = rcu_dereference(pcn_shm.links[i]);
		/* Acquire: a live link's rings are set up (link_start). */
		if (!link || smp_load_acquire(&link->dead))
			continue;
		pcn_ring_set_kick(&link->rx, kick);
		if (!kick || READ_ONCE(link->throttled) || !pcn_shm_rx_trylock(link))
			continue;
		state = pcn_ring_cons_state(&link->rx);
		pending |= state == 1 ||
			   (!state && pcn_ring_peek(&link->rx, &rec, &len) != 0);
		pcn_shm_rx_unlock(link);
	}
	rcu_read_unlock();
	return pending;
}

/* Softirq: receive what atomic context can, hand the rest to the thread. */
static int pcn_shm_irq_poll(struct irq_poll *iop, int budget)
{
	struct pcn_shm_link *link;
	bool need_thread = false;
	int i, n = 0, got;

	rcu_read_lock();
	for (i = 0; i < PCN_SHM_MAX_PEERS && n < budget; i++) {
		link = rcu_dereference(pcn_shm.links[i]);
		if (!link)
			continue;
		got = pcn_shm_link_rx(link, budget - n, false);
		if (got == -EAGAIN)
			need_thread = true;
		else
			n += got;
	}
	rcu_read_unlock();
	if (n >= budget)
		return n;	/* irq_poll calls again */
	irq_poll_complete(iop);
	if (need_thread)
		pcn_shm_wake_thread();
	else if (pcn_shm_arm(true))
		irq_poll_sched(iop);
	return n;
}

static int pcn_shm_rx_thread(void *data)
{
	unsigned long next_tick = jiffies;
	ktime_t last = ktime_get();
	bool tick;

	while (!kthread_should_stop()) {
		tick = time_after_eq(jiffies, next_tick);
		if (tick)
			next_tick = jiffies + PCN_SHM_TICK;
		if (pcn_shm_poll_all(tick)) {
			last = ktime_get();
			cond_resched();
			continue;
		}
		if (ktime_us_delta(ktime_get(), last) < READ_ONCE(busy_poll_us)) {
			cond_resched();
			cpu_relax();
			continue;
		}
		set_current_state(TASK_INTERRUPTIBLE);
		if (pcn_shm_arm(true) || kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			continue;
		}
		schedule_timeout(PCN_SHM_TICK);
		/* A caller asleep in pcn_shm_wait() still wants doorbells. */
		if (!atomic_read(&pcn_shm.pollers))
			pcn_shm_arm(false);
		last = ktime_get();
	}
	return 0;
}

static void pcn_shm_doorbell(struct pcn_shm_window *win, unsigned int vector)
{
	/* Hard-irq context is an RCU reader: the thread outlives this call. */
	struct task_struct *t = READ_ONCE(pcn_shm.thread);

	if (vector != PCN_SHM_RX_VECTOR)
		return;
	/*
	 * A waiting RPC caller receives for everyone. Otherwise softirq
	 * receives, unless the thread is awake anyway or is to busy-poll
	 * after this message (adaptive and poll modes).
	 */
	if (atomic_read(&pcn_shm.pollers))
		wake_up(&pcn_shm.pollq);
	else if (t && (READ_ONCE(busy_poll_us) || task_is_running(t)))
		wake_up_process(t);
	else
		irq_poll_sched(&pcn_shm.iop);
}

/*
 * Point the link at its two rings in the current window and start a new
 * session; the window's size decides the largest record, and so how much
 * scratch the receive path needs.
 */
static int pcn_shm_link_start(struct pcn_shm_link *link)
{
	struct pcn_shm_layout *l = &pcn_shm.layout;
	unsigned int self = pcn_shm.win->self, peer = link->peer;
	size_t need = pcn_ring_max_record(l->ring_bytes);

	if (link->scratch_size < need) {
		kvfree(link->scratch);
		link->scratch_size = 0;
		link->scratch = kvmalloc(need, GFP_KERNEL);
		if (!link->scratch)
			return -ENOMEM;
		link->scratch_size = need;
	}
	pcn_ring_init(&link->tx, pcn_shm_prod_ctl(l, self, peer),
		      pcn_shm_cons_ctl(l, self, peer),
		      pcn_shm_ring_data(l, self, peer), l->ring_bytes);
	pcn_ring_init(&link->rx, pcn_shm_prod_ctl(l, peer, self),
		      pcn_shm_cons_ctl(l, peer, self),
		      pcn_shm_ring_data(l, peer, self), l->ring_bytes);
	pcn_ring_cons_attach(&link->rx);
	pcn_ring_prod_start(&link->tx);
	link->win = pcn_shm.win;
	WRITE_ONCE(link->tx_ready, false);
	/* Rings set up before anyone lock-free sees the link alive. */
	smp_store_release(&link->dead, false);
	return 0;
}

static int pcn_shm_link_add(struct pcn_node *node, const char *endpoint,
			    struct netlink_ext_ack *extack)
{
	struct pcn_shm_link *link;
	unsigned int peer;
	int err;

	if (kstrtouint(endpoint, 10, &peer) || peer >= PCN_SHM_MAX_PEERS) {
		NL_SET_ERR_MSG(extack, "shm endpoint is a peer id on the window, 0..7");
		return -EINVAL;
	}
	link = kzalloc(sizeof(*link), GFP_KERNEL);
	if (!link)
		return -ENOMEM;
	link->node = node;
	link->peer = peer;

	down_write(&pcn_shm.lock);
	if (!pcn_shm.win) {
		NL_SET_ERR_MSG(extack, "no shared-memory window with doorbells");
		err = -ENODEV;
		goto err_unlock;
	}
	if (peer == pcn_shm.win->self) {
		NL_SET_ERR_MSG(extack, "shm endpoint is this kernel's own peer id");
		err = -EINVAL;
		goto err_unlock;
	}
	if (rcu_access_pointer(pcn_shm.links[peer])) {
		NL_SET_ERR_MSG(extack, "another node already uses this peer id");
		err = -EEXIST;
		goto err_unlock;
	}
	err = pcn_shm_link_start(link);
	if (err)
		goto err_unlock;
	pcn_node_set_link(node, link);
	rcu_assign_pointer(pcn_shm.links[peer], link);
	up_write(&pcn_shm.lock);
	pcn_shm_wake_thread();
	return 0;

err_unlock:
	up_write(&pcn_shm.lock);
	kfree(link);
	return err;
}

static void pcn_shm_link_del(struct pcn_node *node)
{
	struct pcn_shm_link *link = pcn_node_link(node);

	down_write(&pcn_shm.lock);
	if (rcu_access_pointer(pcn_shm.links[link->peer]) == link)
		RCU_INIT_POINTER(pcn_shm.links[link->peer], NULL);
	up_write(&pcn_shm.lock);
	/* Softirq readers are done with it after this. */
	synchronize_rcu();
	/* Tell the peer we are gone: it must not trust this session again. */
	down_read(&pcn_shm.lock);
	if (!link->dead)
		pcn_ring_cons_attach(&link->rx);
	up_read(&pcn_shm.lock);
	kvfree(link->scratch);
	kfree(link);
}

static void pcn_shm_link_reset(struct pcn_node *node)
{
	struct pcn_shm_link *link = pcn_node_link(node);

	WRITE_ONCE(link->reset, true);
	pcn_shm_wake_thread();
}

static size_t pcn_shm_max_record(struct pcn_node *node)
{
	struct pcn_shm_link *link = pcn_node_link(node);

	return link->tx.max_record - sizeof(struct pcn_ring_rec);
}

static int pcn_shm_reserve(struct pcn_node *node, size_t len,
			   struct pcn_msg_tx *tx)
{
	struct pcn_shm_link *link = pcn_node_link(node);
	int err;

	atomic_inc(&link->tx_inflight);
	smp_mb__after_atomic();	/* pairs with pcn_shm_tx_restart() */
	if (!READ_ONCE(link->tx_ready)) {
		err = -ENOTCONN;
		goto out;
	}
	err = pcn_ring_reserve(&link->tx, len, &tx->idx, &tx->slots, &tx->rec);
	if (err == -EIO) {
		atomic64_inc(&link->errors);
		pr_warn_ratelimited("peer %u: its tail %u is not within our %u reserved slots, resetting the link\n",
				    link->peer, le32_to_cpu(READ_ONCE(link->tx.cons->tail)),
				    atomic_read(&link->tx.reserve));
		pcn_shm_link_reset(node);
		err = -ENOTCONN;
	}
	if (!err) {
		tx->len = len;
		return 0;	/* commit ends the reservation */
	}
out:
	atomic_dec(&link->tx_inflight);
	return err;
}

static void pcn_shm_commit(struct pcn_node *node, struct pcn_msg_tx *tx,
			   bool abort)
{
	struct pcn_shm_link *link = pcn_node_link(node);

	pcn_ring_commit(&link->tx, tx->idx, tx->slots, tx->len, abort);
	if (!abort)
		pcn_shm_kick(link);
	atomic_dec(&link->tx_inflight);
}

/* A waiting RPC caller receives for every link, not only its own. */
static int pcn_shm_poll(struct pcn_node *node, int budget)
{
	return pcn_shm_poll_all(false);
}

/*
 * The caller starts or stops waiting in pcn_shm_poll()/pcn_shm_wait().
 * A spinning caller wants no doorbells; when the last caller leaves, the
 * receive thread may be asleep without them, so they are asked for again
 * and the thread woken if something slipped in.
 */
static void pcn_shm_set_polling(struct pcn_node *node, bool polling,
				bool spin)
{
	if (polling) {
		atomic_inc(&pcn_shm.pollers);
		if (spin)
			pcn_shm_arm(false);
		return;
	}
	if (atomic_dec_and_test(&pcn_shm.pollers) && pcn_shm_arm(true))
		pcn_shm_wake_thread();
}

/*
 * Sleep until a doorbell, a wake() or @timeout jiffies; the caller polls
 * after. The nap is bounded so a lost wakeup costs a tick, not a timeout.
 */
static void pcn_shm_wait(struct pcn_node *node, long timeout,
			 struct completion *done)
{
	ktime_t until = ktime_add_us(ktime_get(),
				     min_t(u64, READ_ONCE(busy_poll_us),
					   jiffies_to_usecs(timeout)));
	DEFINE_WAIT(wait);

	/* Adaptive mode: spin a while before paying for a doorbell. */
	while (ktime_before(ktime_get(), until)) {
		if (pcn_shm_poll_all(false) || completion_done(done))
			return;
		cond_resched();
		cpu_relax();
	}
	prepare_to_wait(&pcn_shm.pollq, &wait, TASK_UNINTERRUPTIBLE);
	if (!completion_done(done) && !pcn_shm_arm(true))
		schedule_timeout(min_t(long, timeout, PCN_SHM_TICK));
	finish_wait(&pcn_shm.pollq, &wait);
}

static void pcn_shm_wake(struct pcn_node *node)
{
	/* A spinning caller, the common case, sleeps in no queue. */
	if (wq_has_sleeper(&pcn_shm.pollq))
		wake_up(&pcn_shm.pollq);
}

/*
 * Bottom halves off (a NAPI poll): receive from @node's link what atomic
 * context can, without waiting for a doorbell. While the caller polls
 * @again (a socket's busy poll), the peer rings none; the first call
 * without @again asks for them once more, before its own look, so a
 * record committed meanwhile is either seen here or rings.
 */
static int pcn_shm_rx_poll(struct pcn_node *node, int budget, bool again)
{
	struct pcn_shm_link *link = pcn_node_link(node);
	int n;

	if (again) {
		if (!test_and_set_bit(0, &link->rx_quiet))
			pcn_ring_set_kick(&link->rx, false);
	} else if (test_and_clear_bit(0, &link->rx_quiet)) {
		pcn_ring_set_kick(&link->rx, true);
	}
	n = pcn_shm_link_rx(link, budget, false);
	if (n != -EAGAIN)
		return n;
	pcn_shm_wake_thread();
	return 0;
}

static void pcn_shm_rx_resume(struct pcn_node *node)
{
	struct pcn_shm_link *link = pcn_node_link(node);

	WRITE_ONCE(link->throttled, false);
	pcn_shm_wake_thread();
}

static void pcn_shm_get_stats(struct pcn_node *node,
			      struct pcn_transport_stats *st)
{
	struct pcn_shm_link *link = pcn_node_link(node);

	st->doorbells_rung = atomic64_read(&link->rung);
	st->doorbells_suppressed = atomic64_read(&link->suppressed);
	st->errors = atomic64_read(&link->errors);
}

#ifdef CONFIG_POPCORN_DEBUG
/*
 * Fault injection: send @peer a record no correct producer writes (its
 * slot count runs past the ring), as a buggy or hostile kernel would.
 * The peer must drop it, reset the link and carry on.
 */
int pcn_shm_inject_corrupt(unsigned int peer)
{
	struct pcn_shm_link *link;
	struct pcn_ring_rec *rec;
	void *payload;
	u32 idx, n;
	int err = -ENOENT;

	down_read(&pcn_shm.lock);
	link = peer < PCN_SHM_MAX_PEERS ? pcn_shm_link_get(peer) : NULL;
	if (link && !READ_ONCE(link->tx_ready))
		err = -ENOTCONN;
	else if (link)
		err = pcn_ring_reserve(&link->tx, 0, &idx, &n, &payload);
	if (!err) {
		rec = payload - sizeof(*rec);
		rec->nslots = cpu_to_le16(U16_MAX);
		rec->flags = 0;
		rec->len = cpu_to_le32(U32_MAX);
		smp_wmb();	/* garbage before the stamp that shows it */
		WRITE_ONCE(rec->stamp, cpu_to_le64((u64)link->tx.epoch << 32 | idx));
		pcn_shm_kick(link);
	}
	up_read(&pcn_shm.lock);
	return err;
}
#endif

static struct pcn_transport pcn_shm_transport = {
	.name = "shm",
	.owner = THIS_MODULE,
	.link_add = pcn_shm_link_add,
	.link_del = pcn_shm_link_del,
	.link_reset = pcn_shm_link_reset,
	.max_record = pcn_shm_max_record,
	.reserve = pcn_shm_reserve,
	.commit = pcn_shm_commit,
	.poll = pcn_shm_poll,
	.set_polling = pcn_shm_set_polling,
	.wait = pcn_shm_wait,
	.rx_poll = pcn_shm_rx_poll,
	.wake = pcn_shm_wake,
	.rx_resume = pcn_shm_rx_resume,
	.get_stats = pcn_shm_get_stats,
};

int pcn_shm_transport_attach(struct pcn_shm_window *win)
{
	int i, err;

	if (win->nr_vectors <= PCN_SHM_RX_VECTOR || win->self < 0 ||
	    win->self >= PCN_SHM_MAX_PEERS)
		return -EOPNOTSUPP;
	down_write(&pcn_shm.lock);
	if (pcn_shm.win) {
		err = -EBUSY;
		goto out;
	}
	err = pcn_shm_layout_init(&pcn_shm.layout, win->mem, win->size);
	if (err)
		goto out;
	if (win->self >= PCN_SHM_MAX_PEERS) {
		err = -ERANGE;
		goto out;
	}
	pcn_shm.win = win;
	/* Links that outlived a window that went away start over on this one. */
	for (i = 0; i < PCN_SHM_MAX_PEERS; i++) {
		struct pcn_shm_link *link = pcn_shm_link_get(i);

		if (link && link->peer != win->self && pcn_shm_link_start(link))
			pr_warn("peer %u: no memory to restart the link\n", link->peer);
	}
	pcn_shm_window_set_doorbell(win, pcn_shm_doorbell, NULL);
out:
	up_write(&pcn_shm.lock);
	if (!err)
		pcn_shm_wake_thread();
	return err;
}

/*
 * The window is going away (device unbound or removed): no ring may be
 * touched once this returns. Links stay, dead, with their nodes down,
 * until they are deleted or a window comes back.
 */
void pcn_shm_transport_detach(struct pcn_shm_window *win)
{
	struct pcn_shm_link *link;
	int i;

	down_write(&pcn_shm.lock);
	if (pcn_shm.win != win) {
		up_write(&pcn_shm.lock);
		return;
	}
	pcn_shm_window_set_doorbell(win, NULL, NULL);
	for (i = 0; i < PCN_SHM_MAX_PEERS; i++) {
		link = pcn_shm_link_get(i);
		if (link) {
			WRITE_ONCE(link->dead, true);
			WRITE_ONCE(link->tx_ready, false);
		}
	}
	pcn_shm.win = NULL;
	up_write(&pcn_shm.lock);

	/* Fail the RPCs of callers polling us, then wait for every user. */
	down_read(&pcn_shm.lock);
	for (i = 0; i < PCN_SHM_MAX_PEERS; i++) {
		link = pcn_shm_link_get(i);
		if (link)
			pcn_transport_link_down(link->node, -ENODEV);
	}
	up_read(&pcn_shm.lock);
	synchronize_rcu();
	pcn_transport_sync();
	/* The rx thread and pollers check @dead under the lock. */
	down_write(&pcn_shm.lock);
	up_write(&pcn_shm.lock);
}

int pcn_shm_transport_init(void)
{
	struct task_struct *t;
	int err;

	init_rwsem(&pcn_shm.lock);
	init_waitqueue_head(&pcn_shm.pollq);
	irq_poll_init(&pcn_shm.iop, PCN_SHM_BUDGET, pcn_shm_irq_poll);
	t = kthread_run(pcn_shm_rx_thread, NULL, "pcn_shm_rx");
	if (IS_ERR(t))
		return PTR_ERR(t);
	WRITE_ONCE(pcn_shm.thread, t);
	err = pcn_transport_register(&pcn_shm_transport);
	if (err) {
		kthread_stop(t);
		pcn_shm.thread = NULL;
	}
	return err;
}

void pcn_shm_transport_exit(void)
{
	struct task_struct *t = pcn_shm.thread;

	/* Deletes our nodes, and with them every link. */
	pcn_transport_unregister(&pcn_shm_transport);
	irq_poll_disable(&pcn_shm.iop);
	/* Doorbells and softirq may still look for the thread: hide it first. */
	WRITE_ONCE(pcn_shm.thread, NULL);
	synchronize_rcu();
	kthread_stop(t);
}
