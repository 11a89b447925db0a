// SPDX-License-Identifier: GPL-2.0
/*
 * The popcorn generic netlink family refuses bad requests with the right
 * errno and a message a person can read (extack). Runs where popcorn_msg
 * is loaded, as root; one test drops privileges. With PCN_PEER set to the
 * id of a node that is up, a signal stops a long ping to it.
 */
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/popcorn.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define BUF_SIZE 8192

struct nl {
	int fd;
	uint16_t family;
	uint32_t seq;
	char extack[256];
	int bad_attr;	/* offset of the attribute extack blames, or -1 */
};

static struct nlattr *put_attr(struct nlmsghdr *nh, uint16_t type,
			       const void *data, uint16_t len)
{
	struct nlattr *a = (void *)nh + NLMSG_ALIGN(nh->nlmsg_len);

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + NLA_ALIGN(a->nla_len);
	return a;
}

static struct nlmsghdr *start(char *buf, uint16_t type, uint8_t cmd,
			      uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nh = (void *)buf;
	struct genlmsghdr *g;

	memset(buf, 0, BUF_SIZE);
	nh->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	nh->nlmsg_type = type;
	nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nh->nlmsg_seq = seq;
	g = NLMSG_DATA(nh);
	g->cmd = cmd;
	g->version = 1;
	return nh;
}

/* Send, then read until the ack: 0 or -errno; the extack is kept. */
static int transact(struct nl *nl, struct nlmsghdr *nh, char *reply)
{
	char buf[BUF_SIZE];
	ssize_t n;

	nl->extack[0] = '\0';
	nl->bad_attr = -1;
	if (send(nl->fd, nh, nh->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *r;

		n = recv(nl->fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		for (r = (void *)buf; NLMSG_OK(r, n); r = NLMSG_NEXT(r, n)) {
			struct nlmsgerr *e = NLMSG_DATA(r);
			struct nlattr *a;
			int len;

			if (r->nlmsg_type == NLMSG_DONE)	/* a dump that ran */
				return *(int *)NLMSG_DATA(r);
			if (r->nlmsg_type != NLMSG_ERROR) {
				if (reply)
					memcpy(reply, r, r->nlmsg_len);
				continue;
			}
			if (!(r->nlmsg_flags & NLM_F_ACK_TLVS))
				return e->error;
			/* TLVs follow the request echoed back (capped: just its header). */
			a = (void *)((char *)e + sizeof(*e) +
				     ((r->nlmsg_flags & NLM_F_CAPPED) ? 0 :
				      NLMSG_ALIGN(e->msg.nlmsg_len - sizeof(e->msg))));
			len = (char *)r + r->nlmsg_len - (char *)a;
			for (; len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
			       a->nla_len <= len;
			     len -= NLA_ALIGN(a->nla_len),
			     a = (void *)((char *)a + NLA_ALIGN(a->nla_len)))
				if (a->nla_type == NLMSGERR_ATTR_MSG)
					snprintf(nl->extack, sizeof(nl->extack), "%s",
						 (char *)a + NLA_HDRLEN);
				else if (a->nla_type == NLMSGERR_ATTR_OFFS)
					nl->bad_attr = *(uint32_t *)((char *)a + NLA_HDRLEN);
			return e->error;
		}
	}
}

static int nl_open(struct nl *nl)
{
	char buf[BUF_SIZE], reply[BUF_SIZE];
	struct nlmsghdr *nh;
	struct nlattr *a;
	int one = 1, len;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nh = start(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0, ++nl->seq);
	put_attr(nh, CTRL_ATTR_FAMILY_NAME, POPCORN_FAMILY_NAME,
		 sizeof(POPCORN_FAMILY_NAME));
	memset(reply, 0, sizeof(reply));
	if (transact(nl, nh, reply))
		return -ENOENT;
	nh = (void *)reply;
	a = (void *)((char *)NLMSG_DATA(nh) + GENL_HDRLEN);
	len = nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	for (; len >= (int)NLA_HDRLEN; len -= NLA_ALIGN(a->nla_len),
	     a = (void *)((char *)a + NLA_ALIGN(a->nla_len)))
		if (a->nla_type == CTRL_ATTR_FAMILY_ID)
			nl->family = *(uint16_t *)((char *)a + NLA_HDRLEN);
	return nl->family ? 0 : -ENOENT;
}

static int request(struct nl *nl, uint8_t cmd, uint16_t attr,
		   const void *val, uint16_t len)
{
	char buf[BUF_SIZE];
	struct nlmsghdr *nh = start(buf, nl->family, cmd, 0, ++nl->seq);

	if (attr)
		put_attr(nh, attr, val, len);
	return transact(nl, nh, NULL);
}

FIXTURE(popcorn) {
	struct nl nl;
};

FIXTURE_SETUP(popcorn)
{
	ASSERT_EQ(0, nl_open(&self->nl)) TH_LOG("no popcorn family: load popcorn_msg");
}

FIXTURE_TEARDOWN(popcorn)
{
	close(self->nl.fd);
}

TEST_F(popcorn, unknown_attribute)
{
	uint32_t v = 0;

	EXPECT_EQ(-EINVAL, request(&self->nl, POPCORN_CMD_NODE_GET,
				   POPCORN_A_MAX + 1, &v, sizeof(v)));
	EXPECT_STRNE("", self->nl.extack);
}

TEST_F(popcorn, output_only_attribute_refused)
{
	uint8_t state = 1;

	EXPECT_EQ(-EINVAL, request(&self->nl, POPCORN_CMD_NODE_GET,
				   POPCORN_A_NODE_STATE, &state, sizeof(state)));
	EXPECT_STRNE("", self->nl.extack);
}

TEST_F(popcorn, wrong_length)
{
	uint16_t short_id = 1;

	/* Strict validation: a u32 is exactly four bytes. */
	EXPECT_EQ(-EINVAL, request(&self->nl, POPCORN_CMD_NODE_GET,
				   POPCORN_A_NODE_ID, &short_id, sizeof(short_id)));
	EXPECT_STRNE("", self->nl.extack);
}

TEST_F(popcorn, node_id_out_of_range)
{
	uint32_t id = POPCORN_MAX_NODES;

	EXPECT_EQ(-ERANGE, request(&self->nl, POPCORN_CMD_NODE_DEL,
				   POPCORN_A_NODE_ID, &id, sizeof(id)));
	EXPECT_STRNE("", self->nl.extack);
}

TEST_F(popcorn, missing_node_id)
{
	EXPECT_EQ(-EINVAL, request(&self->nl, POPCORN_CMD_NODE_DEL, 0, NULL, 0));
	EXPECT_STREQ("node id missing", self->nl.extack);
}

TEST_F(popcorn, ping_size_out_of_range)
{
	char buf[BUF_SIZE];
	uint32_t id = 1, size = POPCORN_MSG_MAX_LEN + 1;
	struct nlmsghdr *nh = start(buf, self->nl.family, POPCORN_CMD_PING, 0,
				    ++self->nl.seq);

	put_attr(nh, POPCORN_A_NODE_ID, &id, sizeof(id));
	put_attr(nh, POPCORN_A_PING_SIZE, &size, sizeof(size));
	EXPECT_EQ(-ERANGE, transact(&self->nl, nh, NULL));
	EXPECT_STRNE("", self->nl.extack);
}

/* Offset of an attribute in its request, as extack reports it. */
static int offset(struct nlmsghdr *nh, struct nlattr *a)
{
	return (char *)a - (char *)nh;
}

/*
 * Each operation accepts only its own attributes: an attribute another op
 * takes is refused, and extack points at it.
 */
TEST_F(popcorn, attribute_of_another_op_refused)
{
	char buf[BUF_SIZE];
	uint32_t id = 5, count = 1;
	struct nlmsghdr *nh = start(buf, self->nl.family, POPCORN_CMD_NODE_DEL, 0,
				    ++self->nl.seq);
	struct nlattr *bad;

	put_attr(nh, POPCORN_A_NODE_ID, &id, sizeof(id));
	bad = put_attr(nh, POPCORN_A_PING_COUNT, &count, sizeof(count));
	EXPECT_EQ(-EINVAL, transact(&self->nl, nh, NULL));
	EXPECT_EQ(offset(nh, bad), self->nl.bad_attr);
	EXPECT_STRNE("", self->nl.extack);
	/* Without it, the same request reaches the operation. */
	EXPECT_EQ(-ENOENT, request(&self->nl, POPCORN_CMD_NODE_DEL,
				   POPCORN_A_NODE_ID, &id, sizeof(id)));
}

/* Below the op's highest attribute, one it does not take is refused too. */
TEST_F(popcorn, ping_refuses_node_self)
{
	char buf[BUF_SIZE];
	uint32_t id = 1;
	struct nlmsghdr *nh = start(buf, self->nl.family, POPCORN_CMD_PING, 0,
				    ++self->nl.seq);
	struct nlattr *bad;

	put_attr(nh, POPCORN_A_NODE_ID, &id, sizeof(id));
	bad = put_attr(nh, POPCORN_A_NODE_SELF, NULL, 0);
	EXPECT_EQ(-EINVAL, transact(&self->nl, nh, NULL));
	EXPECT_EQ(offset(nh, bad), self->nl.bad_attr);
	EXPECT_STRNE("", self->nl.extack);
}

/* stats-get takes no attribute at all. */
TEST_F(popcorn, stats_dump_refuses_attributes)
{
	char buf[BUF_SIZE];
	uint32_t id = 1;
	struct nlmsghdr *nh = start(buf, self->nl.family, POPCORN_CMD_STATS_GET,
				    NLM_F_DUMP, ++self->nl.seq);
	struct nlattr *bad;

	bad = put_attr(nh, POPCORN_A_NODE_ID, &id, sizeof(id));
	EXPECT_EQ(-EINVAL, transact(&self->nl, nh, NULL));
	EXPECT_EQ(offset(nh, bad), self->nl.bad_attr);
}

TEST_F(popcorn, load_busy_out_of_range)
{
	uint32_t busy = POPCORN_LOAD_BUSY_MAX + 1;

	EXPECT_EQ(-ERANGE, request(&self->nl, POPCORN_CMD_LOAD_SET,
				   POPCORN_A_LOAD_CPU_BUSY, &busy, sizeof(busy)));
	EXPECT_STRNE("", self->nl.extack);
}

TEST_F(popcorn, load_busy_required)
{
	uint32_t queue = 3;

	EXPECT_EQ(-EINVAL, request(&self->nl, POPCORN_CMD_LOAD_SET,
				   POPCORN_A_LOAD_ACCEPT_QUEUE, &queue, sizeof(queue)));
	EXPECT_STREQ("load-cpu-busy is required", self->nl.extack);
}

/* The age is the kernel's to say. */
TEST_F(popcorn, load_age_refused)
{
	uint32_t age = 1;

	EXPECT_EQ(-EINVAL, request(&self->nl, POPCORN_CMD_LOAD_SET,
				   POPCORN_A_LOAD_AGE_MS, &age, sizeof(age)));
	EXPECT_STRNE("", self->nl.extack);
}

TEST_F(popcorn, unknown_node)
{
	uint32_t id = 63;

	EXPECT_EQ(-ENOENT, request(&self->nl, POPCORN_CMD_NODE_GET,
				   POPCORN_A_NODE_ID, &id, sizeof(id)));
	EXPECT_STREQ("no such node", self->nl.extack);
}

TEST_F(popcorn, unknown_transport)
{
	char buf[BUF_SIZE];
	uint32_t id = 62;
	struct nlmsghdr *nh = start(buf, self->nl.family, POPCORN_CMD_NODE_ADD, 0,
				    ++self->nl.seq);

	put_attr(nh, POPCORN_A_NODE_ID, &id, sizeof(id));
	put_attr(nh, POPCORN_A_NODE_TRANSPORT, "carrier-pigeon", 15);
	put_attr(nh, POPCORN_A_NODE_ENDPOINT, "1", 2);
	EXPECT_EQ(-ENOENT, transact(&self->nl, nh, NULL));
	EXPECT_STREQ("no such transport (module not loaded?)", self->nl.extack);
}

TEST_F(popcorn, self_takes_no_transport)
{
	char buf[BUF_SIZE];
	uint32_t id = 5;
	struct nlmsghdr *nh = start(buf, self->nl.family, POPCORN_CMD_NODE_ADD, 0,
				    ++self->nl.seq);

	put_attr(nh, POPCORN_A_NODE_ID, &id, sizeof(id));
	put_attr(nh, POPCORN_A_NODE_SELF, NULL, 0);
	put_attr(nh, POPCORN_A_NODE_TRANSPORT, "shm", 4);
	EXPECT_EQ(-EINVAL, transact(&self->nl, nh, NULL));
	EXPECT_STREQ("the self node takes no transport or endpoint", self->nl.extack);
}

TEST_F(popcorn, unprivileged_write_refused)
{
	uint32_t id = 7, busy = 0;
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct nl nl;

		if (setgid(65534) || setuid(65534) || nl_open(&nl))
			_exit(2);
		if (request(&nl, POPCORN_CMD_NODE_DEL, POPCORN_A_NODE_ID, &id,
			    sizeof(id)) != -EPERM ||
		    request(&nl, POPCORN_CMD_LOAD_SET, POPCORN_A_LOAD_CPU_BUSY,
			    &busy, sizeof(busy)) != -EPERM)
			_exit(1);
		/* Reading is allowed. */
		_exit(request(&nl, POPCORN_CMD_NODE_GET, POPCORN_A_NODE_ID, &id,
			      sizeof(id)) == -ENOENT ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

static void on_alarm(int sig)
{
}

/*
 * A ping far too long to finish (10000 round trips of 1 MiB) stops when
 * a signal that the process handles arrives, and the answer still comes:
 * ECANCELED, "interrupted".
 */
TEST_F(popcorn, ping_stops_on_signal)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct itimerval soon = { .it_value.tv_usec = 300000 };
	uint32_t count = POPCORN_PING_MAX_COUNT, size = 1 << 20, ms = 10000;
	const char *peer = getenv("PCN_PEER");
	char buf[BUF_SIZE];
	struct nlmsghdr *nh;
	uint32_t id;

	if (!peer || !*peer)
		SKIP(return, "PCN_PEER: no peer node to ping");
	id = atoi(peer);
	nh = start(buf, self->nl.family, POPCORN_CMD_PING, 0, ++self->nl.seq);
	put_attr(nh, POPCORN_A_NODE_ID, &id, sizeof(id));
	put_attr(nh, POPCORN_A_PING_COUNT, &count, sizeof(count));
	put_attr(nh, POPCORN_A_PING_SIZE, &size, sizeof(size));
	put_attr(nh, POPCORN_A_PING_TIMEOUT_MS, &ms, sizeof(ms));
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &soon, NULL));
	EXPECT_EQ(-ECANCELED, transact(&self->nl, nh, NULL));
	EXPECT_STREQ("interrupted", self->nl.extack);
}

TEST_HARNESS_MAIN
