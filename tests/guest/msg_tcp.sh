#!/bin/sh
# The messaging suite (msg.sh) over the tcp transport: every node reached
# at its virtio-net address, the shared-memory window unused.
PCN_TRANSPORT=tcp
. ./msg.sh
