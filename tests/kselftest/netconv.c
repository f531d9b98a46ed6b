// SPDX-License-Identifier: GPL-2.0
/*
 * N_MBUS behind a network converter, all inside the guest on loopback:
 * Debian's ser2net serves ttyS2 (the emulated 16550 whose far end is
 * mbus-sim, tests/qemu/uart-bus.conf) on 127.0.0.1, raw TCP on one port
 * and RFC 2217 on another, and mbus-attach --tcp relays a pty to it.
 * The tools must find and read the meters through it, the port must
 * survive ser2net being killed and restarted, and with RFC 2217 the
 * speed and parity must reach the UART.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

#define SER2NET		"/usr/sbin/ser2net"
#define SER2NET_CONF	"/tmp/ser2net.yaml"
#define SER2NET_LOG	"/tmp/ser2net.log"
#define RAW_PORT	4001
#define RFC2217_PORT	4002

/* IDs of the meters of tests/qemu/uart-bus.conf. */
static const char *const meter_ids[] = { "11111111", "68015742", "11490378" };

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

static void sleep_ms(int ms)
{
	const struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Start @argv with stdout and stderr appended to @log (or a pipe). */
static pid_t spawn(const char *log, int out_pipe, char *const argv[])
{
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(out_pipe >= 0 ? out_pipe : fd, 1);
		dup2(fd, 2);
	}
	execv(argv[0], argv);
	_exit(127);
}

/* Whether something listens on 127.0.0.1:@port (from /proc/net/tcp). */
static bool listening(int port)
{
	char line[256], want[32];
	bool found = false;
	FILE *f = fopen("/proc/net/tcp", "r");

	snprintf(want, sizeof(want), "0100007F:%04X 00000000:0000 0A", port);
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, want) != NULL;
	if (f)
		fclose(f);
	return found;
}

