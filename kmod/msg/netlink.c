// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "popcorn": nodes, ping, bench, stats, node
 * events and load reports. Documentation/netlink/specs/popcorn.yaml describes it; the UAPI
 * header api/uapi/linux/popcorn.h is generated from that spec.
 */
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <uapi/linux/popcorn.h>

#include "internal.h"

static struct netlink_range_validation pcn_size_range = {
	.max = PCN_MSG_MAX_LEN,
};

static struct netlink_range_validation pcn_timeout_range = {
	.min = 1, .max = 60000,
};

static struct netlink_range_validation pcn_bench_count_range = {
	.min = 1, .max = 1000000,
};

/*
 * Each operation accepts only its own attributes (as
 * Documentation/netlink/specs/popcorn.yaml lists them): anything else is
 * refused by strict validation, an attribute above the op's maxattr as
 * unknown, one below it that the op does not take as unsupported.
 */
#define PCN_NL_NODE_ID	NLA_POLICY_MAX(NLA_U32, PCN_MAX_NODES - 1)

static const struct nla_policy pcn_nl_node_add_policy[POPCORN_A_NODE_ENDPOINT + 1] = {
	[POPCORN_A_NODE_ID] = PCN_NL_NODE_ID,
	[POPCORN_A_NODE_SELF] = { .type = NLA_FLAG },
	[POPCORN_A_NODE_TRANSPORT] = { .type = NLA_NUL_STRING, .len = 15 },
	[POPCORN_A_NODE_ENDPOINT] = { .type = NLA_NUL_STRING, .len = 63 },
};

/* node-del, and node-get: do takes the id, dump nothing (ignored). */
static const struct nla_policy pcn_nl_node_id_policy[POPCORN_A_NODE_ID + 1] = {
	[POPCORN_A_NODE_ID] = PCN_NL_NODE_ID,
};

static const struct nla_policy pcn_nl_ping_policy[POPCORN_A_PING_POLL + 1] = {
	[POPCORN_A_NODE_ID] = PCN_NL_NODE_ID,
	[POPCORN_A_PING_COUNT] = NLA_POLICY_RANGE(NLA_U32, 1, POPCORN_PING_MAX_COUNT),
	[POPCORN_A_PING_SIZE] = NLA_POLICY_FULL_RANGE(NLA_U32, &pcn_size_range),
	[POPCORN_A_PING_TIMEOUT_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &pcn_timeout_range),
	[POPCORN_A_PING_POLL] = { .type = NLA_FLAG },
};

static const struct nla_policy pcn_nl_bench_policy[POPCORN_A_BENCH_SIZE + 1] = {
	[POPCORN_A_NODE_ID] = PCN_NL_NODE_ID,
	[POPCORN_A_BENCH_COUNT] = NLA_POLICY_FULL_RANGE(NLA_U32, &pcn_bench_count_range),
	[POPCORN_A_BENCH_SIZE] = NLA_POLICY_FULL_RANGE(NLA_U32, &pcn_size_range),
};

static const struct nla_policy pcn_nl_load_set_policy[POPCORN_A_LOAD_CPU_BUSY + 1] = {
	[POPCORN_A_LOAD_ACCEPT_QUEUE] = { .type = NLA_U32 },
	[POPCORN_A_LOAD_ESTABLISHED] = { .type = NLA_U32 },
	[POPCORN_A_LOAD_CPU_BUSY] = NLA_POLICY_MAX(NLA_U32, POPCORN_LOAD_BUSY_MAX),
};

static struct genl_family pcn_family;

enum { PCN_MCGRP_EVENTS };

static const struct genl_multicast_group pcn_mcgrps[] = {
	[PCN_MCGRP_EVENTS] = { .name = POPCORN_MCGRP_EVENTS },
};

/*
 * A required attribute: the missing type for tools, words for people.
 * @msg must be a string literal (extack keeps the pointer).
 */
static int pcn_nl_require(struct genl_info *info, int attr, const char *msg)
{
	if (!GENL_REQ_ATTR_CHECK(info, attr))
		return 0;
	if (info->extack)
		info->extack->_msg = msg;
	return -EINVAL;
}

