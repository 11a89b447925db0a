#!/bin/bash
# The client of make demo, in the rig's network namespace: one HTTP
# request to the service address, through guest 0's NIC, once guest 0
# steers it to another kernel; guest 0 prints what the client saw.
set -u
SVC=10.99.0.100
got=
for _ in $(seq 300); do
	got=$(curl -s --max-time 2 "http://$SVC/")
	case "$got" in "served by guest "[1-9]*) break ;; esac
	sleep 0.5
done
line="GET http://$SVC/ from 10.99.0.1: $got"
echo "$line"
# Guest 0 listens once it has shown Angel's table.
for _ in $(seq 120); do
	echo "$line" 2>/dev/null > /dev/tcp/10.99.0.2/9999 && break
	sleep 0.5
done
case "$got" in "served by guest "[1-9]*) ;; *) exit 1 ;; esac
