#!/bin/sh
# popcorn_shm on ivshmem-plain: memory without doorbells. The window is
# mapped, there is no peer id and no vector, and ringing is refused.
. ./lib.sh

refuses() {
	! shm_ring "$@" 2>/dev/null
}

ktap_plan 6
ktap_check "insmod popcorn_msg popcorn_shm" pcn_insmod
SHM_DEV=$(shm_dev)
ktap_check "shm_size is BAR2's size" \
	expect_eq shm_size "$(cat "$SHM_DEV/popcorn/shm_size")" "$POPCORN_SHM_SIZE"
ktap_check "no peer id" expect_eq peer_id "$(cat "$SHM_DEV/popcorn/peer_id")" -1
ktap_check "no vectors" expect_eq vectors "$(cat "$SHM_DEV/popcorn/vectors")" 0
ktap_check "ringing is refused" refuses 0 0
ktap_check "rmmod popcorn_shm popcorn_msg" pcn_rmmod
ktap_finish
