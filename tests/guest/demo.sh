#!/bin/sh
# make demo: each kernel says who it is, then the kernels ring each other.
echo "# $(uname -r) as guest $POPCORN_GUEST of $POPCORN_GUESTS"
sh ./ring.sh
rc=$?
dmesg | grep 'popcorn_shm .*peer' | sed 's/^/# dmesg: /'
exit $rc
