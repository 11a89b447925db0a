/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels the modules build for (6.1 and 6.12
 * LTS), in one place, so that the code elsewhere reads as one version.
 */
#ifndef _POPCORN_COMPAT_H
#define _POPCORN_COMPAT_H

#include <linux/filter.h>
#include <linux/netdevice.h>
#include <linux/version.h>

/* Runs @prog on *@pskb through the kernel's skb XDP path: true on pass. */
static inline bool pcn_xdp_generic_pass(struct bpf_prog *prog,
					struct sk_buff **pskb)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	return do_xdp_generic(prog, pskb) == XDP_PASS;
#else
	return do_xdp_generic(prog, *pskb) == XDP_PASS;
#endif
}

/* Since 6.3 a device says what XDP it offers; redirects check it. */
static inline void pcn_xdp_features_full(struct net_device *dev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	dev->xdp_features = NETDEV_XDP_ACT_BASIC | NETDEV_XDP_ACT_REDIRECT |
			    NETDEV_XDP_ACT_NDO_XMIT;
#endif
}

#endif /* _POPCORN_COMPAT_H */
