// SPDX-License-Identifier: GPL-2.0
/*
 * A node's link: its receive thread owns the connection. On the side with
 * the lower node id it connects and says hello; on the other it takes the
 * connection the listener accepted and greeted. Either way it then runs a
 * session, receiving frames until the connection fails, the core asks for
 * a new session, or a newer connection from the peer replaces it.
 */
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <net/sock.h>

#include "tcp.h"

unsigned int pcn_tcp_tx_kb = 1024;
module_param_named(tx_buffer_kb, pcn_tcp_tx_kb, uint, 0644);
MODULE_PARM_DESC(tx_buffer_kb, "Bytes queued to send per node, in KiB (256..65536; read when a node is added)");

#define PCN_TCP_POLL		(HZ / 10)	/* blocking calls look up this often */
#define PCN_TCP_HELLO_TIME	(3 * HZ)	/* to connect, and for the hello */
#define PCN_TCP_BACKOFF_MAX	HZ

struct pcn_tcp_deadline {
	unsigned long at;
};

static bool pcn_tcp_past(void *arg)
{
	struct pcn_tcp_deadline *d = arg;

	return kthread_should_stop() || time_after(jiffies, d->at);
}

static bool pcn_tcp_session_over(void *arg)
{
	struct pcn_tcp_link *link = arg;

	return kthread_should_stop() || test_bit(PCN_TCP_RESET, &link->flags) ||
	       READ_ONCE(link->pending);
}

static bool pcn_tcp_connector(struct pcn_tcp_link *link)
{
	return pcn_msg_self() < link->id;
}

/* Connect to the node's listener and exchange hellos. */
static struct socket *pcn_tcp_dial(struct pcn_tcp_link *link)
{
	struct pcn_tcp_deadline d = { .at = jiffies + PCN_TCP_HELLO_TIME };
	struct pcn_tcp_hello h;
	struct socket *sock;
	struct kvec vec = { .iov_base = &h, .iov_len = sizeof(h) };
	int err;
	u32 status;

	err = sock_create_kern(&init_net, link->addr.ss_family, SOCK_STREAM,
			       IPPROTO_TCP, &sock);
	if (err)
		return ERR_PTR(err);
	/* A blocking connect() waits as long as the send timeout. */
	pcn_tcp_sock_tune(sock, PCN_TCP_HELLO_TIME);
	err = kernel_connect(sock, (struct sockaddr *)&link->addr, link->addrlen, 0);
	if (err)
		goto fail;
	pcn_tcp_sock_tune(sock, PCN_TCP_POLL);
	pcn_tcp_hello_fill(&h, pcn_msg_self(), link->id, 0, 0);
	err = pcn_tcp_send(sock, &vec, 1, sizeof(h), pcn_tcp_past, &d);
	if (!err)
		err = pcn_tcp_recv(sock, &h, sizeof(h), pcn_tcp_past, &d);
	if (err)
		goto fail;
	status = le32_to_cpu(h.status);
	err = pcn_tcp_hello_check(&h, pcn_msg_self());
	if (!err && status)
		err = -(int)min_t(u32, status, 4095);
	else if (!err && (le32_to_cpu(h.from) != link->id ||
			  !(le16_to_cpu(h.flags) & PCN_TCP_HELLO_F_ANSWER)))
		err = -EPROTO;
	/* A peer yet to add us refuses with ENOENT: it is starting. */
	if (err && err != -ENOENT) {
		pr_warn_ratelimited("node %d at %s: hello failed: %d\n", link->id,
				    link->endpoint, err);
		atomic64_inc(&link->errors);
	}
	if (err)
		goto fail;
	return sock;

fail:
	atomic64_inc(&pcn_tcp.stats.connect_failed);
	pr_debug("node %d: connecting to %s: %d\n", link->id, link->endpoint, err);
	sock_release(sock);
	return ERR_PTR(err);
}

static struct socket *pcn_tcp_take_pending(struct pcn_tcp_link *link)
{
	struct socket *sock;

	mutex_lock(&pcn_tcp.lock);
	sock = link->pending;
	link->pending = NULL;
	mutex_unlock(&pcn_tcp.lock);
	return sock;
}

