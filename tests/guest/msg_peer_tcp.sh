#!/bin/sh
# msg_peer.sh over the tcp transport.
PCN_TRANSPORT=tcp
. ./msg_peer.sh
