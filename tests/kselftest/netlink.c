// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "mbus": ports listed and read as the ioctls
 * see them, port defaults set by administrators only, events multicast to
 * monitors in the order they happened, hostile requests refused. Plain
 * netlink sockets, no library.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "kselftest_harness.h"
#include "ksft-common.h"
#include "mbus_frame.h"

static const unsigned char req_ud2[] = { 0x10, 0x5b, 0x01, 0x5c, 0x16 };
static const unsigned char snd_nke[] = { 0x10, 0x40, 0x01, 0x41, 0x16 };

/* ---- a tiny generic netlink client -------------------------------------- */

#define NL_BUF	16384

struct nl_msg {
	struct nlmsghdr nlh;
	struct genlmsghdr genl;
	unsigned char attrs[1024];
};

static void nl_init(struct nl_msg *m, __u16 type, __u8 cmd, __u16 flags)
{
	memset(m, 0, sizeof(*m));
	m->nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	m->nlh.nlmsg_type = type;
	m->nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	m->genl.cmd = cmd;
	m->genl.version = 1;
}

static void nl_put(struct nl_msg *m, __u16 type, const void *data, int len)
{
	struct nlattr *a = (struct nlattr *)((char *)m + NLMSG_ALIGN(m->nlh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	m->nlh.nlmsg_len = NLMSG_ALIGN(m->nlh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void nl_put_u32(struct nl_msg *m, __u16 type, __u32 v)
{
	nl_put(m, type, &v, sizeof(v));
}

static int nl_socket(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int nl_send(int fd, struct nl_msg *m)
{
	static __u32 seq;

	m->nlh.nlmsg_seq = ++seq;
	return send(fd, m, m->nlh.nlmsg_len, 0) < 0 ? -errno : 0;
}

/* Receive one datagram within @ms; its length, 0 on timeout, -errno. */
static int nl_recv(int fd, void *buf, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	n = poll(&pfd, 1, ms);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	n = recv(fd, buf, NL_BUF, 0);
	return n < 0 ? -errno : n;
}

/* The attributes of a generic netlink message, indexed by type. */
static void nl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb,
		     int max)
{
	const struct nlattr *a;
	int left;

	memset(tb, 0, sizeof(*tb) * (max + 1));
	a = (const struct nlattr *)((const char *)NLMSG_DATA(nlh) + GENL_HDRLEN);
	left = nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= left) {
		if ((a->nla_type & NLA_TYPE_MASK) <= max)
			tb[a->nla_type & NLA_TYPE_MASK] = a;
		left -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

static void nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
			    int max)
{
	const struct nlattr *a = (const void *)((const char *)nest + NLA_HDRLEN);
	int left = nest->nla_len - NLA_HDRLEN;

	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= left) {
		if (a->nla_type <= max)
			tb[a->nla_type] = a;
		left -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

static const void *nla_data(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

static __u32 nla_u32(const struct nlattr *a)
{
	__u32 v;

	memcpy(&v, nla_data(a), sizeof(v));
	return v;
}

static __u64 nla_u64(const struct nlattr *a)
{
	__u64 v;

	memcpy(&v, nla_data(a), sizeof(v));
	return v;
}

/*
 * Send @m and read the answer: with @reply, the first message is copied
 * there. Returns 0 on success (ACK), -errno from the kernel's error.
 */
static int nl_request(int fd, struct nl_msg *m, void *reply)
{
	static unsigned char buf[NL_BUF];
	struct nlmsghdr *nlh;
	int n, err;

	m->nlh.nlmsg_flags |= NLM_F_ACK;
	err = nl_send(fd, m);
	if (err)
		return err;
	for (;;) {
		n = nl_recv(fd, buf, 2000);
		if (n <= 0)
			return n ? n : -ETIMEDOUT;
		for (nlh = (void *)buf; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_seq != m->nlh.nlmsg_seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(nlh))->error;
			if (reply)
				memcpy(reply, nlh, nlh->nlmsg_len);
		}
	}
}

/* Family id of "mbus" and the id of its "events" group. */
static int nl_resolve(int fd, int *family, int *group)
{
	static unsigned char reply[NL_BUF];
	const struct nlattr *tb[CTRL_ATTR_MAX + 1], *grp[CTRL_ATTR_MCAST_GRP_MAX + 1];
	const struct nlattr *a;
	struct nl_msg m;
	int err, left;

	nl_init(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
	nl_put(&m, CTRL_ATTR_FAMILY_NAME, MBUS_GENL_NAME, sizeof(MBUS_GENL_NAME));
	err = nl_request(fd, &m, reply);
	if (err)
		return err;
	nl_parse((void *)reply, tb, CTRL_ATTR_MAX);
	if (!tb[CTRL_ATTR_FAMILY_ID] || !tb[CTRL_ATTR_MCAST_GROUPS])
		return -ENOENT;
	*family = *(const __u16 *)nla_data(tb[CTRL_ATTR_FAMILY_ID]);
	*group = -1;
	a = nla_data(tb[CTRL_ATTR_MCAST_GROUPS]);
	left = tb[CTRL_ATTR_MCAST_GROUPS]->nla_len - NLA_HDRLEN;
	while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN) {
		nl_parse_nested(a, grp, CTRL_ATTR_MCAST_GRP_MAX);
		if (grp[CTRL_ATTR_MCAST_GRP_NAME] && grp[CTRL_ATTR_MCAST_GRP_ID] &&
		    !strcmp(nla_data(grp[CTRL_ATTR_MCAST_GRP_NAME]),
			    MBUS_GENL_MCGRP_EVENTS))
			*group = nla_u32(grp[CTRL_ATTR_MCAST_GRP_ID]);
		left -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return *group < 0 ? -ENOENT : 0;
}

/* ---- what the family says about a port ---------------------------------- */

struct nl_port {
	__u32 index;
	char dev[32];
	char tty[64];
	__u32 baud;
	struct mbus_params params;
	__u64 stats[MBUS_STATS_MAX + 1];
	int n_stats;
};

static int nl_port_from_msg(const struct nlmsghdr *nlh, struct nl_port *p)
{
	const struct nlattr *tb[MBUS_ATTR_MAX + 1], *st[MBUS_STATS_MAX + 1];
	int i;

	memset(p, 0, sizeof(*p));
	nl_parse(nlh, tb, MBUS_ATTR_MAX);
	if (!tb[MBUS_ATTR_INDEX] || !tb[MBUS_ATTR_DEV_NAME] ||
	    !tb[MBUS_ATTR_TTY_NAME] || !tb[MBUS_ATTR_BAUD] ||
	    !tb[MBUS_ATTR_RETRIES] || !tb[MBUS_ATTR_WAKEUP_BYTES] ||
	    !tb[MBUS_ATTR_RESPONSE_TIMEOUT_US] || !tb[MBUS_ATTR_FLAGS] ||
	    !tb[MBUS_ATTR_CHAR_TIMEOUT_US] || !tb[MBUS_ATTR_WAKEUP_DELAY_US] ||
	    !tb[MBUS_ATTR_STATS])
		return -EINVAL;
	p->index = nla_u32(tb[MBUS_ATTR_INDEX]);
	snprintf(p->dev, sizeof(p->dev), "%s", (const char *)nla_data(tb[MBUS_ATTR_DEV_NAME]));
	snprintf(p->tty, sizeof(p->tty), "%s", (const char *)nla_data(tb[MBUS_ATTR_TTY_NAME]));
	p->baud = nla_u32(tb[MBUS_ATTR_BAUD]);
	p->params.response_timeout_us = nla_u32(tb[MBUS_ATTR_RESPONSE_TIMEOUT_US]);
	p->params.char_timeout_us = nla_u32(tb[MBUS_ATTR_CHAR_TIMEOUT_US]);
	p->params.wakeup_delay_us = nla_u32(tb[MBUS_ATTR_WAKEUP_DELAY_US]);
	p->params.retries = *(const __u8 *)nla_data(tb[MBUS_ATTR_RETRIES]);
	p->params.wakeup_bytes = *(const __u16 *)nla_data(tb[MBUS_ATTR_WAKEUP_BYTES]);
	p->params.flags = nla_u32(tb[MBUS_ATTR_FLAGS]);
	nl_parse_nested(tb[MBUS_ATTR_STATS], st, MBUS_STATS_MAX);
	for (i = MBUS_STATS_TX_FRAMES; i <= MBUS_STATS_MAX; i++) {
		if (st[i]) {
			p->stats[i] = nla_u64(st[i]);
			p->n_stats++;
		}
	}
	return 0;
}

static int nl_get_port(int fd, int family, __u32 index, struct nl_port *p)
{
	static unsigned char reply[NL_BUF];
	struct nl_msg m;
	int err;

	nl_init(&m, family, MBUS_CMD_GET_PORT, 0);
	nl_put_u32(&m, MBUS_ATTR_INDEX, index);
	memset(reply, 0, sizeof(struct nlmsghdr));
	err = nl_request(fd, &m, reply);
	if (err)
		return err;
	return nl_port_from_msg((void *)reply, p);
}

/* Dump every port into @ports; returns how many (or -errno). */
static int nl_dump_ports(int fd, int family, struct nl_port *ports, int max)
{
	static unsigned char buf[NL_BUF];
	struct nlmsghdr *nlh;
	struct nl_msg m;
	int n, count = 0, err;

	nl_init(&m, family, MBUS_CMD_GET_PORT, NLM_F_DUMP);
	err = nl_send(fd, &m);
	if (err)
		return err;
	for (;;) {
		n = nl_recv(fd, buf, 2000);
		if (n <= 0)
			return n ? n : -ETIMEDOUT;
		for (nlh = (void *)buf; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_type == NLMSG_DONE)
				return count;
			if (nlh->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(nlh))->error;
			if (count < max && !nl_port_from_msg(nlh, &ports[count]))
				count++;
		}
	}
}

/* One event from the monitor socket. */
struct nl_event {
	int cmd;
	__u32 index;
	__u64 ts;
	int len;
	unsigned char frame[MBUS_FRAME_MAX];
	__u32 line_err;
	char dev[32];
};

/* Next event within @ms: 1, 0 on timeout, -errno. Datagrams hold one. */
static int nl_next_event(int fd, struct nl_event *ev, int ms)
{
	static unsigned char buf[NL_BUF];
	const struct nlattr *tb[MBUS_ATTR_MAX + 1];
	struct nlmsghdr *nlh = (void *)buf;
	int n;

	n = nl_recv(fd, buf, ms);
	if (n <= 0)
		return n;
	memset(ev, 0, sizeof(*ev));
	ev->cmd = ((struct genlmsghdr *)NLMSG_DATA(nlh))->cmd;
	nl_parse(nlh, tb, MBUS_ATTR_MAX);
	if (tb[MBUS_ATTR_INDEX])
		ev->index = nla_u32(tb[MBUS_ATTR_INDEX]);
	else
		ev->index = ~0u;
	if (tb[MBUS_ATTR_TIMESTAMP_NS])
		ev->ts = nla_u64(tb[MBUS_ATTR_TIMESTAMP_NS]);
	if (tb[MBUS_ATTR_FRAME]) {
		ev->len = tb[MBUS_ATTR_FRAME]->nla_len - NLA_HDRLEN;
		memcpy(ev->frame, nla_data(tb[MBUS_ATTR_FRAME]), ev->len);
	}
	if (tb[MBUS_ATTR_LINE_ERR])
		ev->line_err = nla_u32(tb[MBUS_ATTR_LINE_ERR]);
	if (tb[MBUS_ATTR_DEV_NAME])
		snprintf(ev->dev, sizeof(ev->dev), "%s",
			 (const char *)nla_data(tb[MBUS_ATTR_DEV_NAME]));
	return 1;
}

/* Drop every capability of this process (in a child). */
static int drop_caps(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/* ---- scripted slaves ---------------------------------------------------- */

static int rsp_ud(unsigned char *buf, unsigned char a)
{
	static const unsigned char data[] = {
		0x78, 0x56, 0x34, 0x12, 0x24, 0x40, 0x01, 0x07, 0x55, 0x00,
		0x00, 0x00, 0x04, 0x13, 0x31, 0xd4, 0x00, 0x00,
	};

	return ksft_long_frame(buf, 0x08, a, 0x72, data, sizeof(data));
}

static void slave_rsp(int fd, const unsigned char *req, int len, void *arg)
{
	unsigned char buf[MBUS_FRAME_MAX];

	if (len == 5 && (req[1] & 0x4f) == 0x40)
		ksft_write_all(fd, "\xe5", 1);
	else
		ksft_write_all(fd, buf, rsp_ud(buf, len == 5 ? req[2] : req[5]));
}

/* ---- fixture ------------------------------------------------------------ */

FIXTURE(nl) {
	int master;
	int slave;
	int index;
	int fd;
	int sock;
	int family;
	int group;
	pid_t sim;
};

FIXTURE_SETUP(nl)
{
	self->sim = 0;
	self->sock = -1;
	ASSERT_EQ(0, ksft_mbus_load());
	ASSERT_EQ(0, ksft_pty_open(&self->master, &self->slave));
	self->index = ksft_mbus_attach(self->slave);
	ASSERT_LE(0, self->index);
	self->fd = ksft_mbus_open(self->index, O_RDWR);
	ASSERT_LE(0, self->fd);
	self->sock = nl_socket();
	ASSERT_LE(0, self->sock);
	ASSERT_EQ(0, nl_resolve(self->sock, &self->family, &self->group));
}

FIXTURE_TEARDOWN(nl)
{
	ksft_slave_stop(self->sim);
	if (self->sock >= 0)
		close(self->sock);
	if (self->fd >= 0)
		close(self->fd);
	if (self->slave >= 0)
		close(self->slave);
	if (self->master >= 0)
		close(self->master);
}

static struct mbus_stats ioctl_stats(int fd)
{
	struct mbus_stats st;

	memset(&st, 0xff, sizeof(st));
	if (ioctl(fd, MBUS_IOC_GET_STATS, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

static int monitor_socket(int group)
{
	int fd = nl_socket(), size = 1 << 20;

	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
		       sizeof(group))) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int xfer(int fd, const unsigned char *req, int len, unsigned int *status)
{
	unsigned char rx[MBUS_FRAME_MAX];
	int n = sizeof(rx);

	return ksft_xfer(fd, req, len, rx, &n, 0, status, NULL);
}

/* ---- reading ports ------------------------------------------------------ */

TEST_F(nl, get_port_matches_the_ioctl_view)
{
	struct mbus_stats st;
	struct nl_port p;
	unsigned int status;
	char tty[64], dev[32];
	__u32 baud;
	int i;

	self->sim = ksft_slave_fork(self->master, slave_rsp, NULL);
	ASSERT_EQ(0, xfer(self->fd, req_ud2, 5, &status));
	ASSERT_EQ(MBUS_STATUS_FRAME, status);
	ASSERT_EQ(0, xfer(self->fd, snd_nke, 5, &status));
	ASSERT_EQ(MBUS_STATUS_ACK, status);

	ASSERT_EQ(0, nl_get_port(self->sock, self->family, self->index, &p));
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_BAUD, &baud));
	st = ioctl_stats(self->fd);
	ASSERT_EQ(0, ksft_mbus_sysfs(self->index, "tty", tty, sizeof(tty)));
	snprintf(dev, sizeof(dev), "mbus%d", self->index);

	EXPECT_EQ(self->index, p.index);
	EXPECT_STREQ(dev, p.dev);
	EXPECT_STREQ(tty, p.tty);
	EXPECT_EQ(baud, p.baud);
	EXPECT_EQ(MBUS_STATS_MAX - MBUS_STATS_TX_FRAMES + 1, p.n_stats);
	for (i = 0; i < p.n_stats; i++)
		EXPECT_EQ(((__u64 *)&st)[i], p.stats[MBUS_STATS_TX_FRAMES + i]);
	EXPECT_EQ(2, p.stats[MBUS_STATS_TX_FRAMES]);
	EXPECT_EQ(1, p.stats[MBUS_STATS_RX_FRAMES]);
	EXPECT_EQ(1, p.stats[MBUS_STATS_RX_ACKS]);
	/* The defaults are those of a fresh file. */
	EXPECT_EQ(2, p.params.retries);
	EXPECT_EQ(0, p.params.response_timeout_us);
}

TEST_F(nl, dump_lists_every_port_with_its_names)
{
	struct nl_port ports[16];
	int m2, s2, index2, n, i, found = 0;
	char tty[64];

	ASSERT_EQ(0, ksft_pty_open(&m2, &s2));
	index2 = ksft_mbus_attach(s2);
	ASSERT_LE(0, index2);
	n = nl_dump_ports(self->sock, self->family, ports, 16);
	ASSERT_LE(2, n);
	for (i = 0; i < n; i++) {
		if (ports[i].index != (__u32)self->index &&
		    ports[i].index != (__u32)index2)
			continue;
		found++;
		ASSERT_EQ(0, ksft_mbus_sysfs(ports[i].index, "tty", tty, sizeof(tty)));
		EXPECT_STREQ(tty, ports[i].tty);
		EXPECT_EQ(2400, ports[i].baud);
		EXPECT_EQ(MBUS_STATS_MAX - MBUS_STATS_TX_FRAMES + 1, ports[i].n_stats);
		if (i)
			EXPECT_LT(ports[i - 1].index, ports[i].index);
	}
	EXPECT_EQ(2, found);
	close(s2);
	close(m2);
	/* A detached port is gone from the dump. */
	n = nl_dump_ports(self->sock, self->family, ports, 16);
	for (i = 0; i < n; i++)
		EXPECT_NE((__u32)index2, ports[i].index);
}

/* ---- setting ports ------------------------------------------------------ */

TEST_F(nl, set_port_needs_cap_net_admin)
{
	int status, fd, grp;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct nl_msg m;
		struct nl_port p;
		int sock, err;

		if (drop_caps())
			_exit(10);
		sock = nl_socket();
		if (sock < 0)
			_exit(11);
		nl_init(&m, self->family, MBUS_CMD_SET_PORT, 0);
		nl_put_u32(&m, MBUS_ATTR_INDEX, self->index);
		nl_put_u32(&m, MBUS_ATTR_BAUD, 9600);
		err = nl_request(sock, &m, NULL);
		if (err != -EPERM)
			_exit(12);
		/* Reading needs no privilege. */
		if (nl_get_port(sock, self->family, self->index, &p))
			_exit(13);
		/* Frames are meter readings: monitors need it too. */
		grp = self->group;
		if (!setsockopt(sock, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp,
				sizeof(grp)) || errno != EPERM)
			_exit(14);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	fd = self->fd;
	{
		__u32 baud = 0;

		EXPECT_EQ(0, ioctl(fd, MBUS_IOC_GET_BAUD, &baud));
		EXPECT_EQ(2400, baud);
	}
}

TEST_F(nl, set_port_changes_baud_and_defaults_of_new_files)
{
	struct mbus_params want = {
		.response_timeout_us = 300000,
		.char_timeout_us = 120000,
		.wakeup_delay_us = 400000,
		.wakeup_bytes = 20,
		.retries = 1,
		.flags = MBUS_PARAM_ECHO_CANCEL,
	}, got, old;
	struct nl_port p;
	struct nl_msg m;
	__u8 retries = 1;
	__u16 wakeup = 20;
	__u32 baud = 0;
	int fd2;

	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_PARAMS, &old));
	nl_init(&m, self->family, MBUS_CMD_SET_PORT, 0);
	nl_put_u32(&m, MBUS_ATTR_INDEX, self->index);
	nl_put_u32(&m, MBUS_ATTR_BAUD, 9600);
	nl_put_u32(&m, MBUS_ATTR_RESPONSE_TIMEOUT_US, 300000);
	nl_put_u32(&m, MBUS_ATTR_CHAR_TIMEOUT_US, 120000);
	nl_put(&m, MBUS_ATTR_RETRIES, &retries, 1);
	nl_put(&m, MBUS_ATTR_WAKEUP_BYTES, &wakeup, 2);
	nl_put_u32(&m, MBUS_ATTR_WAKEUP_DELAY_US, 400000);
	nl_put_u32(&m, MBUS_ATTR_FLAGS, MBUS_PARAM_ECHO_CANCEL);
	ASSERT_EQ(0, nl_request(self->sock, &m, NULL));

	EXPECT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_BAUD, &baud));
	EXPECT_EQ(9600, baud);
	fd2 = ksft_mbus_open(self->index, O_RDWR);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ioctl(fd2, MBUS_IOC_GET_PARAMS, &got));
	EXPECT_EQ(0, memcmp(&want, &got, sizeof(got)));
	close(fd2);
	/* Files already open keep their own parameters. */
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_PARAMS, &got));
	EXPECT_EQ(0, memcmp(&old, &got, sizeof(got)));

	ASSERT_EQ(0, nl_get_port(self->sock, self->family, self->index, &p));
	EXPECT_EQ(9600, p.baud);
	EXPECT_EQ(0, memcmp(&want, &p.params, sizeof(want)));

	/* Attributes left out stay as they are. */
	nl_init(&m, self->family, MBUS_CMD_SET_PORT, 0);
	nl_put_u32(&m, MBUS_ATTR_INDEX, self->index);
	nl_put_u32(&m, MBUS_ATTR_FLAGS, 0);
	ASSERT_EQ(0, nl_request(self->sock, &m, NULL));
	ASSERT_EQ(0, nl_get_port(self->sock, self->family, self->index, &p));
	want.flags = 0;
	EXPECT_EQ(0, memcmp(&want, &p.params, sizeof(want)));
	EXPECT_EQ(9600, p.baud);
}