static pid_t ser2net_start(void)
{
	static const char conf[] =
		"connection: &raw\n"
		"  accepter: tcp,127.0.0.1,4001\n"
		"  connector: serialdev,/dev/ttyS2,2400e81,local\n"
		"connection: &rfc2217\n"
		"  accepter: telnet(rfc2217),tcp,127.0.0.1,4002\n"
		"  connector: serialdev,/dev/ttyS2,2400e81,local\n";
	char *argv[] = { SER2NET, "-n", "-u", "-c", SER2NET_CONF, NULL };
	FILE *f = fopen(SER2NET_CONF, "w");
	pid_t pid;
	int i;

	if (!f)
		return -1;
	fputs(conf, f);
	fclose(f);
	pid = spawn(SER2NET_LOG, -1, argv);
	for (i = 0; i < 100; i++) {
		if (listening(RAW_PORT) && listening(RFC2217_PORT))
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		sleep_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static void stop(pid_t pid, int sig)
{
	if (pid <= 0)
		return;
	kill(pid, sig);
	waitpid(pid, NULL, 0);
}

/* REQ_UD2 to @a; the status (~0U on an error: errno says which). */
static unsigned int req_ud2(int fd, unsigned char a, unsigned char *rx,
			    int *len)
{
	unsigned char req[8];
	unsigned int status = ~0U;
	int err;

	*len = MBUS_FRAME_MAX;
	ksft_short_frame(req, 0x7b, a);
	err = ksft_xfer(fd, req, 5, rx, len, 0, &status, NULL);
	if (err) {
		errno = -err;
		return ~0U;
	}
	return status;
}

static void show_log(struct __test_metadata *_metadata, const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		TH_LOG("%s: %s", path, strtok(line, "\n"));
	if (f)
		fclose(f);
}

static bool file_has(const char *path, const char *what)
{
	char buf[16384];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

FIXTURE(netconv) {
	pid_t ser2net;
	pid_t attach;
	int index;
	int fd;
	char dev[32];
	char log[64];
	char out[16384];
};

FIXTURE_VARIANT(netconv) {
	bool rfc2217;
	int port;
};

FIXTURE_VARIANT_ADD(netconv, raw) { .rfc2217 = false, .port = RAW_PORT };
FIXTURE_VARIANT_ADD(netconv, rfc2217) {
	.rfc2217 = true, .port = RFC2217_PORT,
};

/* mbus-attach -f --tcp: its first line names /dev/mbusN. */
static pid_t attach_start(FIXTURE_DATA(netconv) *self, bool rfc2217,
			  int port)
{
	char target[32], line[64] = "";
	char *argv[] = { KSFT_TOOLS "mbus-attach", "--foreground", target,
			 rfc2217 ? "--rfc2217" : NULL, NULL };
	struct pollfd p;
	int pfd[2], n = 0;
	pid_t pid;

	snprintf(target, sizeof(target), "--tcp=127.0.0.1:%d", port);
	if (pipe(pfd))
		return -1;
	pid = spawn(self->log, pfd[1], argv);
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
	if (sscanf(line, "/dev/mbus%d", &self->index) != 1) {
		stop(pid, SIGKILL);
		return -1;
	}
	snprintf(self->dev, sizeof(self->dev), "mbus%d", self->index);
	return pid;
}

FIXTURE_SETUP(netconv)
{
	self->ser2net = -1;
	self->attach = -1;
	self->fd = -1;
	snprintf(self->log, sizeof(self->log), "/tmp/attach-%s.log",
		 variant->rfc2217 ? "rfc2217" : "raw");
	unlink(self->log);
	if (!sim_expected())
		SKIP(return, "no simulator on ttyS2 (mbus-sim not built)");
	if (access(SER2NET, X_OK))
		SKIP(return, "no %s in the guest (apt-get install ser2net)",
		     SER2NET);
	ASSERT_EQ(0, ksft_mbus_load());
	/*
	 * /init leaves lo down; everything here is on 127.0.0.1. glibc's
	 * getaddrinfo(AI_ADDRCONFIG), which gensio uses, counts no IPv4
	 * address but 127.0.0.1 as configured: a second loopback address
	 * lets ser2net resolve 127.0.0.1.
	 */
	ksft_run_capture(self->out, sizeof(self->out),
			 "ip link set lo up && ip addr add 127.0.0.2/8 dev lo 2>&1");
	unlink(SER2NET_LOG);
	self->ser2net = ser2net_start();
	ASSERT_LT(0, self->ser2net) show_log(_metadata, SER2NET_LOG);
	self->attach = attach_start(self, variant->rfc2217, variant->port);
	ASSERT_LT(0, self->attach) show_log(_metadata, self->log);
	self->fd = ksft_mbus_open(self->index, O_RDWR);
	ASSERT_LE(0, self->fd);
}

#define SKIP_IF_NOT_SET_UP() do {					\
		if (self->fd < 0)					\
			return;						\
	} while (0)

FIXTURE_TEARDOWN(netconv)
{
	int status = -1;

	if (self->fd >= 0)
		close(self->fd);
	if (self->attach > 0) {
		kill(self->attach, SIGTERM);
		waitpid(self->attach, &status, 0);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		EXPECT_TRUE(ksft_mbus_wait_node(self->index, false, 2000));
	}
	stop(self->ser2net, SIGTERM);
	if (!_metadata->passed) {
		show_log(_metadata, self->log);
		show_log(_metadata, SER2NET_LOG);
	}
}

static int run(FIXTURE_DATA(netconv) *self, const char *tool,
	       const char *a1, const char *a2, const char *a3,
	       const char *a4, const char *a5)
{
	return ksft_tool_run(self->out, sizeof(self->out), NULL, 0, tool,
			     a1, a2, a3, a4, a5, NULL);
}

static unsigned int lines(const char *s)
{
	unsigned int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * With RFC 2217 at 9600 Bd (the converter follows); raw TCP keeps
 * ser2net's 2400 Bd. A repeat gets the scan past the simulator's breaks
 * (every third reply). The whole range 0-250 takes minutes under TCG:
 * the lane scans the first addresses.
 */
TEST_F_TIMEOUT(netconv, a_scan_finds_every_meter_through_the_converter, 300)
{
	long long t0 = ksft_now_us();
	size_t i;

	SKIP_IF_NOT_SET_UP();
	if (variant->rfc2217) {
		ASSERT_EQ(0, run(self, "mbus-scan", "--baud=9600",
				 "--range=0-20", "--retries=1", "--json",
				 self->dev));
	} else {
		ASSERT_EQ(0, run(self, "mbus-scan", "--range=0-7",
				 "--retries=1", "--json", self->dev, NULL));
	}
	TH_LOG("mbus-scan %s through ser2net: %lld ms",
	       variant->rfc2217 ? "0-20 at 9600 Bd" : "0-7 at 2400 Bd",
	       (ksft_now_us() - t0) / 1000);
	EXPECT_EQ(3, lines(self->out)) TH_LOG("%s", self->out);
	for (i = 0; i < 3; i++) {
		bool found = strstr(self->out, meter_ids[i]) != NULL;

		EXPECT_TRUE(found) TH_LOG("meter %zu missing", i);
	}
}

TEST_F_TIMEOUT(netconv, a_multi_telegram_read_follows_the_telegrams, 120)
{
	SKIP_IF_NOT_SET_UP();
	ASSERT_EQ(0, run(self, "mbus-read", "--nke", self->dev, "2", NULL,
			 NULL));
	EXPECT_EQ(2, lines(self->out)) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "\"id\":\"68015742\""));
	EXPECT_NE(NULL, strstr(self->out, "\"more_records_follow\":true"));
	EXPECT_NE(NULL, strstr(self->out, "\"more_records_follow\":false"));
}

/*
 * Killed: the next exchange fails with EIO (the relay stopped the pty)
 * or, if the loss came during it, times out; restarted: the same
 * /dev/mbusN and the same open file work again, each reply from the
 * meter asked.
 */
TEST_F_TIMEOUT(netconv, the_port_survives_a_converter_restart, 120)
{
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int st = ~0U;
	long long t0;
	int len, i;

	SKIP_IF_NOT_SET_UP();
	for (i = 0; i < 3 && st != MBUS_STATUS_FRAME; i++)
		st = req_ud2(self->fd, 1, rx, &len);
	ASSERT_EQ(MBUS_STATUS_FRAME, st);

	stop(self->ser2net, SIGKILL);
	self->ser2net = -1;
	t0 = ksft_now_us();
	st = req_ud2(self->fd, 1, rx, &len);
	if (st != ~0U)
		st = req_ud2(self->fd, 1, rx, &len);
	EXPECT_EQ(~0U, st);
	EXPECT_EQ(EIO, errno);
	TH_LOG("converter gone: EIO after %lld ms", (ksft_now_us() - t0) / 1000);
	EXPECT_TRUE(ksft_mbus_node_exists(self->index));

	self->ser2net = ser2net_start();
	ASSERT_LT(0, self->ser2net);
	t0 = ksft_now_us();
	for (i = 0; i < 40; i++) {
		st = req_ud2(self->fd, 3, rx, &len);
		if (st == MBUS_STATUS_FRAME)
			break;
		if (st == ~0U && errno != EIO)
			break;
		sleep_ms(100);
	}
	ASSERT_EQ(MBUS_STATUS_FRAME, st);
	TH_LOG("back %lld ms after the restart",
	       (ksft_now_us() - t0) / 1000);
	EXPECT_EQ(3, rx[5]);		/* the A field: the meter asked */
	for (i = 0; i < 3; i++) {
		st = req_ud2(self->fd, 2, rx, &len);
		if (st == MBUS_STATUS_FRAME)
			break;
	}
	EXPECT_EQ(MBUS_STATUS_FRAME, st);
	EXPECT_EQ(2, rx[5]);
	EXPECT_TRUE(file_has(self->log, "connection lost"));
}

TEST_F(netconv, the_default_timeouts_cover_the_network)
{
	struct mbus_params p;

	SKIP_IF_NOT_SET_UP();
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_PARAMS, &p));
	TH_LOG("response timeout %u us, inter-character timeout %u us",
	       p.response_timeout_us, p.char_timeout_us);
	/* 330 bit times + 50 ms + 17 characters at 2400 Bd, + latency. */
	EXPECT_LE(187500 + 77916 + 20000, p.response_timeout_us);
	EXPECT_GT(187500 + 77916 + 200000, p.response_timeout_us);
	EXPECT_LE(62500 + 20000, p.char_timeout_us);
}

