#!/bin/sh
# modcycle.sh with 100 cycles, for make test-long.
CYCLES=100
. ./modcycle.sh