TEST_F(nl, set_port_with_an_invalid_value_changes_nothing)
{
	static const struct { __u16 type; __u32 v; int len; int err; } bad[] = {
		{ MBUS_ATTR_BAUD, 1234, 4, -EINVAL },
		{ MBUS_ATTR_RESPONSE_TIMEOUT_US, MBUS_TIMEOUT_US_MAX + 1, 4, -EINVAL },
		{ MBUS_ATTR_WAKEUP_DELAY_US, MBUS_TIMEOUT_US_MAX + 1, 4, -EINVAL },
		{ MBUS_ATTR_RETRIES, MBUS_RETRIES_MAX + 1, 1, -ERANGE },
		{ MBUS_ATTR_WAKEUP_BYTES, MBUS_WAKEUP_BYTES_MAX + 1, 2, -ERANGE },
		{ MBUS_ATTR_FLAGS, 0x80000000, 4, -EINVAL },
	};
	struct nl_port before, after;
	struct nl_msg m;
	unsigned int i;

	ASSERT_EQ(0, nl_get_port(self->sock, self->family, self->index, &before));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nl_init(&m, self->family, MBUS_CMD_SET_PORT, 0);
		nl_put_u32(&m, MBUS_ATTR_INDEX, self->index);
		/* A valid change next to the bad one must not happen either. */
		nl_put_u32(&m, MBUS_ATTR_CHAR_TIMEOUT_US, 5000);
		nl_put(&m, bad[i].type, &bad[i].v, bad[i].len);
		EXPECT_EQ(bad[i].err, nl_request(self->sock, &m, NULL))
			TH_LOG("attribute %u", bad[i].type);
	}
	ASSERT_EQ(0, nl_get_port(self->sock, self->family, self->index, &after));
	EXPECT_EQ(before.baud, after.baud);
	EXPECT_EQ(0, memcmp(&before.params, &after.params, sizeof(after.params)));
}