/* SET-BAUDRATE and SET-PARITY reach ttyS2, where ser2net runs it. */
TEST_F(netconv, rfc_2217_carries_speed_and_parity_to_the_uart)
{
	static const speed_t speeds[] = { B9600, B2400 };
	static const __u32 bauds[] = { 9600, 2400 };
	unsigned char rx[MBUS_FRAME_MAX];
	struct termios t;
	unsigned int st;
	int tty, len, i, j;

	SKIP_IF_NOT_SET_UP();
	if (!variant->rfc2217)
		SKIP(return, "raw TCP: ser2net's own settings");
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_BAUD, &bauds[i]));
		/* The next request takes the speed with it. */
		for (j = 0, st = ~0U; j < 3 && st != MBUS_STATUS_FRAME; j++)
			st = req_ud2(self->fd, 1, rx, &len);
		EXPECT_EQ(MBUS_STATUS_FRAME, st);
		tty = open("/dev/ttyS2", O_RDONLY | O_NOCTTY | O_NONBLOCK);
		ASSERT_LE(0, tty);
		ASSERT_EQ(0, tcgetattr(tty, &t));
		close(tty);
		EXPECT_EQ(speeds[i], cfgetospeed(&t));
		EXPECT_TRUE(t.c_cflag & PARENB);
		EXPECT_FALSE(t.c_cflag & PARODD);
		EXPECT_EQ(CS8, t.c_cflag & CSIZE);
		EXPECT_FALSE(t.c_cflag & CSTOPB);
	}
}

TEST_HARNESS_MAIN
