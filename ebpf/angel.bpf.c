// SPDX-License-Identifier: GPL-2.0
//go:build ignore
/*
 * Angel's data plane, on the NIC owner's real NIC (Documentation/angel.rst).
 * A TCP packet for the service goes to the kernel its flow is pinned to;
 * a SYN that opens a flow is hashed into the bucket table, whose node the
 * flow is then pinned to. A packet for another kernel leaves through Snap
 * Bean with that kernel's MAC; one for this kernel, and every packet that
 * is not the service's, goes up this kernel's stack untouched.
 *
 * Map names carry the layout's version: a changed layout gets new names,
 * so it never loads over a stale pin in /sys/fs/bpf/popcorn/.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "snapbean.h"

/* Of the IPv4 header's frag_off (network order after bpf_htons). */
#define IP_MF		0x2000
#define IP_OFFSET	0x1fff

#define ANGEL_BUCKETS	1024
#define ANGEL_FLOWS	65536

struct angel_cfg {
	__be32 service_addr;	/* 0: steer nothing */
	__be16 service_port;	/* 0: every port of the address */
	__u16 pad;
	__u32 sb_ifindex;	/* this kernel's Snap Bean device */
	__u32 self;		/* this kernel's node id */
};

/* A flow to the service, seen from the owner's NIC. */
struct angel_flow_key {
	__be32 saddr;
	__be16 sport;
	__be16 dport;
};

struct angel_flow {
	__u32 node;
	__be32 syn_seq;		/* the sequence number of the SYN that opened it */
};

struct angel_node_stats {
	__u64 new_flows;	/* SYNs that opened a flow to the node */
	__u64 packets;		/* service packets steered to the node */
};

/*
 * An operator's word on a node, for the policy (the program reads none
 * of it): a mode and a weight that override the configuration's.
 */
struct angel_ctl {
	__u32 mode;	/* 0: auto, 1: drain, 2: hold */
	__u32 weight;	/* 0: the configuration's */
};

/* What happened to packets that went to no node. */
enum angel_event {
	ANGEL_EV_FRAGMENT,	/* an IP fragment: this kernel's stack takes it */
	ANGEL_EV_MALFORMED,	/* truncated or impossible headers: passed, the stack drops it */
	ANGEL_EV_BAD_NODE,	/* the table named no node: passed here */
	ANGEL_EV_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct angel_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} angel_cfg_v1 SEC(".maps");

/* Bucket -> node id; popcornd's policy rewrites it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ANGEL_BUCKETS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} angel_bkt_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ANGEL_FLOWS);
	__type(key, struct angel_flow_key);
	__type(value, struct angel_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} angel_flow_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SB_MAX_NODES);
	__type(key, __u32);
	__type(value, struct angel_node_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} angel_stat_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ANGEL_EV_MAX);
	__type(key, enum angel_event);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} angel_event_v1 SEC(".maps");

/* The flow's bucket: murmur3's finalizer over the addresses and ports. */
static __always_inline __u32 angel_bucket(const struct angel_flow_key *k)
{
	__u32 h = bpf_ntohl(k->saddr) * 0x9e3779b1;

	h ^= (__u32)bpf_ntohs(k->sport) << 16 | bpf_ntohs(k->dport);
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h % ANGEL_BUCKETS;
}

static __always_inline int angel_event(enum angel_event ev)
{
	__u64 *n = bpf_map_lookup_elem(&angel_event_v1, &ev);

	if (n)
		(*n)++;
	return XDP_PASS;
}

/* A new flow: pinned to its bucket's node, which is returned. */
static __always_inline __u32 angel_pin(const struct angel_flow_key *k, __be32 seq)
{
	struct angel_flow f = { .syn_seq = seq };
	__u32 bucket = angel_bucket(k);
	struct angel_node_stats *st;
	__u32 *node;

	node = bpf_map_lookup_elem(&angel_bkt_v1, &bucket);
	if (!node || *node >= SB_MAX_NODES)
		return SB_MAX_NODES;
	f.node = *node;
	bpf_map_update_elem(&angel_flow_v1, k, &f, BPF_ANY);
	st = bpf_map_lookup_elem(&angel_stat_v1, &f.node);
	if (st)
		st->new_flows++;
	return f.node;
}

/*
 * The node for a packet of the flow: where it is pinned, unless it is a
 * SYN with another sequence number than the one that opened the flow: a
 * new connection reusing the ports (a retransmitted SYN has the same
 * number, and stays with its kernel however late it comes). A packet of a
 * flow that was never seen (opened before Angel ran, or its pin evicted)
 * follows the table and is pinned from then on: the best guess there is.
 */
static __always_inline __u32 angel_node(const struct angel_flow_key *k,
					const struct tcphdr *tcp)
{
	struct angel_flow *f = bpf_map_lookup_elem(&angel_flow_v1, k);
	int syn = tcp->syn && !tcp->ack;

	if (f && !(syn && f->syn_seq != tcp->seq))
		return f->node;
	return angel_pin(k, syn ? tcp->seq : 0);
}

SEC("xdp")
int angel(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct angel_node_stats *st;
	struct ethhdr *eth = data;
	struct angel_flow_key key;
	struct angel_cfg *cfg;
	struct tcphdr *tcp;
	struct iphdr *ip;
	__u32 zero = 0, node;

	cfg = bpf_map_lookup_elem(&angel_cfg_v1, &zero);
	if (!cfg || !cfg->service_addr)
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (ip->daddr != cfg->service_addr || ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	if (ip->ihl < 5)
		return angel_event(ANGEL_EV_MALFORMED);
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return angel_event(ANGEL_EV_FRAGMENT);
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > end)
		return angel_event(ANGEL_EV_MALFORMED);
	if (cfg->service_port && tcp->dest != cfg->service_port)
		return XDP_PASS;

	key.saddr = ip->saddr;
	key.sport = tcp->source;
	key.dport = tcp->dest;
	node = angel_node(&key, tcp);
	if (node >= SB_MAX_NODES)
		return angel_event(ANGEL_EV_BAD_NODE);
	st = bpf_map_lookup_elem(&angel_stat_v1, &node);
	if (st)
		st->packets++;
	if (node == cfg->self)
		return XDP_PASS;
	sb_mac(eth->h_dest, node);
	sb_mac(eth->h_source, cfg->self);
	return bpf_redirect(cfg->sb_ifindex, 0);
}

/*
 * Kept beside the maps the program uses so that popcornctl and popcornd
 * find it where they find the table.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SB_MAX_NODES);
	__type(key, __u32);
	__type(value, struct angel_ctl);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} angel_ctl_v1 SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
