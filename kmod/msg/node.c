// SPDX-License-Identifier: GPL-2.0
/*
 * The node table: which kernels we talk to, through which transport, and
 * whether they are up. A node is up once its link is up and it said hello
 * (magic, version, id, boot nonce); it goes down on a transport error, on
 * heartbeat loss, on removal, or when its nonce changes (it restarted).
 */
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "internal.h"

/*
 * A node that sent nothing for dead_ms is down. The heartbeat work runs
 * ten times in that span: it sends a heartbeat on each idle link and
 * judges the silent ones.
 */
static unsigned int dead_ms = 1000;

static int pcn_dead_ms_set(const char *val, const struct kernel_param *kp)
{
	unsigned int ms;
	int err = kstrtouint(val, 0, &ms);

	if (err)
		return err;
	if (ms < 100 || ms > 60000)
		return -ERANGE;
	WRITE_ONCE(dead_ms, ms);
	return 0;
}

static const struct kernel_param_ops pcn_dead_ms_ops = {
	.set = pcn_dead_ms_set,
	.get = param_get_uint,
};
module_param_cb(dead_ms, &pcn_dead_ms_ops, &dead_ms, 0644);
MODULE_PARM_DESC(dead_ms, "A silent node is down after this many ms (100..60000)");

#define PCN_HELLO_EVERY		(HZ / 2)
/*
 * A peer restarts (new nonce) at most this often: a loop of hellos with
 * new nonces would otherwise flap the node, and with it the log, the
 * netlink events and every RPC, from softirq.
 */
#define PCN_RESTART_MIN_GAP	HZ

DEFINE_SRCU(pcn_node_srcu);
struct pcn_node __rcu *pcn_nodes[PCN_MAX_NODES];
/* Serialises node and transport configuration (netlink, module unload). */
DEFINE_MUTEX(pcn_config_lock);
int pcn_self_id = -1;
u64 pcn_self_nonce;

static LIST_HEAD(pcn_transports);

struct pcn_node *pcn_node_get(int id)
{
	if (id < 0 || id >= PCN_MAX_NODES)
		return NULL;
	return srcu_dereference(pcn_nodes[id], &pcn_node_srcu);
}

int pcn_msg_self(void)
{
	return READ_ONCE(pcn_self_id);
}
EXPORT_SYMBOL_GPL(pcn_msg_self);

bool pcn_node_is_up(int id)
{
	struct pcn_node *node;
	bool up;
	int idx;

	idx = srcu_read_lock(&pcn_node_srcu);
	node = pcn_node_get(id);
	up = node && READ_ONCE(node->up);
	srcu_read_unlock(&pcn_node_srcu, idx);
	return up;
}
EXPORT_SYMBOL_GPL(pcn_node_is_up);

void pcn_node_set_link(struct pcn_node *node, void *link)
{
	node->link = link;
}
EXPORT_SYMBOL_GPL(pcn_node_set_link);

void *pcn_node_link(struct pcn_node *node)
{
	return node->link;
}
EXPORT_SYMBOL_GPL(pcn_node_link);

int pcn_node_id(struct pcn_node *node)
{
	return node->id;
}
EXPORT_SYMBOL_GPL(pcn_node_id);

/* Our hello with @nonce: pcn_self_nonce, but for fault injection. */
int pcn_send_hello(struct pcn_node *node, u16 flags, u64 nonce)
{
	struct pcn_hello h = {
		.magic = cpu_to_le32(PCN_PROTO_MAGIC),
		.version = cpu_to_le16(PCN_PROTO_VERSION),
		.flags = cpu_to_le16(flags),
		.node = cpu_to_le32(READ_ONCE(pcn_self_id)),
		.features = 0,
		.nonce = cpu_to_le64(nonce),
	};

	node->last_hello = jiffies;
	return pcn_send(node, PCN_MSG_HELLO, 0, 0, &h, sizeof(h), GFP_ATOMIC);
}

/* Mark @node down; the caller holds node->lock. Returns whether it was up. */
static bool pcn_node_down_locked(struct pcn_node *node)
{
	bool was_up = node->up;

	node->up = false;
	return was_up;
}

static ATOMIC_NOTIFIER_HEAD(pcn_node_chain);

int pcn_msg_register_notifier(struct notifier_block *nb)
{
	return atomic_notifier_chain_register(&pcn_node_chain, nb);
}
EXPORT_SYMBOL_GPL(pcn_msg_register_notifier);

