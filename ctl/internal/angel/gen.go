package angel

// The XDP program's objects, generated from ebpf/angel.bpf.c with the
// clang that .ci/setup installs; `make check-bpf` fails if they drift.
//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip-14 -target bpfel -type angel_cfg -type angel_flow_key -type angel_flow -type angel_node_stats -type angel_event -type angel_ctl xdp ../../../ebpf/angel.bpf.c -- -O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu
