// SPDX-License-Identifier: GPL-2.0
/*
 * Socket helpers: endpoints, whole reads and writes that give up when
 * their owner stops, and the hello both sides exchange.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/inet.h>
#include <linux/kernel.h>
#include <linux/tcp.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "tcp.h"

/* "a.b.c.d[:port]" or "[v6][:port]"; the port defaults to @default_port. */
int pcn_tcp_parse_endpoint(const char *s, struct sockaddr_storage *ss,
			   int *len, u16 default_port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	const char *end, *port = NULL;
	unsigned int p = default_port;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		s++;
		if (!in6_pton(s, -1, sin6->sin6_addr.s6_addr, ']', &end) || *end != ']')
			return -EINVAL;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		*len = sizeof(*sin6);
	} else {
		if (!in4_pton(s, -1, (u8 *)&sin->sin_addr.s_addr, ':', &end))
			return -EINVAL;
		if (*end == ':')
			port = end + 1;
		else if (*end)
			return -EINVAL;
		sin->sin_family = AF_INET;
		*len = sizeof(*sin);
	}
	if (port && (kstrtouint(port, 10, &p) || !p || p > U16_MAX))
		return -EINVAL;
	if (ss->ss_family == AF_INET6)
		sin6->sin6_port = htons(p);
	else
		sin->sin_port = htons(p);
	return 0;
}

/* @ss's IPv4 address, also when it is IPv4-mapped IPv6; false if none. */
static bool pcn_tcp_ipv4(const struct sockaddr_storage *ss, __be32 *addr)
{
	const struct sockaddr_in6 *sin6 = (const void *)ss;
	const struct sockaddr_in *sin = (const void *)ss;

	if (ss->ss_family == AF_INET)
		*addr = sin->sin_addr.s_addr;
	else if (ss->ss_family == AF_INET6 && ipv6_addr_v4mapped(&sin6->sin6_addr))
		*addr = sin6->sin6_addr.s6_addr32[3];
	else
		return false;
	return true;
}

/* The same address, ports aside; an IPv4-mapped IPv6 address is IPv4. */
bool pcn_tcp_same_host(const struct sockaddr_storage *a,
		       const struct sockaddr_storage *b)
{
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;
	__be32 x, y;

	if (pcn_tcp_ipv4(a, &x) || pcn_tcp_ipv4(b, &y))
		return pcn_tcp_ipv4(a, &x) && pcn_tcp_ipv4(b, &y) && x == y;
	return a->ss_family == AF_INET6 && b->ss_family == AF_INET6 &&
	       ipv6_addr_equal(&a6->sin6_addr, &b6->sin6_addr);
}

/*
 * No Nagle (a request waits for no ACK), and a timeout on every blocking
 * call, so that a thread in one notices within @timeout that it must stop.
 */
void pcn_tcp_sock_tune(struct socket *sock, long timeout)
{
	struct sock *sk = sock->sk;

	tcp_sock_set_nodelay(sk);
	lock_sock(sk);
	sk->sk_rcvtimeo = timeout;
	sk->sk_sndtimeo = timeout;
	release_sock(sk);
}

/* A call that timed out or was interrupted is tried again, unless @stop. */
static bool pcn_tcp_again(int n)
{
	return n == -EAGAIN || n == -EINTR || n == -ERESTARTSYS;
}

/*
 * Read exactly @len bytes. 0, -ECONNRESET on end of stream, -ECANCELED
 * when @stop says so between timeouts, or the socket's error.
 */
int pcn_tcp_recv(struct socket *sock, void *buf, size_t len,
		 bool (*stop)(void *), void *arg)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	struct kvec vec;
	int n;

	while (len) {
		vec.iov_base = buf;
		vec.iov_len = len;
		n = kernel_recvmsg(sock, &msg, &vec, 1, len, MSG_NOSIGNAL);
		if (pcn_tcp_again(n) && stop(arg))
			return -ECANCELED;
		if (pcn_tcp_again(n))
			continue;
		if (n < 0)
			return n;
		if (n == 0)
			return -ECONNRESET;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Write @len bytes from @vec; errors as pcn_tcp_recv(). */
int pcn_tcp_send(struct socket *sock, struct kvec *vec, size_t nr,
		 size_t len, bool (*stop)(void *), void *arg)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	int n;

	while (len) {
		n = kernel_sendmsg(sock, &msg, vec, nr, len);
		if (pcn_tcp_again(n) && stop(arg))
			return -ECANCELED;
		if (pcn_tcp_again(n))
			continue;
		if (n < 0)
			return n;
		len -= n;
		/* A short write: skip what went out. */
		while (n && n >= vec->iov_len) {
			n -= vec->iov_len;
			vec++;
			nr--;
		}
		if (n) {
			vec->iov_base += n;
			vec->iov_len -= n;
		}
	}
	return 0;
}

void pcn_tcp_hello_fill(struct pcn_tcp_hello *h, u32 from, u32 to,
			u16 flags, u32 status)
{
	*h = (struct pcn_tcp_hello) {
		.magic = cpu_to_le32(PCN_TCP_MAGIC),
		.version = cpu_to_le16(PCN_TCP_VERSION),
		.flags = cpu_to_le16(flags),
		.from = cpu_to_le32(from),
		.to = cpu_to_le32(to),
		.status = cpu_to_le32(status),
	};
}

/*
 * Whether a hello is one we can take from a peer that calls itself
 * h->from: -EPROTO for bytes that are no hello of ours, -EPROTONOSUPPORT
 * for another version, -EADDRNOTAVAIL when it is meant for another node.
 */
int pcn_tcp_hello_check(const struct pcn_tcp_hello *h, u32 self)
{
	if (le32_to_cpu(h->magic) != PCN_TCP_MAGIC || h->reserved ||
	    le32_to_cpu(h->from) >= PCN_MAX_NODES)
		return -EPROTO;
	if (le16_to_cpu(h->version) != PCN_TCP_VERSION)
		return -EPROTONOSUPPORT;
	if (le32_to_cpu(h->to) != self)
		return -EADDRNOTAVAIL;
	return 0;
}