/* ---- hostile requests --------------------------------------------------- */

TEST_F(nl, hostile_requests_are_rejected)
{
	char long_name[64];
	struct nl_msg m;
	__u16 short_index = self->index;

	/* Unknown attribute type. */
	nl_init(&m, self->family, MBUS_CMD_GET_PORT, 0);
	nl_put_u32(&m, MBUS_ATTR_INDEX, self->index);
	nl_put_u32(&m, 200, 1);
	EXPECT_EQ(-EINVAL, nl_request(self->sock, &m, NULL));
	/* An attribute the command does not take. */
	nl_init(&m, self->family, MBUS_CMD_GET_PORT, 0);
	nl_put_u32(&m, MBUS_ATTR_INDEX, self->index);
	nl_put(&m, MBUS_ATTR_TTY_NAME, "ttyS0", 6);
	EXPECT_EQ(-EINVAL, nl_request(self->sock, &m, NULL));
	/* Wrong length of a u32. */
	nl_init(&m, self->family, MBUS_CMD_GET_PORT, 0);
	nl_put(&m, MBUS_ATTR_INDEX, &short_index, 2);
	EXPECT_EQ(-EINVAL, nl_request(self->sock, &m, NULL));
	/* Oversize string: no NUL within the longest name allowed. */
	memset(long_name, 'x', sizeof(long_name));
	memcpy(long_name, "mbus", 4);
	long_name[sizeof(long_name) - 1] = '\0';
	nl_init(&m, self->family, MBUS_CMD_GET_PORT, 0);
	nl_put(&m, MBUS_ATTR_DEV_NAME, long_name, sizeof(long_name));
	EXPECT_EQ(-EINVAL, nl_request(self->sock, &m, NULL));
	/* String without its NUL. */
	nl_init(&m, self->family, MBUS_CMD_GET_PORT, 0);
	nl_put(&m, MBUS_ATTR_DEV_NAME, "mbus0", 5);
	EXPECT_EQ(-EINVAL, nl_request(self->sock, &m, NULL));
	/* Not a port name, or a name that disagrees with the index. */
	nl_init(&m, self->family, MBUS_CMD_GET_PORT, 0);
	nl_put(&m, MBUS_ATTR_DEV_NAME, "ttyS0", 6);
	EXPECT_EQ(-EINVAL, nl_request(self->sock, &m, NULL));
	nl_init(&m, self->family, MBUS_CMD_GET_PORT, 0);
	nl_put_u32(&m, MBUS_ATTR_INDEX, self->index);
	nl_put(&m, MBUS_ATTR_DEV_NAME, "mbus250", 8);
	EXPECT_EQ(-EINVAL, nl_request(self->sock, &m, NULL));
	/* Missing INDEX, for GET and SET. */
	nl_init(&m, self->family, MBUS_CMD_GET_PORT, 0);
	EXPECT_EQ(-EINVAL, nl_request(self->sock, &m, NULL));
	nl_init(&m, self->family, MBUS_CMD_SET_PORT, 0);
	nl_put_u32(&m, MBUS_ATTR_BAUD, 9600);
	EXPECT_EQ(-EINVAL, nl_request(self->sock, &m, NULL));
	/* Unknown index. */
	nl_init(&m, self->family, MBUS_CMD_GET_PORT, 0);
	nl_put_u32(&m, MBUS_ATTR_INDEX, 4000000);
	EXPECT_EQ(-ENODEV, nl_request(self->sock, &m, NULL));
	nl_init(&m, self->family, MBUS_CMD_SET_PORT, 0);
	nl_put_u32(&m, MBUS_ATTR_INDEX, 255);
	EXPECT_EQ(-ENODEV, nl_request(self->sock, &m, NULL));
	/* Events are not commands; nor is an unknown number. */
	nl_init(&m, self->family, MBUS_CMD_FRAME_RX, 0);
	EXPECT_EQ(-EOPNOTSUPP, nl_request(self->sock, &m, NULL));
	nl_init(&m, self->family, 99, 0);
	EXPECT_EQ(-EOPNOTSUPP, nl_request(self->sock, &m, NULL));
	/* Reserved bytes of the generic netlink header. */
	nl_init(&m, self->family, MBUS_CMD_GET_PORT, 0);
	nl_put_u32(&m, MBUS_ATTR_INDEX, self->index);
	m.genl.reserved = 1;
	EXPECT_EQ(-EINVAL, nl_request(self->sock, &m, NULL));
	/* The port is still there and answers. */
	{
		struct nl_port p;

		EXPECT_EQ(0, nl_get_port(self->sock, self->family, self->index, &p));
	}
}

