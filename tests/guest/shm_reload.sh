#!/bin/sh
# Load and unload popcorn_shm 50 times; every time the device binds and a
# doorbell rung to ourselves arrives.
. ./lib.sh

ROUNDS=50

rung_once() {
	[ "$(shm_irqs 0)" = 1 ]
}

gone() {
	! module_loaded popcorn_shm && [ ! -e "$SHM_DEV/driver" ]
}

one_round() {
	pcn_insmod || return 1
	self=$(cat "$SHM_DEV/popcorn/peer_id")
	shm_ring "$self" 0 || return 1
	busywait 5000 rung_once || return 1
	pcn_rmmod
}

reload() {
	i=0
	while [ $i -lt $ROUNDS ]; do
		if ! one_round; then
			echo "# round $i failed"
			return 1
		fi
		i=$((i + 1))
	done
}

ktap_plan 2
SHM_DEV=$(shm_dev)
ktap_check "$ROUNDS rounds of insmod, doorbell, rmmod" reload
ktap_check "module gone, device unbound" gone
ktap_finish
