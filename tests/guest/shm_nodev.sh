#!/bin/sh
# popcorn_shm without any ivshmem device: it loads, binds nothing, unloads.
. ./lib.sh

no_device() {
	! shm_dev >/dev/null
}

nothing_bound() {
	[ -d /sys/bus/pci/drivers/popcorn_shm ] &&
		! ls /sys/bus/pci/drivers/popcorn_shm | grep -q :
}

ktap_plan 4
ktap_check "no ivshmem device" no_device
ktap_check "insmod popcorn_msg popcorn_shm" pcn_insmod
ktap_check "driver registered, no device bound" nothing_bound
ktap_check "rmmod popcorn_shm popcorn_msg" pcn_rmmod
ktap_finish