/* ---- events ------------------------------------------------------------- */

/* The next event of port @index, skipping other ports'. */
static int next_event_of(int fd, int index, struct nl_event *ev, int ms)
{
	int r;

	do {
		r = nl_next_event(fd, ev, ms);
	} while (r == 1 && ev->index != (__u32)index);
	return r;
}

TEST_F(nl, monitor_sees_the_frames_of_an_exchange_in_order)
{
	unsigned char want[MBUS_FRAME_MAX];
	struct nl_event ev;
	unsigned int status;
	__u64 last_ts = 0;
	int mon, wn, round;

	mon = monitor_socket(self->group);
	ASSERT_LE(0, mon);
	self->sim = ksft_slave_fork(self->master, slave_rsp, NULL);
	wn = rsp_ud(want, 1);

	for (round = 0; round < 3; round++) {
		ASSERT_EQ(0, xfer(self->fd, req_ud2, 5, &status));
		ASSERT_EQ(MBUS_STATUS_FRAME, status);

		ASSERT_EQ(1, next_event_of(mon, self->index, &ev, 1000));
		EXPECT_EQ(MBUS_CMD_FRAME_TX, ev.cmd);
		EXPECT_EQ(5, ev.len);
		EXPECT_EQ(0, memcmp(req_ud2, ev.frame, 5));
		EXPECT_LE(last_ts, ev.ts);
		last_ts = ev.ts;

		ASSERT_EQ(1, next_event_of(mon, self->index, &ev, 1000));
		EXPECT_EQ(MBUS_CMD_FRAME_RX, ev.cmd);
		EXPECT_EQ(wn, ev.len);
		EXPECT_EQ(0, memcmp(want, ev.frame, wn));
		EXPECT_LE(last_ts, ev.ts);
		last_ts = ev.ts;
	}
	/* Nothing else happened. */
	EXPECT_EQ(0, next_event_of(mon, self->index, &ev, 200));
	EXPECT_EQ(0, ioctl_stats(self->fd).events_dropped);
	close(mon);
}

