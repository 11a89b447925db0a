// SPDX-License-Identifier: GPL-2.0
/*
 * The listener: accepts connections on the transport's port and greets
 * each in a work item of its own, so that a stranger who sends nothing
 * holds one of a few slots for three seconds, never the listener. A connection
 * is handed to a node's link only if its hello names a node of ours with
 * a lower id than ours, comes from that node's address, and speaks our
 * version; anything else is answered (when it was a hello) and closed.
 */
#include <linux/inet.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/sock.h>

#include "tcp.h"

unsigned short pcn_tcp_port = PCN_TCP_DEFAULT_PORT;
module_param_named(port, pcn_tcp_port, ushort, 0444);
MODULE_PARM_DESC(port, "TCP port to listen on, and the default port of endpoints");

static char *listen_addr = "0.0.0.0";
module_param(listen_addr, charp, 0444);
MODULE_PARM_DESC(listen_addr, "Address to listen on: IPv4, or IPv6 in brackets (\"[::]\" takes both)");

/* Connections greeted at once, at most; more are closed at once. */
#define PCN_TCP_GREETERS	16
#define PCN_TCP_GREET_TIME	(3 * HZ)

static struct {
	struct socket *sock;
	struct task_struct *thread;
	struct workqueue_struct *wq;
	atomic_t greeting;
} pcn_listen;

struct pcn_tcp_greet {
	struct work_struct work;
	struct socket *sock;
	unsigned long deadline;
};

static bool pcn_tcp_greet_late(void *arg)
{
	struct pcn_tcp_greet *g = arg;

	return time_after(jiffies, g->deadline);
}

/* Whether node @from may connect to us from @peer; 0 or why not. */
static int pcn_tcp_admit(u32 from, const struct sockaddr_storage *peer,
			 struct pcn_tcp_link **linkp)
{
	struct pcn_tcp_link *link = pcn_tcp.links[from];

	if (!link)
		return -ENOENT;
	if (!pcn_tcp_same_host(peer, &link->addr))
		return -EPERM;
	if ((int)from > pcn_msg_self())
		return -EINVAL;	/* the lower id connects */
	*linkp = link;
	return 0;
}

/* Give @sock to @link in place of any older connection. pcn_tcp.lock held. */
static void pcn_tcp_hand_over(struct pcn_tcp_link *link, struct socket *sock)
{
	struct socket *old = link->pending;

	link->pending = sock;
	wake_up(&link->rx_wq);
	if (old)
		sock_release(old);
}

/* Answer a hello with @err (0: welcome) and, if welcome, hand over. */
static int pcn_tcp_answer(struct pcn_tcp_greet *g, const struct pcn_tcp_hello *hello,
			  int err, const struct sockaddr_storage *peer)
{
	u32 from = le32_to_cpu(hello->from);
	int self = pcn_msg_self();
	struct pcn_tcp_link *link = NULL;
	struct pcn_tcp_hello h;
	struct kvec vec = { .iov_base = &h, .iov_len = sizeof(h) };

	mutex_lock(&pcn_tcp.lock);
	if (!err)
		err = pcn_tcp_admit(from, peer, &link);
	/* Without a node id yet, we answer as the one we were taken for. */
	if (self < 0)
		err = -ENOENT;
	pcn_tcp_hello_fill(&h, self < 0 ? le32_to_cpu(hello->to) : self, from,
			   PCN_TCP_HELLO_F_ANSWER, -err);
	if (pcn_tcp_send(g->sock, &vec, 1, sizeof(h), pcn_tcp_greet_late, g) && !err)
		err = -ECONNRESET;
	if (!err) {
		pcn_tcp_hand_over(link, g->sock);
		g->sock = NULL;
	}
	mutex_unlock(&pcn_tcp.lock);
	return err;
}

