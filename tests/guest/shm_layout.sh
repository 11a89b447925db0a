#!/bin/sh
# Kernels with different window layouts refuse each other: a window whose
# header says layout v1 (as a kernel with an older popcorn_shm writes it)
# is not used by ours, which says why; nothing is written to it.
. ./lib.sh

V1_MAGIC=0x4e435053

# The window's physical address: the third line of the device's resource file.
bar2() {
	sed -n 3p "$SHM_DEV/resource" | cut -d' ' -f1
}

write_v1_header() {
	base=$(bar2)
	devmem $((base + 4)) 32 1 && devmem "$base" 32 $V1_MAGIC
}

header_untouched() {
	base=$(bar2)
	expect_eq "layout version" "$(devmem $((base + 4)) 32)" 0x00000001
}

refused_with_reason() {
	dmesg | grep "popcorn_shm" | tail -n 3
	dmesg | grep -q "window layout v1 is not ours (v2)"
}

no_shm_nodes() {
	popcornctl node add 0 --self || return 1
	out=$(popcornctl node add 1 --transport shm --endpoint 1 2>&1) && return 1
	echo "# $out"
	case "$out" in
	*"no shared-memory window"* | *"no such device"*) ;;
	*) return 1 ;;
	esac
}

SHM_DEV=$(shm_dev)
ktap_plan 5
ktap_check "a v1 header in the window" write_v1_header
ktap_check "insmod popcorn_msg popcorn_shm" pcn_insmod
ktap_check "the v1 window is refused, and the log says why" refused_with_reason
ktap_check "no node can use it" no_shm_nodes
# Once the driver lets go of the window, /dev/mem may read it again.
pcn_rmmod
ktap_check "the header is left as it was" header_untouched
ktap_finish