TEST_F(nl, monitor_sees_timeouts_and_garbled_windows)
{
	static const unsigned char noise[] = { 0x68, 0x07, 0x09, 0x68, 0x11 };
	struct mbus_params p = { .retries = 0, .response_timeout_us = 500000 };
	unsigned char req[MBUS_FRAME_MAX];
	struct nl_event ev;
	unsigned int status;
	int mon;

	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	mon = monitor_socket(self->group);
	ASSERT_LE(0, mon);

	ASSERT_EQ(0, xfer(self->fd, req_ud2, 5, &status));
	ASSERT_EQ(MBUS_STATUS_TIMEOUT, status);
	ASSERT_EQ(1, next_event_of(mon, self->index, &ev, 1000));
	EXPECT_EQ(MBUS_CMD_FRAME_TX, ev.cmd);
	ASSERT_EQ(1, next_event_of(mon, self->index, &ev, 1000));
	EXPECT_EQ(MBUS_CMD_TIMEOUT, ev.cmd);
	EXPECT_EQ(0, ev.len);

	/* The pty's far end answers with noise this time. */
	ASSERT_EQ(5, ksft_read_frame(self->master, req, 500));
	{
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid) {
			if (ksft_read_frame(self->master, req, 2000) == 5)
				ksft_write_all(self->master, noise, sizeof(noise));
			_exit(0);
		}
		ASSERT_EQ(0, xfer(self->fd, snd_nke, 5, &status));
		waitpid(pid, NULL, 0);
	}
	ASSERT_EQ(MBUS_STATUS_GARBLED, status);
	ASSERT_EQ(1, next_event_of(mon, self->index, &ev, 1000));
	EXPECT_EQ(MBUS_CMD_FRAME_TX, ev.cmd);
	ASSERT_EQ(1, next_event_of(mon, self->index, &ev, 1000));
	EXPECT_EQ(MBUS_CMD_GARBLED, ev.cmd);
	EXPECT_EQ(sizeof(noise), ev.len);
	EXPECT_EQ(0, memcmp(noise, ev.frame, sizeof(noise)));
	close(mon);
}