int pcn_msg_unregister_notifier(struct notifier_block *nb)
{
	return atomic_notifier_chain_unregister(&pcn_node_chain, nb);
}
EXPORT_SYMBOL_GPL(pcn_msg_unregister_notifier);

/* Tell user space (the events group) and other modules. */
static void pcn_node_changed(struct pcn_node *node, enum pcn_node_event ev)
{
	pcn_netlink_notify(node);
	atomic_notifier_call_chain(&pcn_node_chain, ev, (void *)(long)node->id);
}

static void pcn_node_went_down(struct pcn_node *node, int err)
{
	pr_info("node %d down (%d)\n", node->id, err);
	pcn_rpc_fail_node(node);
	pcn_load_forget(node->id);
	pcn_node_changed(node, PCN_NODE_DOWN);
}

void pcn_transport_sync(void)
{
	synchronize_srcu(&pcn_node_srcu);
}
EXPORT_SYMBOL_GPL(pcn_transport_sync);

void pcn_transport_link_up(struct pcn_node *node)
{
	bool dead;

	spin_lock_bh(&node->lock);
	dead = node->dead;
	if (!dead) {
		node->link_up = true;
		node->last_rx = jiffies;
	}
	spin_unlock_bh(&node->lock);
	if (!dead)
		pcn_send_hello(node, 0, pcn_self_nonce);
}
EXPORT_SYMBOL_GPL(pcn_transport_link_up);

void pcn_transport_link_down(struct pcn_node *node, int err)
{
	bool was_up;

	spin_lock_bh(&node->lock);
	node->link_up = false;
	was_up = pcn_node_down_locked(node);
	spin_unlock_bh(&node->lock);
	if (was_up)
		pcn_node_went_down(node, err);
}
EXPORT_SYMBOL_GPL(pcn_transport_link_down);

void pcn_node_handle_hello(struct pcn_node *node, const struct pcn_msg *msg)
{
	const struct pcn_hello *h = msg->payload;
	bool was_up, restarted;
	u64 nonce;

	if (msg->len != sizeof(*h) || le32_to_cpu(h->magic) != PCN_PROTO_MAGIC ||
	    le32_to_cpu(h->node) != node->id) {
		atomic64_inc(&node->errors);
		pr_warn_ratelimited("node %d: bad hello\n", node->id);
		return;
	}
	if (le16_to_cpu(h->version) != PCN_PROTO_VERSION) {
		pr_warn_ratelimited("node %d speaks protocol %u, we speak %u\n",
				    node->id, le16_to_cpu(h->version),
				    PCN_PROTO_VERSION);
		atomic64_inc(&node->errors);
		return;
	}
	nonce = le64_to_cpu(h->nonce);

	spin_lock_bh(&node->lock);
	restarted = node->up && node->peer_nonce != nonce;
	if (restarted && time_before(jiffies, node->last_restart + PCN_RESTART_MIN_GAP)) {
		spin_unlock_bh(&node->lock);
		atomic64_inc(&node->errors);
		pr_warn_ratelimited("node %d: restarts too often, hello ignored\n",
				    node->id);
		return;
	}
	if (restarted)
		node->last_restart = jiffies;
	was_up = node->up && !restarted;
	node->peer_nonce = nonce;
	node->up = node->link_up && !node->dead;
	spin_unlock_bh(&node->lock);

	if (restarted)
		pcn_node_went_down(node, -ECONNRESET);
	if (!was_up && READ_ONCE(node->up)) {
		pr_info("node %d up\n", node->id);
		pcn_node_changed(node, PCN_NODE_UP);
	}
	/* Without our link, our own hello follows when it comes up. */
	if (!(le16_to_cpu(h->flags) & PCN_HELLO_F_REPLY) && READ_ONCE(node->link_up))
		pcn_send_hello(node, PCN_HELLO_F_REPLY, pcn_self_nonce);
}

static struct pcn_transport *pcn_transport_find(const char *name)
{
	struct pcn_transport *t;

