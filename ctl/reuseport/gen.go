package reuseport

// The sk_reuseport program's objects, generated from ebpf/reuseport.bpf.c
// with the clang that .ci/setup installs; `make check-bpf` fails if they
// drift.
//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip-14 -target bpfel -type rp_cfg -type rp_load -type rp_stats -type rp_event reuseport ../../ebpf/reuseport.bpf.c -- -O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu
