#!/bin/sh
# popcornd brings the machine up from one shared file: every kernel loads
# the modules, runs popcornd on the same /etc/popcorn/popcorn.yaml, and
# finds its node by its peer id on the window. Then:
#
#   guest 0 (owner)      guest 1              guest 2
#   nodes 0 1 2, sb0 10.97.0.1 (+ .254)  .2   .3, routes via .254
#   /metrics checked against popcornctl stats; the client in the rig's
#   namespace (popcornd.host.sh) scrapes guest 0 and runs promtool
#   ---- node 2 leaves the file, SIGHUP everywhere ----
#   node 2 removed       node 2 removed       not in the file: refuses,
#                                             keeps its state, 503
#   ---- guests 0 and 1 reload every module; popcornd restores them ----
. ./lib.sh
. ./service.sh

CONF=$POPCORN_CONF
CLIENTS=10.99.0.0/24
LOG=/tmp/popcornd.log

load() {
	pcn_insmod && insmod "$SB_MOD"
}

unload() {
	rmmod snapbean && pcn_rmmod
}

# With popcornd running, its periodic netlink dumps hold the core's
# module for a moment at a time.
unload_live() {
	rmmod_live snapbean && rmmod_live popcorn_shm && rmmod_live popcorn_msg
}

# A file with two mistakes is reported, both, by line and column.
check_bad() {
	printf 'version: 1\nself: {id: 0}\nnodes:\n  - {id: 0, name: a, shm: {peer: 9}}\n  - {id: 0, name: b, shm: {peer: 1}}\n' > /tmp/bad.yaml
	out=$(popcornctl config check /tmp/bad.yaml 2>&1) && return 1
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -q '^popcornctl: /tmp/bad.yaml:4:34: nodes\[0\].shm.peer: "9" is not a whole number in 0..7$' &&
		echo "$out" | grep -q '^/tmp/bad.yaml:5:10: nodes\[1\].id: 0 is already the id of the node at line 4$'
}

# The dry run plans this kernel's part and changes nothing.
dry_run() {
	popcornctl config apply --dry-run $CONF | sed 's/^/# /'
	popcornctl config apply --dry-run -o json $CONF | grep -q '"op": "add-link"' &&
		[ -z "$(popcornctl node list | sed 1d)" ] && ! ip link show sb0 >/dev/null 2>&1
}