	list_for_each_entry(t, &pcn_transports, list)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

int pcn_transport_register(struct pcn_transport *t)
{
	int err = 0;

	mutex_lock(&pcn_config_lock);
	if (pcn_transport_find(t->name))
		err = -EEXIST;
	else
		list_add_tail(&t->list, &pcn_transports);
	mutex_unlock(&pcn_config_lock);
	return err;
}
EXPORT_SYMBOL_GPL(pcn_transport_register);

static void pcn_node_free(struct pcn_node *node)
{
	pcn_reasm_drop(node);
	destroy_workqueue(node->wq);
	kfree(node);
}

/* Unpublish, wait for every user, then tear down. pcn_config_lock held. */
static void pcn_node_remove(struct pcn_node *node)
{
	bool was_up;

	RCU_INIT_POINTER(pcn_nodes[node->id], NULL);
	spin_lock_bh(&node->lock);
	node->dead = true;
	node->link_up = false;
	was_up = pcn_node_down_locked(node);
	spin_unlock_bh(&node->lock);
	if (was_up)
		pcn_node_went_down(node, -ENOENT);
	synchronize_srcu(&pcn_node_srcu);
	node->t->link_del(node);
	/* Handlers still queued run, and find the node gone if they reply. */
	drain_workqueue(node->wq);
	pcn_rpc_fail_node(node);
	pcn_node_free(node);
}

/* Remove the nodes reached through @t, or every node when @t is NULL. */
static void pcn_nodes_remove(struct pcn_transport *t)
{
	struct pcn_node *node;
	int i;

	lockdep_assert_held(&pcn_config_lock);
	for (i = 0; i < PCN_MAX_NODES; i++) {
		node = rcu_dereference_protected(pcn_nodes[i],
						 lockdep_is_held(&pcn_config_lock));
		if (node && (!t || node->t == t))
			pcn_node_remove(node);
	}
}

void pcn_transport_unregister(struct pcn_transport *t)
{
	mutex_lock(&pcn_config_lock);
	pcn_nodes_remove(t);
	list_del(&t->list);
	mutex_unlock(&pcn_config_lock);
}
EXPORT_SYMBOL_GPL(pcn_transport_unregister);

int pcn_self_set(int id, struct netlink_ext_ack *extack)
{
	int err = 0;

	mutex_lock(&pcn_config_lock);
	if (pcn_self_id >= 0 && pcn_self_id != id) {
		NL_SET_ERR_MSG(extack, "this kernel already has another node id");
		err = -EEXIST;
	} else if (rcu_access_pointer(pcn_nodes[id])) {
		NL_SET_ERR_MSG(extack, "node id is taken by a peer");
		err = -EEXIST;
	} else {
		WRITE_ONCE(pcn_self_id, id);
	}
	mutex_unlock(&pcn_config_lock);
	return err;
}

int pcn_node_add(int id, const char *transport, const char *endpoint,
		 struct netlink_ext_ack *extack)
{
	struct pcn_transport *t;
	struct pcn_node *node;
	int err;