TEST_F(nl, monitor_sees_ports_come_and_go)
{
	struct nl_event ev;
	int mon, m2, s2, index2;
	char dev[32];

	mon = monitor_socket(self->group);
	ASSERT_LE(0, mon);
	ASSERT_EQ(0, ksft_pty_open(&m2, &s2));
	index2 = ksft_mbus_attach(s2);
	ASSERT_LE(0, index2);
	snprintf(dev, sizeof(dev), "mbus%d", index2);

	ASSERT_EQ(1, next_event_of(mon, index2, &ev, 1000));
	EXPECT_EQ(MBUS_CMD_PORT_NEW, ev.cmd);
	EXPECT_STREQ(dev, ev.dev);
	EXPECT_NE(0, ev.ts);

	ASSERT_EQ(0, ksft_mbus_detach(s2));
	ASSERT_EQ(1, next_event_of(mon, index2, &ev, 1000));
	EXPECT_EQ(MBUS_CMD_PORT_DEL, ev.cmd);
	EXPECT_STREQ(dev, ev.dev);
	EXPECT_EQ(0, next_event_of(mon, index2, &ev, 100));
	close(s2);
	close(m2);
	close(mon);
}

TEST_F(nl, frames_outside_exchanges_are_events_too)
{
	unsigned char burst[40 * 5];
	struct nl_event ev;
	int mon, i, got = 0;
	__u64 dropped;

	mon = monitor_socket(self->group);
	ASSERT_LE(0, mon);
	for (i = 0; i < 40; i++)
		ksft_short_frame(burst + 5 * i, 0x08, i + 1);
	/* One write: more frames than the ring holds, maybe in one burst. */
	ASSERT_EQ(0, ksft_write_all(self->master, burst, sizeof(burst)));
	while (next_event_of(mon, self->index, &ev, 300) == 1) {
		EXPECT_EQ(MBUS_CMD_FRAME_RX, ev.cmd);
		EXPECT_EQ(5, ev.len);
		got++;
	}
	dropped = ioctl_stats(self->fd).events_dropped;
	TH_LOG("%d events delivered, %llu dropped", got,
	       (unsigned long long)dropped);
	/* Every frame is either seen or counted as dropped. */
	EXPECT_EQ(40, got + dropped);
	EXPECT_EQ(40, ioctl_stats(self->fd).rx_frames);
	close(mon);
}