# within SECONDS COMMAND...: COMMAND succeeds within SECONDS of uptime,
# however long each try takes.
within() {
	end=$(($(uptime_s) + $1))
	shift
	until "$@"; do
		[ "$(uptime_s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

uptime_s() {
	cut -d. -f1 /proc/uptime
}

start_daemon() {
	popcornd -config $CONF -resync 1s -ping-every 1s -listen :9464 >>$LOG 2>&1 &
	echo $! > /tmp/popcornd.pid
}

sb0_addr() {
	ip -4 -o addr show dev sb0 2>/dev/null | grep -q " 10.97.0.$((self + 1))/24 "
}

# What the file says of this kernel is in place.
in_line() {
	all_up && sb0_addr && carrier_on &&
		ip -4 -o addr show dev lo | grep -q " $SVC/32 " &&
		{ [ "$self" = 0 ] || ip route show proto 77 | grep -q "^$CLIENTS via 10.97.0.254 dev sb0"; }
}

brought_up() {
	within 60 in_line && return 0
	sed 's/^/# /' $LOG
	ip -o addr show dev sb0 | sed 's/^/# /'
	ip route | sed 's/^/# /'
	return 1
}

healthy() {
	[ "$(busybox wget -q -O - http://127.0.0.1:9464/healthz 2>/dev/null)" = ok ]
}

ping_peers_sb0() {
	for n in $(pcn_nodes); do
		[ "$n" = "$self" ] || ping -c 2 -W 5 "10.97.0.$((n + 1))" >/dev/null || return 1
	done
}

# metric NAME NODE: one node's series from our /metrics.
metric() {
	busybox wget -q -O - http://127.0.0.1:9464/metrics |
		sed -n "s/^$1{node=\"$2\",transport=\"shm\"} //p"
}

# Each peer's counters in /metrics lie between popcornctl stats readings
# taken just before and after the scrape.
metrics_match() {
	for n in $(pcn_nodes); do
		[ "$n" = "$self" ] && continue
		before=$(node_stat "$n" tx_msgs)
		got=$(metric popcorn_node_tx_messages_total "$n")
		after=$(node_stat "$n" tx_msgs)
		echo "# node $n tx_msgs: stats $before, metric $got, stats $after"
		awk -v b="$before" -v g="$got" -v a="$after" \
			'BEGIN { exit !(g != "" && b <= g + 0 && g + 0 <= a) }' || return 1
		[ "$(metric popcorn_node_up "$n")" = 1 ] || return 1
	done
}

# service.sh's host_done, and the scraper found nothing wrong.
scraped() {
	host_done && grep -q '^done, 0 failed' /tmp/host_done
}

node_gone() {
	! popcornctl node list | grep -q '^2 '
}

# Node 2, which the new file leaves out, keeps what it had.
refused_kept() {
	! healthy && sb0_addr && grep -q 'reconcile failed' $LOG &&
		[ "$(popcornctl node list | grep -c '^[01] ')" -eq 2 ]
}

# Back after the reload: the two remaining kernels.
restored() {
	[ "$(popcornctl node list | grep -c ' up ')" -eq 2 ] && sb0_addr
}

stop_daemon() {
	kill -TERM "$(cat /tmp/popcornd.pid)" && busywait 10000 daemon_gone &&
		grep -q 'popcornd stopped' $LOG
}

daemon_gone() {
	! kill -0 "$(cat /tmp/popcornd.pid)" 2>/dev/null
}

load_ok=$(load && echo 1)
SHM_DEV=$(shm_dev)
self=$(cat "$SHM_DEV/popcorn/peer_id")
# Node 2 leaves the file halfway; guest 0 also hears from the scraper.
plan=$([ "$self" = 2 ] && echo 11 || echo 14)
ktap_plan $((plan + ($POPCORN_GUEST == 0)))
ktap_check "insmod popcorn_msg popcorn_shm snapbean" [ -n "$load_ok" ]
pcn_conf $(pcn_nodes)
ktap_check "config check" popcornctl config check $CONF
ktap_check "a bad file: every mistake, by line and column" check_bad
ktap_check "config apply --dry-run changes nothing" dry_run
start_daemon
ktap_check "popcornd brings this kernel in line with the file" brought_up
ktap_check "/healthz says ok" within 20 healthy
ktap_check "sb0 reaches every other kernel" ping_peers_sb0
ktap_check "/metrics agrees with popcornctl stats" metrics_match
[ "$POPCORN_GUEST" = 0 ] && ktap_check "the client scraped /metrics, promtool agrees" scraped
every_peer barrier 1
popcornctl status

# Node 2 leaves the file.
pcn_conf $(pcn_nodes | grep -v '^2$')
kill -HUP "$(cat /tmp/popcornd.pid)"
if [ "$self" = 2 ]; then
	ktap_check "not in the new file: refused, state kept, /healthz 503" within 30 refused_kept
	sed -n 's/.*msg="reconcile failed, will retry" error=/# /p' $LOG | tail -n 1
else
	other=$((1 - self))
	ktap_check "SIGHUP: node 2 removed" within 30 node_gone
	barrier 2 $other
	ktap_check "rmmod every module" unload_live
	ktap_check "insmod again" load
	ktap_check "popcornd restores the node table and sb0" within 60 restored
	barrier 3 $other
fi
ktap_check "SIGTERM: popcornd stops cleanly" stop_daemon
ktap_check "unload" unload
sed 's/^/# /' $LOG | tail -n 30
ktap_finish