static void pcn_tcp_greet(struct work_struct *work)
{
	struct pcn_tcp_greet *g = container_of(work, struct pcn_tcp_greet, work);
	struct sockaddr_storage peer = {};
	struct pcn_tcp_hello h;
	int err;

	err = kernel_getpeername(g->sock, (struct sockaddr *)&peer);
	if (err >= 0)
		err = pcn_tcp_recv(g->sock, &h, sizeof(h), pcn_tcp_greet_late, g);
	if (!err)
		err = pcn_tcp_hello_check(&h, pcn_msg_self());
	if (err && err != -EPROTONOSUPPORT && err != -EADDRNOTAVAIL) {
		/* Bytes that were no hello of ours get no answer. */
		pr_info_ratelimited("connection from %pISpc closed: no hello (%d)\n",
				    &peer, err);
	} else {
		err = pcn_tcp_answer(g, &h, err, &peer);
		if (err)
			pr_info_ratelimited("connection from %pISpc as node %u refused: %d\n",
					    &peer, le32_to_cpu(h.from), err);
	}
	if (err)
		atomic64_inc(&pcn_tcp.stats.refused);
	else
		atomic64_inc(&pcn_tcp.stats.accepted);
	if (g->sock)
		sock_release(g->sock);
	kfree(g);
	atomic_dec(&pcn_listen.greeting);
}

static void pcn_tcp_accepted(struct socket *sock)
{
	struct pcn_tcp_greet *g;

	g = atomic_inc_return(&pcn_listen.greeting) <= PCN_TCP_GREETERS ?
		kzalloc(sizeof(*g), GFP_KERNEL) : NULL;
	if (!g) {
		atomic_dec(&pcn_listen.greeting);
		atomic64_inc(&pcn_tcp.stats.refused);
		pr_info_ratelimited("too many connections in their hello, one closed\n");
		sock_release(sock);
		return;
	}
	pcn_tcp_sock_tune(sock, HZ / 10);
	g->sock = sock;
	g->deadline = jiffies + PCN_TCP_GREET_TIME;
	INIT_WORK(&g->work, pcn_tcp_greet);
	queue_work(pcn_listen.wq, &g->work);
}

static int pcn_tcp_listen_thread(void *data)
{
	struct socket *sock;
	int err;

	while (!kthread_should_stop()) {
		err = kernel_accept(pcn_listen.sock, &sock, 0);
		if (!err)
			pcn_tcp_accepted(sock);
		else if (err != -EAGAIN && err != -EINTR && err != -ERESTARTSYS)
			/* Out of memory or descriptors: do not spin. */
			schedule_timeout_interruptible(HZ / 10);
	}
	return 0;
}

static int pcn_tcp_listen_socket(void)
{
	struct sockaddr_storage ss;
	struct socket *sock;
	int len, err;

	if (pcn_tcp_parse_endpoint(listen_addr, &ss, &len, pcn_tcp_port)) {
		pr_err("listen_addr=%s: want an IPv4 address or an IPv6 one in brackets\n",
		       listen_addr);
		return -EINVAL;
	}
	err = sock_create_kern(&init_net, ss.ss_family, SOCK_STREAM, IPPROTO_TCP, &sock);
	if (err)
		return err;
	sock_set_reuseaddr(sock->sk);
	pcn_tcp_sock_tune(sock, HZ / 10);
	err = kernel_bind(sock, (struct sockaddr *)&ss, len);
	if (!err)
		err = kernel_listen(sock, PCN_TCP_GREETERS);
	if (err) {
		pr_err("cannot listen on %pISpc: %d\n", &ss, err);
		sock_release(sock);
		return err;
	}
	pr_info("listening on %pISpc\n", &ss);
	pcn_listen.sock = sock;
	return 0;
}

int pcn_tcp_listen_start(void)
{
	struct task_struct *t;
	int err;

	pcn_listen.wq = alloc_workqueue("pcn_tcp_greet", WQ_UNBOUND, PCN_TCP_GREETERS);
	if (!pcn_listen.wq)
		return -ENOMEM;
	err = pcn_tcp_listen_socket();
	if (err)
		goto err_wq;
	t = kthread_run(pcn_tcp_listen_thread, NULL, "pcn_tcp_listen");
	if (IS_ERR(t)) {
		err = PTR_ERR(t);
		goto err_sock;
	}
	pcn_listen.thread = t;
	return 0;

err_sock:
	sock_release(pcn_listen.sock);
err_wq:
	destroy_workqueue(pcn_listen.wq);
	return err;
}

void pcn_tcp_listen_stop(void)
{
	kthread_stop(pcn_listen.thread);
	/* Greetings in progress end within their deadline. */
	destroy_workqueue(pcn_listen.wq);
	sock_release(pcn_listen.sock);
}