TEST_F(nl, without_listeners_events_cost_nothing_visible)
{
	unsigned char rx[MBUS_FRAME_MAX], want[MBUS_FRAME_MAX];
	unsigned int status;
	int i, n, wn = rsp_ud(want, 1);
	char buf[32];

	self->sim = ksft_slave_fork(self->master, slave_rsp, NULL);
	for (i = 0; i < 20; i++) {
		n = sizeof(rx);
		ASSERT_EQ(0, ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0, &status,
				       NULL));
		EXPECT_EQ(MBUS_STATUS_FRAME, status);
		EXPECT_EQ(wn, n);
	}
	EXPECT_EQ(0, ioctl_stats(self->fd).events_dropped);
	EXPECT_EQ(20, ioctl_stats(self->fd).rx_frames);
	ASSERT_EQ(0, ksft_mbus_sysfs(self->index, "statistics/events_dropped",
				     buf, sizeof(buf)));
	EXPECT_STREQ("0", buf);
}

/* ---- on a real UART ---------------------------------------------------- */

static bool sim_expected(void)
{
	char line[1024] = "";
	FILE *f = fopen("/proc/cmdline", "r");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	return strstr(line, "nmbus_sim=1") != NULL;
}

/*
 * ttyS2's far end is mbus-sim (tests/qemu/uart-bus.conf): every third
 * reply of its meter is a break, which a pty cannot carry.
 */
/* ---- never waiting for the bus, consistent dumps ------------------------ */

/*
 * A genetlink handler runs with the family table locked for reading: a
 * baud change must not wait there for an exchange (3 s here, up to the
 * holder's bound) but fail at once.
 */
