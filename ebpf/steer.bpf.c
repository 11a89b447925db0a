// SPDX-License-Identifier: GPL-2.0
/*
 * The service address's static steering rule, on the NIC owner's real
 * NIC (Documentation/snapbean.rst): a frame for the service address goes
 * to the kernel its TCP or UDP source port names in steer_ports, or else
 * to the default kernel of steer_cfg; a frame for another kernel leaves
 * through Snap Bean with that kernel's MAC, and one for this kernel, like
 * all other traffic, goes up this kernel's stack. Angel replaces it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "snapbean.h"

struct steer_cfg {
	__be32 service_addr;	/* network order; 0: steer nothing */
	__u32 sb_ifindex;	/* this kernel's Snap Bean device */
	__u32 self;		/* this kernel's node id */
	__u32 default_node;	/* where a port not in steer_ports goes */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct steer_cfg);
} steer_cfg SEC(".maps");

/* Source port (host order) -> node id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u16);
	__type(value, __u32);
} steer_ports SEC(".maps");

/* Frames steered to each node, and frames passed up here. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SB_MAX_NODES);
	__type(key, __u32);
	__type(value, __u64);
} steer_count SEC(".maps");

/* The source port of an IPv4 TCP or UDP packet for @addr, or -1. */
static __always_inline int service_sport(void *data, void *end, __be32 addr)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *l4;	/* the ports are where TCP has them too */

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	if (ip->daddr != addr || ip->ihl < 5 ||
	    (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP))
		return -1;
	l4 = (void *)ip + ip->ihl * 4;
	if ((void *)(l4 + 1) > end)
		return -1;
	return bpf_ntohs(l4->source);
}

static __always_inline void count(__u32 node)
{
	__u64 *n = bpf_map_lookup_elem(&steer_count, &node);

	if (n)
		(*n)++;
}

SEC("xdp")
int steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct steer_cfg *cfg;
	__u32 zero = 0, node;
	__u32 *port_node;
	__u16 port;
	int sport;

	cfg = bpf_map_lookup_elem(&steer_cfg, &zero);
	if (!cfg || !cfg->service_addr)
		return XDP_PASS;
	sport = service_sport(data, end, cfg->service_addr);
	if (sport < 0)
		return XDP_PASS;
	port = sport;
	port_node = bpf_map_lookup_elem(&steer_ports, &port);
	node = port_node ? *port_node : cfg->default_node;
	if (node >= SB_MAX_NODES)
		return XDP_PASS;
	count(node);
	if (node == cfg->self)
		return XDP_PASS;
	sb_mac(eth->h_dest, node);
	sb_mac(eth->h_source, cfg->self);
	return bpf_redirect(cfg->sb_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
