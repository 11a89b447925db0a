#!/bin/sh
# Loads a module that warns on purpose. The script itself passes: only the
# rig's console scan can fail it, which is what this suite proves.
. ./lib.sh

ktap_plan 1
ktap_check "insmod popcorn_splat" insmod /lib/popcorn-test/popcorn_splat.ko
ktap_finish
