#!/bin/sh
# Every guest rings every other and sees their doorbells. Peer ids are
# 0..N-1; guest P rings "hello" on vector P and, once it has heard every
# peer, "ack" on vector N+P. A guest is done when every peer has acked,
# which means every peer has heard it too. Hellos go on until then, so a
# peer that loaded its module late still hears from everyone.
. ./lib.sh

N=$POPCORN_GUESTS

# heard BASE: every peer has rung vector BASE+peer.
heard() {
	p=0
	while [ $p -lt $N ]; do
		if [ $p -ne "$self" ] && [ "$(shm_irqs $((p + $1)))" = 0 ]; then
			return 1
		fi
		p=$((p + 1))
	done
}

ring_all() {
	p=0
	while [ $p -lt $N ]; do
		[ $p -ne "$self" ] && shm_ring $p $(($1 + self))
		p=$((p + 1))
	done
	return 0
}

# exchange PHASE...: ring each phase's vector until every peer rang the last.
exchange() {
	left=60000
	while :; do
		for base in "$@"; do
			ring_all "$base"
		done
		heard "$last" && return 0
		[ $left -le 0 ] && return 1
		sleep 0.1
		left=$((left - 100))
	done
}

hello_phase() {
	last=0
	exchange 0
}

ack_phase() {
	last=$N
	exchange 0 "$N"
}

own_vectors_quiet() {
	[ "$(shm_irqs "$self")" = 0 ] && [ "$(shm_irqs $((N + self)))" = 0 ]
}

ktap_plan 5
ktap_check "insmod popcorn_msg popcorn_shm" pcn_insmod
SHM_DEV=$(shm_dev)
self=$(cat "$SHM_DEV/popcorn/peer_id")
echo "# peer $self of $N, vectors: $(cat "$SHM_DEV/popcorn/vectors")"
ktap_check "heard a doorbell from each of $((N - 1)) peers" hello_phase
ktap_check "each peer heard ours" ack_phase
ktap_check "nobody rang our own vectors" own_vectors_quiet
echo "# interrupts per vector: $(cat "$SHM_DEV/popcorn/interrupts")"
ktap_check "rmmod popcorn_shm popcorn_msg" pcn_rmmod
ktap_finish