static int pcn_nl_node_id(struct genl_info *info, int *id)
{
	if (pcn_nl_require(info, POPCORN_A_NODE_ID, "node id missing"))
		return -EINVAL;
	*id = nla_get_u32(info->attrs[POPCORN_A_NODE_ID]);
	return 0;
}

/* A signal stopped the operation (ping and bench stop on any). */
static bool pcn_nl_signalled(int err)
{
	return err == -EINTR || err == -ERESTARTSYS;
}

/*
 * Netlink acks no request that fails with -EINTR (netlink_rcv_skb() takes
 * it for a dump that started), and -ERESTARTSYS must not reach user space:
 * a caller that handled the signal and waits for the answer gets this one.
 */
static int pcn_nl_interrupted(struct genl_info *info)
{
	NL_SET_ERR_MSG(info->extack, "interrupted");
	return -ECANCELED;
}

static u32 pcn_nl_u32(struct genl_info *info, int attr, u32 def)
{
	return info->attrs[attr] ? nla_get_u32(info->attrs[attr]) : def;
}

/* One node's description; @node is NULL for this kernel itself. */
static int pcn_nl_fill_node(struct sk_buff *skb, struct pcn_node *node,
			    u32 portid, u32 seq, int flags, u8 cmd)
{
	void *hdr;
	bool up;

	hdr = genlmsg_put(skb, portid, seq, &pcn_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (!node) {
		if (nla_put_u32(skb, POPCORN_A_NODE_ID, READ_ONCE(pcn_self_id)) ||
		    nla_put_flag(skb, POPCORN_A_NODE_SELF) ||
		    nla_put_u8(skb, POPCORN_A_NODE_STATE, POPCORN_NODE_STATE_UP))
			goto err;
		genlmsg_end(skb, hdr);
		return 0;
	}
	up = READ_ONCE(node->up);
	if (nla_put_u32(skb, POPCORN_A_NODE_ID, node->id) ||
	    nla_put_string(skb, POPCORN_A_NODE_TRANSPORT, node->t->name) ||
	    nla_put_string(skb, POPCORN_A_NODE_ENDPOINT, node->endpoint) ||
	    nla_put_u8(skb, POPCORN_A_NODE_STATE,
		       up ? POPCORN_NODE_STATE_UP : POPCORN_NODE_STATE_DOWN) ||
	    (up && nla_put_u64_64bit(skb, POPCORN_A_NODE_PEER_NONCE,
				     READ_ONCE(node->peer_nonce), POPCORN_A_PAD)))
		goto err;
	genlmsg_end(skb, hdr);
	return 0;
err:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

void pcn_netlink_notify(struct pcn_node *node)
{
	struct sk_buff *skb;

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!skb)
		return;
	if (pcn_nl_fill_node(skb, node, 0, 0, 0, POPCORN_CMD_NODE_EVENT)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_multicast(&pcn_family, skb, 0, PCN_MCGRP_EVENTS, GFP_ATOMIC);
}

static int pcn_nl_node_add(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	int id, err;

	err = pcn_nl_node_id(info, &id);
	if (err)
		return err;
	if (a[POPCORN_A_NODE_SELF]) {
		if (a[POPCORN_A_NODE_TRANSPORT] || a[POPCORN_A_NODE_ENDPOINT]) {
			NL_SET_ERR_MSG(info->extack,
				       "the self node takes no transport or endpoint");
			return -EINVAL;
		}
		return pcn_self_set(id, info->extack);
	}
	if (pcn_nl_require(info, POPCORN_A_NODE_TRANSPORT, "transport missing") ||
	    pcn_nl_require(info, POPCORN_A_NODE_ENDPOINT, "endpoint missing"))
		return -EINVAL;
	return pcn_node_add(id, nla_data(a[POPCORN_A_NODE_TRANSPORT]),
			    nla_data(a[POPCORN_A_NODE_ENDPOINT]), info->extack);
}

static int pcn_nl_node_del(struct sk_buff *skb, struct genl_info *info)
{
	int id, err;

	err = pcn_nl_node_id(info, &id);
	if (err)
		return err;
	return pcn_node_del(id, info->extack);
}

static int pcn_nl_node_get(struct sk_buff *skb, struct genl_info *info)
{
	struct pcn_node *node = NULL;
	struct sk_buff *msg;
	int id, idx, err;

	err = pcn_nl_node_id(info, &id);
	if (err)
		return err;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	idx = srcu_read_lock(&pcn_node_srcu);
	if (id != READ_ONCE(pcn_self_id)) {
		node = pcn_node_get(id);
		if (!node) {
			srcu_read_unlock(&pcn_node_srcu, idx);
			nlmsg_free(msg);
			NL_SET_ERR_MSG_ATTR(info->extack,
					    info->attrs[POPCORN_A_NODE_ID], "no such node");
			return -ENOENT;
		}
	}
	err = pcn_nl_fill_node(msg, node, info->snd_portid, info->snd_seq, 0,
			       POPCORN_CMD_NODE_GET);
	srcu_read_unlock(&pcn_node_srcu, idx);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

/* Dumps walk node ids; cb->args[0] is the next id, self comes first. */
static int pcn_nl_dump_nodes(struct sk_buff *skb, struct netlink_callback *cb,
			     int (*fill)(struct sk_buff *, struct pcn_node *,
					 struct netlink_callback *))
{
	struct pcn_node *node;
	long id;
	int idx, err = 0;

	idx = srcu_read_lock(&pcn_node_srcu);
	for (id = cb->args[0]; id < PCN_MAX_NODES; id++) {
		node = pcn_node_get(id);
		if (node)
			err = fill(skb, node, cb);
		else if (id == READ_ONCE(pcn_self_id))
			err = fill(skb, NULL, cb);
		if (err)
			break;
	}
	srcu_read_unlock(&pcn_node_srcu, idx);
	cb->args[0] = id;
	/* A full skb ends this part; an entry that fits no skb is an error. */
	return err && !skb->len ? err : skb->len;
}

static int pcn_nl_fill_node_cb(struct sk_buff *skb, struct pcn_node *node,
			       struct netlink_callback *cb)
{
	return pcn_nl_fill_node(skb, node, NETLINK_CB(cb->skb).portid,
				cb->nlh->nlmsg_seq, NLM_F_MULTI,
				POPCORN_CMD_NODE_GET);
}

static int pcn_nl_node_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	return pcn_nl_dump_nodes(skb, cb, pcn_nl_fill_node_cb);
}

static int pcn_nl_fill_stats(struct sk_buff *skb, struct pcn_node *node,
			     struct netlink_callback *cb)
{
	struct pcn_transport_stats ts = {};
	void *hdr;

	if (!node)
		return 0;	/* no traffic to ourselves */
	if (node->t->get_stats)
		node->t->get_stats(node, &ts);
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &pcn_family, NLM_F_MULTI, POPCORN_CMD_STATS_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, POPCORN_A_NODE_ID, node->id) ||
	    nla_put_string(skb, POPCORN_A_NODE_TRANSPORT, node->t->name) ||
	    nla_put_u64_64bit(skb, POPCORN_A_STATS_TX_MSGS,
			      atomic64_read(&node->tx_msgs), POPCORN_A_PAD) ||
	    nla_put_u64_64bit(skb, POPCORN_A_STATS_TX_BYTES,
			      atomic64_read(&node->tx_bytes), POPCORN_A_PAD) ||
	    nla_put_u64_64bit(skb, POPCORN_A_STATS_RX_MSGS,
			      atomic64_read(&node->rx_msgs), POPCORN_A_PAD) ||
	    nla_put_u64_64bit(skb, POPCORN_A_STATS_RX_BYTES,
			      atomic64_read(&node->rx_bytes), POPCORN_A_PAD) ||
	    nla_put_u64_64bit(skb, POPCORN_A_STATS_ERRORS,
			      atomic64_read(&node->errors) + ts.errors, POPCORN_A_PAD) ||
	    nla_put_u64_64bit(skb, POPCORN_A_STATS_DOORBELLS_RUNG,
			      ts.doorbells_rung, POPCORN_A_PAD) ||
	    nla_put_u64_64bit(skb, POPCORN_A_STATS_DOORBELLS_SUPPRESSED,
			      ts.doorbells_suppressed, POPCORN_A_PAD) ||
	    nla_put_u64_64bit(skb, POPCORN_A_STATS_RPC_TIMEOUTS,
			      atomic64_read(&node->rpc_timeouts), POPCORN_A_PAD)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int pcn_nl_stats_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	return pcn_nl_dump_nodes(skb, cb, pcn_nl_fill_stats);
}

static int pcn_nl_ping(struct sk_buff *skb, struct genl_info *info)
{
	u32 count = pcn_nl_u32(info, POPCORN_A_PING_COUNT, 1);
	u32 size = pcn_nl_u32(info, POPCORN_A_PING_SIZE, 64);
	u32 timeout = pcn_nl_u32(info, POPCORN_A_PING_TIMEOUT_MS, 1000);
	bool poll = info->attrs[POPCORN_A_PING_POLL];
	struct sk_buff *msg;
	void *hdr;
	int id, err;
	u32 i;
	u64 ns;

	err = pcn_nl_node_id(info, &id);
	if (err)
		return err;
	msg = genlmsg_new(nla_total_size_64bit(sizeof(u64)) * count + NLMSG_GOODSIZE,
			  GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &pcn_family, 0, POPCORN_CMD_PING);
	if (!hdr) {
		err = -EMSGSIZE;
		goto err_free;
	}
	for (i = 0; i < count; i++) {
		/*
		 * Any signal ends the loop: Ctrl-C, or the one popcornctl
		 * sends to this thread when its context ends.
		 */
		if (signal_pending(current)) {
			err = pcn_nl_interrupted(info);
			goto err_free;
		}
		err = pcn_ping(id, size, timeout, poll, &ns);
		if (err) {
			if (pcn_nl_signalled(err))
				err = pcn_nl_interrupted(info);
			else if (err == -EBADMSG)
				NL_SET_ERR_MSG(info->extack, "echo came back different");
			else
				NL_SET_ERR_MSG(info->extack, "ping failed");
			goto err_free;
		}
		if (nla_put_u64_64bit(msg, POPCORN_A_PING_SAMPLE_NS, ns, POPCORN_A_PAD)) {
			err = -EMSGSIZE;
			goto err_free;
		}
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_free:
	nlmsg_free(msg);
	return err;
}

static int pcn_nl_bench(struct sk_buff *skb, struct genl_info *info)
{
	u32 count = pcn_nl_u32(info, POPCORN_A_BENCH_COUNT, 1000);
	u32 size = pcn_nl_u32(info, POPCORN_A_BENCH_SIZE, 65536);
	struct sk_buff *msg;
	u64 bytes, nsec;
	void *hdr;
	int id, err;

	err = pcn_nl_node_id(info, &id);
	if (err)
		return err;
	err = pcn_bench(id, count, size, &bytes, &nsec);
	if (err) {
		if (pcn_nl_signalled(err))
			return pcn_nl_interrupted(info);
		if (err == -EPROTO)
			NL_SET_ERR_MSG(info->extack, "messages were lost");
		else
			NL_SET_ERR_MSG(info->extack, "bench failed");
		return err;
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &pcn_family, 0, POPCORN_CMD_BENCH);
	if (!hdr ||
	    nla_put_u64_64bit(msg, POPCORN_A_BENCH_BYTES, bytes, POPCORN_A_PAD) ||
	    nla_put_u64_64bit(msg, POPCORN_A_BENCH_NSEC, nsec, POPCORN_A_PAD)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int pcn_nl_load_set(struct sk_buff *skb, struct genl_info *info)
{
	struct pcn_load l;
	int err;

	err = pcn_nl_require(info, POPCORN_A_LOAD_CPU_BUSY, "load-cpu-busy is required");
	if (err)
		return err;
	l.accept_queue = pcn_nl_u32(info, POPCORN_A_LOAD_ACCEPT_QUEUE, 0);
	l.established = pcn_nl_u32(info, POPCORN_A_LOAD_ESTABLISHED, 0);
	l.cpu_busy = nla_get_u32(info->attrs[POPCORN_A_LOAD_CPU_BUSY]);
	err = pcn_load_report(&l);
	if (err == -ENOENT)
		NL_SET_ERR_MSG(info->extack,
			       "this kernel has no node id yet (popcornctl node add ID --self)");
	return err;
}

static int pcn_nl_fill_load(struct sk_buff *skb, struct pcn_node *node,
			    struct netlink_callback *cb)
{
	int id = node ? node->id : READ_ONCE(pcn_self_id);
	struct pcn_load l;
	u32 age;
	void *hdr;

	if (pcn_load_get(id, &l, &age))
		return 0;
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &pcn_family, NLM_F_MULTI, POPCORN_CMD_LOAD_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, POPCORN_A_NODE_ID, id) ||
	    nla_put_u32(skb, POPCORN_A_LOAD_ACCEPT_QUEUE, l.accept_queue) ||
	    nla_put_u32(skb, POPCORN_A_LOAD_ESTABLISHED, l.established) ||
	    nla_put_u32(skb, POPCORN_A_LOAD_CPU_BUSY, l.cpu_busy) ||
	    nla_put_u32(skb, POPCORN_A_LOAD_AGE_MS, age)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int pcn_nl_load_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	return pcn_nl_dump_nodes(skb, cb, pcn_nl_fill_load);
}

/*
 * Per-op policies with struct genl_ops (Linux 6.1 has no split ops). An op
 * without one (stats-get) gets the core's reject-all policy: resv_start_op
 * is 0, so every op is held to the strict rules.
 */
static const struct genl_ops pcn_nl_ops[] = {
	{
		.cmd = POPCORN_CMD_NODE_ADD,
		.doit = pcn_nl_node_add,
		.policy = pcn_nl_node_add_policy,
		.maxattr = ARRAY_SIZE(pcn_nl_node_add_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = POPCORN_CMD_NODE_DEL,
		.doit = pcn_nl_node_del,
		.policy = pcn_nl_node_id_policy,
		.maxattr = ARRAY_SIZE(pcn_nl_node_id_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = POPCORN_CMD_NODE_GET,
		.doit = pcn_nl_node_get,
		.dumpit = pcn_nl_node_dump,
		.policy = pcn_nl_node_id_policy,
		.maxattr = ARRAY_SIZE(pcn_nl_node_id_policy) - 1,
	},
	{
		.cmd = POPCORN_CMD_PING,
		.doit = pcn_nl_ping,
		.policy = pcn_nl_ping_policy,
		.maxattr = ARRAY_SIZE(pcn_nl_ping_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = POPCORN_CMD_BENCH,
		.doit = pcn_nl_bench,
		.policy = pcn_nl_bench_policy,
		.maxattr = ARRAY_SIZE(pcn_nl_bench_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = POPCORN_CMD_STATS_GET,
		.dumpit = pcn_nl_stats_dump,
	},
	{
		.cmd = POPCORN_CMD_LOAD_SET,
		.doit = pcn_nl_load_set,
		.policy = pcn_nl_load_set_policy,
		.maxattr = ARRAY_SIZE(pcn_nl_load_set_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = POPCORN_CMD_LOAD_GET,
		.dumpit = pcn_nl_load_dump,
	},
};

static struct genl_family pcn_family __ro_after_init = {
	.name = POPCORN_FAMILY_NAME,
	.version = POPCORN_FAMILY_VERSION,
	.module = THIS_MODULE,
	/* A long ping must not hold every generic netlink family's mutex. */
	.parallel_ops = true,
	.ops = pcn_nl_ops,
	.n_ops = ARRAY_SIZE(pcn_nl_ops),
	.mcgrps = pcn_mcgrps,
	.n_mcgrps = ARRAY_SIZE(pcn_mcgrps),
};

int pcn_netlink_init(void)
{
	return genl_register_family(&pcn_family);
}

void pcn_netlink_exit(void)
{
	genl_unregister_family(&pcn_family);
}
