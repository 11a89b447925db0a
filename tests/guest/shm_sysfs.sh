#!/bin/sh
# popcorn_shm on an ivshmem-doorbell device: the sysfs facts match what the
# rig configured, a doorbell rung to ourselves raises an interrupt on that
# vector only, bad ring requests are refused, and the module unloads.
. ./lib.sh

bound() {
	[ "$(basename "$(readlink "$SHM_DEV/driver")")" = popcorn_shm ]
}

no_interrupts() {
	expect_eq interrupts "$(tr -d ' 0' < "$SHM_DEV/popcorn/interrupts")" ""
}

read_only() {
	! echo 5 2>/dev/null > "$SHM_DEV/popcorn/peer_id"
}

rung_once() {
	[ "$(shm_irqs "$1")" = 1 ] && [ "$(shm_irqs 0)" = 0 ]
}

refuses() {
	! shm_ring "$@" 2>/dev/null
}

refuses_bad_rings() {
	refuses junk && refuses "$self" "$POPCORN_VECTORS" && refuses 65536 0 &&
		refuses "$self" && refuses -1 0
}

unbound() {
	! module_loaded popcorn_shm && [ ! -e "$SHM_DEV/driver" ]
}

ktap_plan 10
ktap_check "insmod popcorn_msg popcorn_shm" pcn_insmod
SHM_DEV=$(shm_dev)
ktap_check "driver bound to ${SHM_DEV##*/}" bound
ktap_check "peer_id is our ivshmem id" \
	expect_eq peer_id "$(cat "$SHM_DEV/popcorn/peer_id")" "$POPCORN_GUEST"
ktap_check "shm_size is BAR2's size" \
	expect_eq shm_size "$(cat "$SHM_DEV/popcorn/shm_size")" "$POPCORN_SHM_SIZE"
ktap_check "vectors match the device" \
	expect_eq vectors "$(cat "$SHM_DEV/popcorn/vectors")" "$POPCORN_VECTORS"
ktap_check "no interrupts before any doorbell" no_interrupts
ktap_check "facts are read-only" read_only

self=$(cat "$SHM_DEV/popcorn/peer_id")
last=$((POPCORN_VECTORS - 1))
shm_ring "$self" "$last"
ktap_check "doorbell to ourselves arrives on vector $last only" busywait 5000 rung_once "$last"
ktap_check "ring refuses garbage, vector and peer out of range" refuses_bad_rings
pcn_rmmod
ktap_check "rmmod leaves the device unbound" unbound
ktap_finish
