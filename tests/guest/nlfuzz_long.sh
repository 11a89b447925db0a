#!/bin/sh
# nlfuzz.sh with 100000 requests per kernel, for make test-long.
COUNT=100000
. ./nlfuzz.sh
