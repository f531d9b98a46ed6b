// SPDX-License-Identifier: GPL-2.0
/*
 * mbus-tcpd in the guest: mbus-sim plays two meters on a pty, N_MBUS is
 * attached to its slave side, and mbus-tcpd serves /dev/mbusN on
 * 127.0.0.1. The client here is independent of the project's code:
 * plain sockets, frames built and taken apart by hand. It reads a meter
 * through the server while another process reads the other meter on
 * /dev/mbusN directly (each must get its own meter's replies), and
 * hostile clients (garbage, half frames, a slowloris, one client too
 * many, a source outside the allow-list) must not disturb it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

#define PORT		10001
#define MAX_CLIENTS	"4"
#define FRAME_TIMEOUT	"500"
#define LOG		"/tmp/tcpd.log"
#define ROUNDS		20

/* --baud sets the line; the meters answer at 9600 Bd only with --meter-baud. */
static const char *const sim_args[] = {
	"--baud", "9600", "--meter-baud", "9600",
	"--meter", "heat,id=11111111,addr=1",
	"--meter", "water,id=22222222,addr=2",
	NULL
};

static void sleep_ms(int ms)
{
	const struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- the independent client ----------------------------------------- */

static int connect_from(const char *src, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (src) {
		inet_pton(AF_INET, src, &a.sin_addr);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			goto fail;
	}
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	a.sin_port = htons(port);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int send_bytes(int fd, const unsigned char *b, size_t n)
{
	return send(fd, b, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* 10 C A CS 16 */
static int send_short(int fd, unsigned char c, unsigned char a)
{
	const unsigned char f[5] = { 0x10, c, a, (unsigned char)(c + a),
				     0x16 };

	return send_bytes(fd, f, sizeof(f));
}

/*
 * Read one reply within @ms: E5, or a long frame whose length, checksum
 * and stop byte are checked here. Its length; 0 for nothing in time,
 * -1 for end of file or a malformed reply.
 */
static int recv_reply(int fd, unsigned char *buf, size_t size, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long long end = ksft_now_us() / 1000 + ms;
	size_t got = 0, want = 1;
	unsigned char cs = 0;
	ssize_t n;

	while (got < want) {
		long long left = end - ksft_now_us() / 1000;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return got ? -1 : 0;
		n = recv(fd, buf + got, want - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		if (got == 1 && buf[0] == 0xe5)
			return 1;
		if (got == 1 && buf[0] != 0x68)
			return -1;
		if (got == 4) {
			if (buf[1] != buf[2] || buf[3] != 0x68 ||
			    buf[1] + 6u > size)
				return -1;
			want = buf[1] + 6u;
		} else if (want == 1) {
			want = 4;
		}
	}
	for (size_t i = 4; i < want - 2; i++)
		cs += buf[i];
	if (buf[want - 2] != cs || buf[want - 1] != 0x16)
		return -1;
	return (int)want;
}

/* A reply of meter @a with the identification number @id (BCD, LE). */
static bool from_meter(const unsigned char *f, int n, unsigned char a,
		       unsigned char id)
{
	return n > 12 && f[5] == a && f[6] == 0x72 && f[7] == id &&
	       f[8] == id && f[9] == id && f[10] == id;
}

/* REQ_UD2 through the server; true if meter @a answered as itself. */
static bool read_via_tcp(int fd, unsigned char a, unsigned char id,
			 unsigned char fcb)
{
	unsigned char rx[300];
	int n;

	if (send_short(fd, fcb ? 0x7b : 0x5b, a))
		return false;
	n = recv_reply(fd, rx, sizeof(rx), 5000);
	return from_meter(rx, n, a, id);
}

/* ---- the fixture ---------------------------------------------------- */

FIXTURE(tcpd) {
	pid_t sim;
	pid_t tcpd;
	int tty;
	int index;
	int port;
	char dev[16];
	char out[4096];
};

FIXTURE_VARIANT(tcpd) {
	const char *mode;
	const char *allow;
};

FIXTURE_VARIANT_ADD(tcpd, transparent) { .mode = "transparent" };
FIXTURE_VARIANT_ADD(tcpd, readonly) { .mode = "readonly" };
FIXTURE_VARIANT_ADD(tcpd, allow_127_0_0_2) {
	.mode = "transparent", .allow = "127.0.0.2/32",
};

/* Start mbus-tcpd; its first line says where it listens. */
static pid_t tcpd_start(FIXTURE_DATA(tcpd) *self, const char *mode,
			const char *allow)
{
	char listen[32], line[128] = "";
	char *argv[16] = {
		KSFT_TOOLS "mbus-tcpd", "--listen", listen,
		"--max-clients", MAX_CLIENTS, "--frame-timeout", FRAME_TIMEOUT,
		"--idle-timeout", "20", "--mode", (char *)mode, self->dev,
	};
	struct pollfd p;
	int pfd[2], n = 0, fd, argc = 12;
	pid_t pid;

	if (allow) {
		argv[argc++] = "--allow";
		argv[argc++] = (char *)allow;
	}
	argv[argc] = NULL;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", self->port);
	if (pipe(pfd))
		return -1;
	pid = fork();
	if (!pid) {
		fd = open(LOG, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(pfd[1], 1);
		if (fd >= 0)
			dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	p.fd = pfd[0];
	p.events = POLLIN;
	while (n < (int)sizeof(line) - 1 && !strchr(line, '\n') &&
	       poll(&p, 1, 10000) > 0) {
		int r = read(pfd[0], line + n, sizeof(line) - 1 - n);

		if (r <= 0)
			break;
		n += r;
		line[n] = '\0';
	}
	close(pfd[0]);
	if (!strstr(line, "listening on 127.0.0.1:")) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static void show_log(struct __test_metadata *_metadata)
{
	char line[256];
	FILE *f = fopen(LOG, "r");

	while (f && fgets(line, sizeof(line), f))
		TH_LOG("%s", strtok(line, "\n"));
	if (f)
		fclose(f);
}

static bool log_has(const char *what)
{
	char buf[16384];
	FILE *f = fopen(LOG, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

FIXTURE_SETUP(tcpd)
{
	const __u32 baud = 9600;
	char pty[64];
	int fd;

	self->tty = -1;
	self->tcpd = -1;
	self->port = PORT;
	unlink(LOG);
	ASSERT_EQ(0, ksft_mbus_load());
	/* /init leaves lo down; 127.0.0.2 is a second loopback source. */
	ksft_run_capture(self->out, sizeof(self->out),
			 "ip link set lo up && ip addr add 127.0.0.2/8 dev lo 2>&1");
	self->sim = ksft_sim_start(pty, sizeof(pty), sim_args);
	ASSERT_LT(0, self->sim) TH_LOG("cannot start " KSFT_TOOLS "mbus-sim");
	self->tty = ksft_mbus_attach_tty(pty, &self->index);
	ASSERT_LE(0, self->tty) TH_LOG("%s: %s", pty, strerror(-self->tty));
	ASSERT_TRUE(ksft_mbus_wait_node(self->index, true, 2000));
	snprintf(self->dev, sizeof(self->dev), "mbus%d", self->index);
	fd = ksft_mbus_open(self->index, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, MBUS_IOC_SET_BAUD, &baud));
	close(fd);
	self->tcpd = tcpd_start(self, variant->mode, variant->allow);
	ASSERT_LT(0, self->tcpd) show_log(_metadata);
}

FIXTURE_TEARDOWN(tcpd)
{
	int status = -1;

	if (self->tcpd > 0) {
		kill(self->tcpd, SIGTERM);
		waitpid(self->tcpd, &status, 0);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	if (!_metadata->passed)
		show_log(_metadata);
	if (self->tty >= 0) {
		ksft_mbus_detach(self->tty);
		close(self->tty);
	}
	ksft_sim_stop(self->sim);
}

/* The clients' source address: one the allow-list lets in. */
static const char *source(const FIXTURE_VARIANT(tcpd) *variant)
{
	return variant->allow ? "127.0.0.2" : NULL;
}

TEST_F(tcpd, a_client_reads_a_meter_through_the_server)
{
	long long t0 = ksft_now_us();
	int fd = connect_from(source(variant), self->port);

	ASSERT_LE(0, fd);
	EXPECT_TRUE(read_via_tcp(fd, 1, 0x11, 1));
	EXPECT_TRUE(read_via_tcp(fd, 2, 0x22, 1));
	TH_LOG("two reads through mbus-tcpd: %lld ms",
	       (ksft_now_us() - t0) / 1000);
	close(fd);
}

/* REQ_UD2 to @a on /dev/mbusN, @rounds times; the count of good ones. */
static int local_reader(int index, unsigned char a, unsigned char id,
			int rounds)
{
	unsigned char req[5] = { 0x10, 0x7b, a, (unsigned char)(0x7b + a),
				 0x16 };
	unsigned char rx[MBUS_FRAME_MAX];
	int fd = ksft_mbus_open(index, O_RDWR), good = 0, len;
	unsigned int st;

	if (fd < 0)
		return 0;
	for (int i = 0; i < rounds; i++) {
		len = MBUS_FRAME_MAX;
		if (!ksft_xfer(fd, req, 5, rx, &len, 0, &st, NULL) &&
		    st == MBUS_STATUS_FRAME && from_meter(rx, len, a, id))
			good++;
	}
	close(fd);
	return good;
}

TEST_F_TIMEOUT(tcpd, a_local_reader_and_a_client_get_their_own_replies, 120)
{
	int fd = connect_from(source(variant), self->port), good = 0;
	int status;
	pid_t pid;

	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(local_reader(self->index, 2, 0x22, ROUNDS));
	for (int i = 0; i < ROUNDS; i++)
		good += read_via_tcp(fd, 1, 0x11, i & 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(ROUNDS, good);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(ROUNDS, WEXITSTATUS(status));
	close(fd);
}

/*
 * Garbage, a half frame, a slowloris (a byte every 200 ms: the frame is
 * not complete within the frame timeout) and a fifth connection: the
 * reader is served all the time, the fifth is closed at once, the others
 * get nothing.
 */
TEST_F_TIMEOUT(tcpd, hostile_clients_do_not_disturb_a_reader, 120)
{
	static const unsigned char garbage[] = {
		0x00, 0xff, 0x68, 0x68, 0x16, 0x10, 0x99, 0x42, 0xe5, 0x55,
	};
	static const unsigned char half[] = { 0x68, 0x1f, 0x1f, 0x68, 0x53,
					      0x01, 0x51 };
	const unsigned char slow_req[5] = { 0x10, 0x7b, 0x02, 0x7d, 0x16 };
	const char *src = source(variant);
	unsigned char rx[300];
	int junk, halfc, slow, fd, extra, n;
	long long t0;

	junk = connect_from(src, self->port);
	halfc = connect_from(src, self->port);
	slow = connect_from(src, self->port);
	fd = connect_from(src, self->port);
	ASSERT_LE(0, junk);
	ASSERT_LE(0, halfc);
	ASSERT_LE(0, slow);
	ASSERT_LE(0, fd);
	/* The four are served before the fifth comes. */
	EXPECT_TRUE(read_via_tcp(fd, 1, 0x11, 1));
	extra = connect_from(src, self->port);
	ASSERT_LE(0, extra);
	EXPECT_EQ(-1, recv_reply(extra, rx, sizeof(rx), 2000));
	close(extra);

	ASSERT_EQ(0, send_bytes(halfc, half, sizeof(half)));
	for (int i = 0; i < 5; i++) {
		ASSERT_EQ(0, send_bytes(junk, garbage, sizeof(garbage)));
		ASSERT_EQ(0, send_bytes(slow, slow_req + i, 1));
		t0 = ksft_now_us();
		EXPECT_TRUE(read_via_tcp(fd, 1, 0x11, i & 1));
		EXPECT_GT(2000, (ksft_now_us() - t0) / 1000);
		sleep_ms(200);
	}
	EXPECT_EQ(0, recv_reply(junk, rx, sizeof(rx), 500));
	EXPECT_EQ(0, recv_reply(halfc, rx, sizeof(rx), 500));
	n = recv_reply(slow, rx, sizeof(rx), 500);
	EXPECT_EQ(0, n) TH_LOG("the slowloris got %d bytes", n);
	close(junk);
	close(halfc);
	close(slow);
	close(fd);
	sleep_ms(200);
	EXPECT_TRUE(log_has("clients already, closed"));
	EXPECT_TRUE(log_has("half frame dropped"));
}

/*
 * With --allow, 127.0.0.1 is outside the list: closed at once, unserved.
 * Without it, every source is served.
 */
TEST_F(tcpd, the_allow_list_decides_which_sources_are_served)
{
	unsigned char rx[300];
	int fd;

	fd = connect_from("127.0.0.1", self->port);
	ASSERT_LE(0, fd);
	if (!variant->allow) {
		EXPECT_TRUE(read_via_tcp(fd, 1, 0x11, 1));
		close(fd);
		EXPECT_FALSE(log_has("not in the allow-list"));
		return;
	}
	EXPECT_EQ(-1, recv_reply(fd, rx, sizeof(rx), 2000));
	close(fd);
	EXPECT_TRUE(log_has("not in the allow-list"));
}

/* readonly: SND_NKE and SND_UD get no answer and never reach a meter. */
TEST_F(tcpd, readonly_mode_answers_nothing_to_a_write)
{
	/* SND_UD CI 51: set primary address 1 to 9 (DIF 01 VIF 7A). */
	static const unsigned char snd_ud[] = {
		0x68, 0x06, 0x06, 0x68, 0x53, 0x01, 0x51, 0x01, 0x7a, 0x09,
		0x29, 0x16,
	};
	const char *src = source(variant);
	unsigned char rx[300];
	int fd = connect_from(src, self->port), n;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_short(fd, 0x40, 1));
	n = recv_reply(fd, rx, sizeof(rx), 1500);
	if (strcmp(variant->mode, "readonly")) {
		EXPECT_EQ(1, n);		/* E5 */
		close(fd);
		return;
	}
	EXPECT_EQ(0, n);
	ASSERT_EQ(0, send_bytes(fd, snd_ud, sizeof(snd_ud)));
	EXPECT_EQ(0, recv_reply(fd, rx, sizeof(rx), 1500));
	/* Meter 1 kept its address, and reads go on. */
	EXPECT_TRUE(read_via_tcp(fd, 1, 0x11, 1));
	close(fd);
	EXPECT_TRUE(log_has("readonly: refused"));
}

TEST_HARNESS_MAIN
