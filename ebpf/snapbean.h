/* SPDX-License-Identifier: GPL-2.0 */
/* What XDP programs on the NIC owner need to know of Snap Bean. */
#ifndef _POPCORN_EBPF_SNAPBEAN_H
#define _POPCORN_EBPF_SNAPBEAN_H

/* Node ids, as the messaging core numbers kernels. */
#define SB_MAX_NODES	64

/* MAC of node N: 02:50:43:4e:00:N, as snapbean gives it. */
static __always_inline void sb_mac(unsigned char *mac, __u32 node)
{
	mac[0] = 0x02;
	mac[1] = 0x50;
	mac[2] = 0x43;
	mac[3] = 0x4e;
	mac[4] = 0x00;
	mac[5] = node;
}

#endif /* _POPCORN_EBPF_SNAPBEAN_H */
