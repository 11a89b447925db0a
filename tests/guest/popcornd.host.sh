#!/bin/bash
# The scraper of popcornd.sh, in the rig's network namespace: once guest
# 0's popcornd is healthy, its /metrics pass promtool's check and carry
# the series an operator graphs; guest 0 hears how it went.
set -u
URL=http://10.99.0.2:9464
. ./host_lib.sh

trap tell_guest0 EXIT

healthy() {
	for _ in $(seq 600); do
		[ "$(curl -s --max-time 2 $URL/healthz)" = ok ] && return 0
		sleep 0.25
	done
	return 1
}

# Wait for a ping round, so the histogram has samples. A scrape on the
# debug kernel may take seconds.
scrape() {
	for _ in $(seq 100); do
		curl -sS --max-time 30 -o /tmp/popcornd.metrics $URL/metrics &&
			grep -q '^popcorn_node_rtt_seconds_count{node="[0-9]*"} [1-9]' /tmp/popcornd.metrics && return 0
		sleep 0.5
	done
	return 1
}

series() {
	local s
	for s in popcorn_kernel_loaded popcorn_self_node popcorn_node_up popcorn_node_tx_messages_total \
		popcorn_node_rx_bytes_total popcorn_node_errors_total popcorn_node_rpc_timeouts_total \
		popcorn_node_rtt_seconds_bucket popcorn_snapbean_rx_packets_total popcorn_snapbean_carrier \
		popcorn_snapbean_peer_tx_bytes_total popcorn_snapbean_tx_no_peer_total popcorn_snapbean_queue_stopped_total \
		popcorn_reconcile_runs_total popcorn_reconcile_failures_total popcorn_build_info; do
		grep -q "^$s[{ ]" /tmp/popcornd.metrics || { echo "# no series $s"; return 1; }
	done
}

check "guest 0's popcornd is healthy" healthy
check "scrape /metrics" scrape
check "promtool check metrics" promtool check metrics < /tmp/popcornd.metrics
check "the expected series are there" series
grep -E '^popcorn_(node_up|self_node|kernel_loaded|snapbean_carrier)' /tmp/popcornd.metrics | sed 's/^/# /'
[ "$fails" = 0 ]