TEST_F(nl, set_port_baud_on_a_busy_bus_fails_at_once_with_ebusy)
{
	struct mbus_params p = { .response_timeout_us = 3000000 };
	unsigned char req[MBUS_FRAME_MAX];
	unsigned int status;
	long long t0, took;
	struct nl_msg m;
	int err, st;
	pid_t pid;

	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(xfer(self->fd, req_ud2, 5, &status) ? 1 : 0);
	/* The request on the wire: the exchange holds the bus. */
	ASSERT_EQ(5, ksft_read_frame(self->master, req, 2000));
	nl_init(&m, self->family, MBUS_CMD_SET_PORT, 0);
	nl_put_u32(&m, MBUS_ATTR_INDEX, self->index);
	nl_put_u32(&m, MBUS_ATTR_BAUD, 9600);
	t0 = ksft_now_us();
	err = nl_request(self->sock, &m, NULL);
	took = ksft_now_us() - t0;
	TH_LOG("SET_PORT BAUD on a busy bus: %s after %lld us", strerror(-err),
	       took);
	EXPECT_EQ(-EBUSY, err);
	EXPECT_GT(500000, took);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	/* Once the bus is free, it works. */
	EXPECT_EQ(0, nl_request(self->sock, &m, NULL));
}

/*
 * A dump comes in parts, one per recv(); a port attached between two
 * parts marks the later ones NLM_F_DUMP_INTR, so a reader knows to ask
 * again.
 */
TEST_F(nl, a_dump_across_an_attach_is_marked_interrupted)
{
	enum { PORTS = 30 };
	static unsigned char buf[NL_BUF];
	int m[PORTS], s[PORTS], m2, s2, sock, i, n, parts = 0, intr = 0;
	bool done = false;
	struct nlmsghdr *nlh;
	struct nl_msg msg;

	for (i = 0; i < PORTS; i++) {
		ASSERT_EQ(0, ksft_pty_open(&m[i], &s[i]));
		ASSERT_LE(0, ksft_mbus_attach(s[i]));
	}
	ASSERT_EQ(0, ksft_pty_open(&m2, &s2));
	/* A fresh socket: parts of about a page (no larger reads yet). */
	sock = nl_socket();
	ASSERT_LE(0, sock);
	nl_init(&msg, self->family, MBUS_CMD_GET_PORT, NLM_F_DUMP);
	ASSERT_EQ(0, nl_send(sock, &msg));
	while (!done && parts < 100) {
		n = nl_recv(sock, buf, 2000);
		ASSERT_LT(0, n);
		if (++parts == 1)
			ASSERT_LE(0, ksft_mbus_attach(s2));
		for (nlh = (void *)buf; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				intr++;
			if (nlh->nlmsg_type == NLMSG_DONE)
				done = true;
		}
	}
	TH_LOG("%d parts, %d messages marked NLM_F_DUMP_INTR", parts, intr);
	EXPECT_TRUE(done);
	ASSERT_LT(1, parts);
	EXPECT_LT(0, intr);
	close(sock);
	close(s2);
	close(m2);
	for (i = 0; i < PORTS; i++) {
		close(s[i]);
		close(m[i]);
	}
}

TEST(monitor_sees_a_break_on_a_uart)
{
	struct mbus_params p = { .retries = 0 };
	unsigned char req[8];
	struct nl_event ev;
	unsigned int status;
	int tty, fd, index, sock, family, group, mon, i, breaks = 0;

	if (!sim_expected())
		SKIP(return, "no simulator on ttyS2");
	ASSERT_EQ(0, ksft_mbus_load());
	sock = nl_socket();
	ASSERT_LE(0, sock);
	ASSERT_EQ(0, nl_resolve(sock, &family, &group));
	mon = monitor_socket(group);
	ASSERT_LE(0, mon);
	tty = open("/dev/ttyS2", O_RDWR | O_NOCTTY);
	ASSERT_LE(0, tty);
	index = ksft_mbus_attach(tty);
	ASSERT_LE(0, index);
	fd = ksft_mbus_open(index, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, MBUS_IOC_SET_PARAMS, &p));
	ASSERT_EQ(1, next_event_of(mon, index, &ev, 1000));
	EXPECT_EQ(MBUS_CMD_PORT_NEW, ev.cmd);

	ksft_short_frame(req, 0x5b, 1);
	for (i = 0; i < 3 && !breaks; i++) {
		ASSERT_EQ(0, xfer(fd, req, 5, &status));
		ASSERT_EQ(1, next_event_of(mon, index, &ev, 1000));
		EXPECT_EQ(MBUS_CMD_FRAME_TX, ev.cmd);
		ASSERT_EQ(1, next_event_of(mon, index, &ev, 1000));
		if (status == MBUS_STATUS_BREAK) {
			EXPECT_EQ(MBUS_CMD_BREAK, ev.cmd);
			breaks++;
		} else {
			EXPECT_EQ(MBUS_STATUS_FRAME, status);
			EXPECT_EQ(MBUS_CMD_FRAME_RX, ev.cmd);
		}
	}
	EXPECT_EQ(1, breaks);
	close(fd);
	close(tty);
	ASSERT_EQ(1, next_event_of(mon, index, &ev, 1000));
	EXPECT_EQ(MBUS_CMD_PORT_DEL, ev.cmd);
	close(mon);
	close(sock);
}

TEST_HARNESS_MAIN