	mutex_lock(&pcn_config_lock);
	if (pcn_self_id < 0) {
		NL_SET_ERR_MSG(extack, "add this kernel's own node (self) first");
		err = -EINVAL;
		goto out;
	}
	if (id == pcn_self_id || rcu_access_pointer(pcn_nodes[id])) {
		NL_SET_ERR_MSG(extack, "node id already exists");
		err = -EEXIST;
		goto out;
	}
	t = pcn_transport_find(transport);
	if (!t) {
		NL_SET_ERR_MSG(extack, "no such transport (module not loaded?)");
		err = -ENOENT;
		goto out;
	}
	node = kzalloc(sizeof(*node), GFP_KERNEL);
	if (!node) {
		err = -ENOMEM;
		goto out;
	}
	node->id = id;
	node->t = t;
	strscpy(node->endpoint, endpoint, sizeof(node->endpoint));
	spin_lock_init(&node->lock);
	sema_init(&node->frag_sem, PCN_REASM_SLOTS);
	init_waitqueue_head(&node->rpc_credit_wq);
	node->last_rx = jiffies;
	node->last_restart = jiffies - PCN_RESTART_MIN_GAP;
	node->wq = alloc_ordered_workqueue("pcn_node%d", 0, id);
	if (!node->wq) {
		kfree(node);
		err = -ENOMEM;
		goto out;
	}
	err = t->link_add(node, endpoint, extack);
	if (err) {
		destroy_workqueue(node->wq);
		kfree(node);
		goto out;
	}
	rcu_assign_pointer(pcn_nodes[id], node);
out:
	mutex_unlock(&pcn_config_lock);
	return err;
}

int pcn_node_del(int id, struct netlink_ext_ack *extack)
{
	struct pcn_node *node;
	int err = 0;

	mutex_lock(&pcn_config_lock);
	node = rcu_dereference_protected(pcn_nodes[id],
					 lockdep_is_held(&pcn_config_lock));
	if (node) {
		pcn_node_remove(node);
	} else if (id == pcn_self_id) {
		NL_SET_ERR_MSG(extack, "cannot delete this kernel's own node");
		err = -EBUSY;
	} else {
		NL_SET_ERR_MSG(extack, "no such node");
		err = -ENOENT;
	}
	mutex_unlock(&pcn_config_lock);
	return err;
}

void pcn_nodes_remove_all(void)
{
	mutex_lock(&pcn_config_lock);
	pcn_nodes_remove(NULL);
	mutex_unlock(&pcn_config_lock);
}

/*
 * Every heartbeat period: keep idle links alive, declare silent nodes
 * dead, and repeat hellos to nodes whose link is up but who have not
 * answered. A round runs at most two periods after the last, so a node
 * silent for two periods short of dead_ms is down within dead_ms of its
 * last record.
 */
static void pcn_heartbeat(struct work_struct *work);
static DECLARE_DELAYED_WORK(pcn_heartbeat_work, pcn_heartbeat);
static unsigned long pcn_heartbeat_last;
static bool pcn_heartbeat_skipped;

/* @silent: how long @node may be silent; 0 this round: judge nobody. */
static void pcn_heartbeat_node(struct pcn_node *node, unsigned long every,
			       unsigned long silent)
{
	unsigned long now = jiffies;
	unsigned long last_rx;
	bool was_up = false;

	spin_lock_bh(&node->lock);
	last_rx = node->last_rx;
	if (silent && node->up && time_after(now, last_rx + silent))
		was_up = pcn_node_down_locked(node);
	spin_unlock_bh(&node->lock);

	if (was_up) {
		pr_info("node %d silent for %u ms\n", node->id,
			jiffies_to_msecs(now - last_rx));
		pcn_node_went_down(node, -ETIMEDOUT);
		node->t->link_reset(node);
		return;
	}
	if (READ_ONCE(node->up)) {
		if (time_after(now, READ_ONCE(node->last_tx) + every))
			pcn_send(node, PCN_MSG_HEARTBEAT, 0, 0, NULL, 0, GFP_ATOMIC);
	} else if (READ_ONCE(node->link_up) &&
		   time_after(now, node->last_hello + PCN_HELLO_EVERY)) {
		pcn_send_hello(node, 0, pcn_self_nonce);
	}
}

/*
 * A round that runs more than two periods after the last means this
 * kernel stalled (a vCPU the host did not run): the records our peers
 * sent meanwhile are still in the rings, so nobody is judged until the
 * next round; never two rounds in a row, or a kernel always late would
 * never see a peer die.
 */
static void pcn_heartbeat(struct work_struct *work)
{
	unsigned long dead = msecs_to_jiffies(READ_ONCE(dead_ms));
	unsigned long every = max(dead / 10, 1UL), silent = dead - 2 * every;
	struct pcn_node *node;
	int i, idx;

	pcn_heartbeat_skipped = !pcn_heartbeat_skipped &&
		time_after(jiffies, pcn_heartbeat_last + 2 * every);
	if (pcn_heartbeat_skipped)
		silent = 0;

	idx = srcu_read_lock(&pcn_node_srcu);
	for (i = 0; i < PCN_MAX_NODES; i++) {
		node = pcn_node_get(i);
		if (node)
			pcn_heartbeat_node(node, every, silent);
	}
	srcu_read_unlock(&pcn_node_srcu, idx);
	pcn_heartbeat_last = jiffies;
	schedule_delayed_work(&pcn_heartbeat_work, every);
}

int pcn_heartbeat_init(void)
{
	get_random_bytes(&pcn_self_nonce, sizeof(pcn_self_nonce));
	pcn_heartbeat_last = jiffies;
	schedule_delayed_work(&pcn_heartbeat_work, 0);
	return 0;
}

void pcn_heartbeat_exit(void)
{
	cancel_delayed_work_sync(&pcn_heartbeat_work);
}