static bool pcn_tcp_resumed(struct pcn_tcp_link *link)
{
	return test_bit(PCN_TCP_RESUME, &link->flags) || pcn_tcp_session_over(link);
}

/* Hand one record to the core, waiting while it holds all it may. */
static int pcn_tcp_deliver(struct pcn_tcp_link *link, u32 len)
{
	int err;

	for (;;) {
		clear_bit(PCN_TCP_RESUME, &link->flags);
		err = pcn_transport_deliver(link->node, link->rx_buf, len, link->scratch);
		if (err != -EBUSY && err != -EAGAIN)
			return 0;
		wait_event_interruptible_timeout(link->rx_wq, pcn_tcp_resumed(link),
						 HZ / 20);
		if (pcn_tcp_session_over(link))
			return -ECANCELED;
	}
}

/* Frames until the session ends; returns why. */
static int pcn_tcp_receive(struct pcn_tcp_link *link, struct socket *sock)
{
	struct pcn_tcp_frame f;
	u32 len;
	int err;

	for (;;) {
		err = pcn_tcp_recv(sock, &f, sizeof(f), pcn_tcp_session_over, link);
		if (err)
			return err;
		len = le32_to_cpu(f.len);
		if (!len || len > PCN_TCP_MAX_RECORD) {
			atomic64_inc(&link->errors);
			atomic64_inc(&pcn_tcp.stats.bad_frames);
			pr_warn_ratelimited("node %d: a frame of %u bytes, ending the session\n",
					    link->id, len);
			return -EPROTO;
		}
		err = pcn_tcp_recv(sock, link->rx_buf, len, pcn_tcp_session_over, link);
		if (err)
			return err;
		atomic64_add(sizeof(f) + len, &link->rx_bytes);
		err = pcn_tcp_deliver(link, len);
		if (err)
			return err;
	}
}

static void pcn_tcp_session(struct pcn_tcp_link *link, struct socket *sock)
{
	int err;

	clear_bit(PCN_TCP_RESET, &link->flags);
	pcn_tcp_sock_tune(sock, PCN_TCP_POLL);
	mutex_lock(&link->sock_lock);
	link->sock = sock;
	pcn_tcp_txbuf_start(&link->tx);
	mutex_unlock(&link->sock_lock);
	atomic64_inc(&link->sessions);
	pcn_transport_rx_reset(link->node);
	wake_up(&link->tx.wq);
	pr_info("node %d: connected (%s)\n", link->id, link->endpoint);
	pcn_transport_link_up(link->node);

	err = pcn_tcp_receive(link, sock);

	/* Unblock the sender, then take the socket from it. */
	kernel_sock_shutdown(sock, SHUT_RDWR);
	mutex_lock(&link->sock_lock);
	link->sock = NULL;
	pcn_tcp_txbuf_stop(&link->tx);
	mutex_unlock(&link->sock_lock);
	pcn_transport_link_down(link->node, err == -ECANCELED ? -ECONNRESET : err);
	if (!kthread_should_stop())
		pr_info("node %d: disconnected (%d)\n", link->id, err);
	sock_release(sock);
}

static int pcn_tcp_rx_thread(void *data)
{
	struct pcn_tcp_link *link = data;
	unsigned long backoff = PCN_TCP_POLL;
	struct socket *sock;

	while (!kthread_should_stop()) {
		if (pcn_tcp_connector(link))
			sock = pcn_tcp_dial(link);
		else
			sock = pcn_tcp_take_pending(link);
		if (!IS_ERR_OR_NULL(sock)) {
			pcn_tcp_session(link, sock);
			backoff = PCN_TCP_POLL;
			continue;
		}
		wait_event_interruptible_timeout(link->rx_wq, kthread_should_stop() ||
						 READ_ONCE(link->pending), backoff);
		if (IS_ERR(sock))
			backoff = min(backoff * 2, (unsigned long)PCN_TCP_BACKOFF_MAX);
	}
	return 0;
}

