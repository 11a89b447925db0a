#!/bin/sh
# Atomics across kernels: every guest does COUNT compare-and-swap
# increments of one counter in the ivshmem window at the same time, and
# the count must come out exact. QEMU's TCG keeps a guest's atomics atomic
# against other guests only with multi-threaded TCG and a machine that
# may have two vCPUs (-smp N,maxcpus>=2); with -smp 1 10-40% of the
# increments are lost. No popcorn module is loaded: nothing else may
# write the window while the counter lives in it.
. ./lib.sh

# 2M increments each take 0.1-0.4 s under TCG with two guests contending
# (0.04-0.1 s with -smp 1, where they are not atomic): no need for fewer.
COUNT=2000000

atomic_count() {
	out=$(shm-atomic "$SHM_DEV/resource2" "$POPCORN_GUEST" "$POPCORN_GUESTS" $COUNT)
	rc=$?
	echo "# $out"
	return $rc
}

ktap_plan 2
SHM_DEV=$(shm_dev)
ktap_check "ivshmem device, no popcorn module" \
	sh -c "[ -n '$SHM_DEV' ] && ! grep -q '^popcorn_' /proc/modules"
# Memory decoding on, with no driver bound.
[ -n "$SHM_DEV" ] && echo 1 > "$SHM_DEV/enable"
ktap_check "$POPCORN_GUESTS guests x $COUNT atomic increments, none lost" atomic_count
ktap_finish
