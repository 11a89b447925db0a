// SPDX-License-Identifier: GPL-2.0
/*
 * Test knobs of the debug variant, under /sys/kernel/debug/snapbean/:
 *
 *   bad_frames  NODE: send NODE seven frame messages no correct kernel
 *               writes (shorter than an Ethernet header, longer than an
 *               MTU of 1500 allows, an unknown version, unknown flags, a
 *               checksum to compute past the frame's end, an unknown
 *               segmentation type, a segment size of 0); NODE must drop
 *               and count each one
 */
#include <linux/debugfs.h>
#include <linux/etherdevice.h>
#include <linux/slab.h>
#include <linux/virtio_byteorder.h>

#include "snapbean.h"

#define SB_BAD_FRAME_MAX	2000

static struct dentry *sb_debugfs;

static int sb_send_bad(int node, const struct pcn_sb_frame *f, void *buf,
		       size_t len)
{
	memcpy(buf, f, sizeof(*f));
	return pcn_msg_send(node, PCN_MSG_SNAPBEAN_FRAME, buf, len, GFP_KERNEL);
}

static int sb_bad_frames(int node)
{
	const struct pcn_sb_frame ok = { .version = PCN_SB_VERSION };
	struct pcn_sb_frame f;
	u8 *buf;
	int err;

	buf = kzalloc(SB_BAD_FRAME_MAX, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	eth_broadcast_addr(buf + sizeof(f));
	err = sb_send_bad(node, &ok, buf, sizeof(f) + ETH_HLEN - 1);
	if (!err)
		err = sb_send_bad(node, &ok, buf, SB_BAD_FRAME_MAX);
	f = ok;
	f.version = PCN_SB_VERSION + 1;
	if (!err)
		err = sb_send_bad(node, &f, buf, sizeof(f) + ETH_ZLEN);
	f = ok;
	f.flags = 0x80;
	if (!err)
		err = sb_send_bad(node, &f, buf, sizeof(f) + ETH_ZLEN);
	f = ok;
	f.vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	f.vnet.csum_start = __cpu_to_virtio16(true, ETH_ZLEN + 100);
	if (!err)
		err = sb_send_bad(node, &f, buf, sizeof(f) + ETH_ZLEN);
	f = ok;
	f.vnet.gso_type = 0x42;
	f.vnet.gso_size = __cpu_to_virtio16(true, 1000);
	if (!err)
		err = sb_send_bad(node, &f, buf, sizeof(f) + ETH_ZLEN);
	f = ok;
	f.vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	if (!err)
		err = sb_send_bad(node, &f, buf, sizeof(f) + ETH_ZLEN);
	kfree(buf);
	return err;
}

static int bad_frames_set(void *data, u64 val)
{
	if (val >= PCN_MAX_NODES)
		return -EINVAL;
	return sb_bad_frames(val);
}
DEFINE_DEBUGFS_ATTRIBUTE(bad_frames_fops, NULL, bad_frames_set, "%llu\n");

void sb_debug_init(void)
{
	sb_debugfs = debugfs_create_dir("snapbean", NULL);
	debugfs_create_file_unsafe("bad_frames", 0200, sb_debugfs, NULL,
				   &bad_frames_fops);
}

void sb_debug_exit(void)
{
	debugfs_remove_recursive(sb_debugfs);
}