static bool pcn_tcp_endpoint_taken(const struct pcn_tcp_link *link)
{
	const struct pcn_tcp_link *other;
	int i;

	for (i = 0; i < PCN_MAX_NODES; i++) {
		other = pcn_tcp.links[i];
		if (other && other->addrlen == link->addrlen &&
		    !memcmp(&other->addr, &link->addr, link->addrlen))
			return true;
	}
	return false;
}

static void pcn_tcp_link_free(struct pcn_tcp_link *link)
{
	if (link->rx_thread)
		kthread_stop(link->rx_thread);
	if (link->tx_thread)
		kthread_stop(link->tx_thread);
	if (link->pending)
		sock_release(link->pending);
	pcn_tcp_txbuf_free(&link->tx);
	kvfree(link->rx_buf);
	kvfree(link->scratch);
	kfree(link);
}

static int pcn_tcp_link_alloc(struct pcn_tcp_link *link)
{
	struct task_struct *t;
	int err;

	err = pcn_tcp_txbuf_init(&link->tx, clamp(READ_ONCE(pcn_tcp_tx_kb), 256U, 65536U) * 1024);
	if (err)
		return err;
	link->rx_buf = kvmalloc(PCN_TCP_MAX_RECORD, GFP_KERNEL);
	link->scratch = kvmalloc(PCN_TCP_MAX_RECORD, GFP_KERNEL);
	if (!link->rx_buf || !link->scratch)
		return -ENOMEM;
	t = kthread_create(pcn_tcp_rx_thread, link, "pcn_tcp_rx%d", link->id);
	if (IS_ERR(t))
		return PTR_ERR(t);
	link->rx_thread = t;
	t = kthread_create(pcn_tcp_tx_thread, link, "pcn_tcp_tx%d", link->id);
	if (IS_ERR(t))
		return PTR_ERR(t);
	link->tx_thread = t;
	return 0;
}

int pcn_tcp_link_add(struct pcn_node *node, const char *endpoint,
		     struct netlink_ext_ack *extack)
{
	struct pcn_tcp_link *link;
	int err;

	link = kzalloc(sizeof(*link), GFP_KERNEL);
	if (!link)
		return -ENOMEM;
	link->node = node;
	link->id = pcn_node_id(node);
	strscpy(link->endpoint, endpoint, sizeof(link->endpoint));
	mutex_init(&link->sock_lock);
	init_waitqueue_head(&link->rx_wq);
	atomic64_set(&link->errors, 0);
	if (pcn_tcp_parse_endpoint(endpoint, &link->addr, &link->addrlen,
				   pcn_tcp_port)) {
		NL_SET_ERR_MSG(extack,
			       "tcp endpoint is ADDRESS[:PORT], IPv4 or IPv6 in brackets");
		err = -EINVAL;
		goto err_free;
	}
	err = pcn_tcp_link_alloc(link);
	if (err)
		goto err_free;

	mutex_lock(&pcn_tcp.lock);
	if (pcn_tcp_endpoint_taken(link)) {
		mutex_unlock(&pcn_tcp.lock);
		NL_SET_ERR_MSG(extack, "another node already has this tcp endpoint");
		err = -EEXIST;
		goto err_free;
	}
	pcn_tcp.links[link->id] = link;
	mutex_unlock(&pcn_tcp.lock);
	pcn_node_set_link(node, link);
	wake_up_process(link->rx_thread);
	wake_up_process(link->tx_thread);
	return 0;

err_free:
	pcn_tcp_link_free(link);
	return err;
}

void pcn_tcp_link_del(struct pcn_node *node)
{
	struct pcn_tcp_link *link = pcn_node_link(node);

	mutex_lock(&pcn_tcp.lock);
	pcn_tcp.links[link->id] = NULL;
	mutex_unlock(&pcn_tcp.lock);
	pcn_tcp_link_free(link);
}

void pcn_tcp_link_reset(struct pcn_node *node)
{
	struct pcn_tcp_link *link = pcn_node_link(node);

	set_bit(PCN_TCP_RESET, &link->flags);
	wake_up(&link->rx_wq);
}

void pcn_tcp_rx_resume(struct pcn_node *node)
{
	struct pcn_tcp_link *link = pcn_node_link(node);

	set_bit(PCN_TCP_RESUME, &link->flags);
	wake_up(&link->rx_wq);
}
