#!/bin/sh
# The netlink family's answers to bad requests (netlink_test.c, KTAP).
. ./lib.sh

insmod "$MSG_MOD" || echo "# cannot load popcorn_msg"
popcornctl node add 0 --self || echo "# cannot add the self node"
netlink_test
rc=$?
rmmod popcorn_msg
exit $rc
