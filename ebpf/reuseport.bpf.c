// SPDX-License-Identifier: GPL-2.0
//go:build ignore
/*
 * Angel's single-kernel mode (Documentation/angel.rst): an SO_REUSEPORT
 * group of per-worker listening sockets, and this program choosing the
 * worker of each new TCP connection. The connection's flow hash picks one
 * of the bucket table's buckets, and the bucket names a worker; the Go
 * policy loop (ctl/reuseport) rewrites the table from the workers' loads.
 *
 * Between two periods of the policy, a worker can fall behind: each worker
 * publishes the depth of its accept queue in rp_loads, and a worker whose
 * queue is at its limit passes its new connections to the next worker by
 * hash that is under its own, as Alibaba's Hermes does. A worker's limit
 * is in proportion to its share of the table, so that one the policy has
 * taken buckets from takes few connections of others either. When every
 * worker is at its limit, the table's worker takes the connection all the
 * same: diverting then would only hide from the policy the queue it must
 * see.
 *
 * The program is attached for select and migrate: when a worker closes
 * its listener, the connections still in its accept queue come here to be
 * given to another worker rather than being reset.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define RP_BUCKETS	1024
#define RP_MAX_WORKERS	64

struct rp_cfg {
	__u32 workers;		/* workers 0..workers-1 may be in rp_socks */
	__u32 divert;		/* 0: never divert, plain hashing through the table */
};

/*
 * A worker's published load, one cache line each so that workers on
 * different CPUs do not contend. Userspace maps the array (it is
 * BPF_F_MMAPABLE) and writes it without a system call.
 */
struct rp_load {
	/*
	 * Connections given to the worker and not yet accepted: this
	 * program adds one per connection, the worker subtracts one per
	 * accept, and the policy loop pulls it back to the kernel's count
	 * of the accept queue every period, so that it cannot drift.
	 */
	__s32 queue;
	/*
	 * The queue depth at which its own buckets' connections go to
	 * others and it takes none of theirs; the policy loop sets it.
	 */
	__s32 limit;
	__u32 pad[14];
};

struct rp_stats {
	__u64 picks;		/* connections given to the worker */
	__u64 fallbacks;	/* of those, ones whose bucket named another worker */
	__u64 skips;		/* connections its buckets brought that went to another */
};

/* What happened to connections that no single worker's counter tells. */
enum rp_event {
	RP_EV_UNSTEERED,	/* no worker found: the kernel's own hash chose */
	RP_EV_MIGRATED,		/* moved out of a closed listener's queue */
	RP_EV_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_cfg);
} rp_config SEC(".maps");

/* Worker index -> its listening socket. A closed socket leaves by itself. */
struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, RP_MAX_WORKERS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
} rp_socks SEC(".maps");

/* Bucket -> worker index; the policy loop rewrites it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_BUCKETS);
	__type(key, __u32);
	__type(value, __u32);
} rp_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, RP_MAX_WORKERS);
	__type(key, __u32);
	__type(value, struct rp_load);
} rp_loads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_MAX_WORKERS);
	__type(key, __u32);
	__type(value, struct rp_stats);
} rp_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_EV_MAX);
	__type(key, enum rp_event);
	__type(value, __u64);
} rp_events SEC(".maps");

static __always_inline void rp_event(enum rp_event ev)
{
	__u64 *n = bpf_map_lookup_elem(&rp_events, &ev);

	if (n)
		(*n)++;
}

static __always_inline int rp_full(__u32 w, const struct rp_cfg *cfg)
{
	struct rp_load *l = bpf_map_lookup_elem(&rp_loads, &w);

	/* A worker with no bucket, whose limit is 0, takes none of others. */
	return cfg->divert && l && (l->limit <= 0 || l->queue >= l->limit);
}

/* Gives the connection to worker w, whom its bucket may not have named. */
static __always_inline int rp_pick(__u32 w, __u32 named)
{
	struct rp_load *l = bpf_map_lookup_elem(&rp_loads, &w);
	struct rp_stats *st;

	if (l)
		__sync_fetch_and_add(&l->queue, 1);
	st = bpf_map_lookup_elem(&rp_counters, &w);
	if (st) {
		st->picks++;
		if (w != named)
			st->fallbacks++;
	}
	if (w != named) {
		st = bpf_map_lookup_elem(&rp_counters, &named);
		if (st)
			st->skips++;
	}
	return SK_PASS;
}

SEC("sk_reuseport/migrate")
int angel_reuseport(struct sk_reuseport_md *md)
{
	__u32 zero = 0, bucket, named, start, w, k, n;
	struct rp_cfg *cfg;
	__u32 *entry;

	if (md->migrating_sk)
		rp_event(RP_EV_MIGRATED);
	cfg = bpf_map_lookup_elem(&rp_config, &zero);
	if (!cfg || !cfg->workers || cfg->workers > RP_MAX_WORKERS)
		goto unsteered;
	n = cfg->workers;
	bucket = md->hash % RP_BUCKETS;
	entry = bpf_map_lookup_elem(&rp_table, &bucket);
	if (!entry)
		goto unsteered;
	named = *entry;

	if (named < n && !rp_full(named, cfg) &&
	    !bpf_sk_select_reuseport(md, &rp_socks, &named, 0))
		return rp_pick(named, named);

	/*
	 * The named worker is at its limit or gone. The others are tried
	 * from one the hash picks, so that its connections spread over all
	 * of them rather than piling onto its neighbour.
	 */
	start = (md->hash / RP_BUCKETS) % n;
	for (k = 0; k < RP_MAX_WORKERS && k < n; k++) {
		w = start + k < n ? start + k : start + k - n;
		if (w == named || rp_full(w, cfg))
			continue;
		if (!bpf_sk_select_reuseport(md, &rp_socks, &w, 0))
			return rp_pick(w, named);
	}

	/* Every worker is at its limit: the named one if it is there. */
	if (named < n && !bpf_sk_select_reuseport(md, &rp_socks, &named, 0))
		return rp_pick(named, named);
	for (k = 0; k < RP_MAX_WORKERS && k < n; k++) {
		w = start + k < n ? start + k : start + k - n;
		if (!bpf_sk_select_reuseport(md, &rp_socks, &w, 0))
			return rp_pick(w, named);
	}

unsteered:
	/* SK_PASS with no socket selected: the kernel hashes over the group. */
	rp_event(RP_EV_UNSTEERED);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
