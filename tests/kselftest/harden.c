// SPDX-License-Identifier: GPL-2.0
/*
 * N_MBUS against a hostile local user: who may attach, which files may
 * act on the bus, user memory that faults while the bus is held, opens
 * and frames by the thousand, a late reply to a request sent without
 * awaiting one, attach and detach racing, readers that must not block.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"
#include "mbus_frame.h"

#define NOBODY		65534

static const unsigned char req_ud2[] = { 0x10, 0x5b, 0x01, 0x5c, 0x16 };
/* REQ_UD2 to 254: every slave answers, any address is accepted. */
static const unsigned char req_ud2_test[] = { 0x10, 0x5b, 0xfe, 0x59, 0x16 };
/* SND_NKE to 5: no reply awaited by the test (MBUS_XFER_NO_REPLY). */
static const unsigned char snd_nke_5[] = { 0x10, 0x40, 0x05, 0x45, 0x16 };

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

	ksft_write_all(fd, buf, rsp_ud(buf, len == 5 ? req[2] : req[5]));
}

/* Drop to uid/gid 65534 (in a child); 0 or -errno. */
static int become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return -errno;
	return 0;
}

/* Kernel log records that came since @fd was opened at the end. */
static int kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Whether a record read from @fd contains @what (reads up to now). */
static bool kmsg_saw(int fd, const char *what, char *line, size_t size)
{
	char rec[2048];
	bool seen = false;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (!seen && strstr(rec, what)) {
			seen = true;
			strncpy(line, rec, size - 1);
			line[size - 1] = '\0';
		}
	}
	return seen;
}

FIXTURE(bus) {
	int master;
	int slave;
	int index;
	int fd;
	pid_t sim;
};

FIXTURE_SETUP(bus)
{
	self->sim = 0;
	ASSERT_EQ(0, ksft_mbus_load());
	ASSERT_EQ(0, ksft_pty_open(&self->master, &self->slave));
	self->index = ksft_mbus_attach(self->slave);
	ASSERT_LE(0, self->index);
	self->fd = ksft_mbus_open(self->index, O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(bus)
{
	ksft_slave_stop(self->sim);
	if (self->fd >= 0)
		close(self->fd);
	if (self->slave >= 0)
		close(self->slave);
	if (self->master >= 0)
		close(self->master);
}

/* ---- 1. who may attach ------------------------------------------------ */

TEST(an_unprivileged_user_gets_eperm_attaching_to_its_own_pty)
{
	int status = -1, err;
	pid_t pid;

	ASSERT_EQ(0, ksft_mbus_load());
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int m, s, ldisc = N_MBUS;
		__u32 index;

		if (become_nobody())
			_exit(100);
		/* Its own pty: nothing but the capability check is in the way. */
		if (ksft_pty_open(&m, &s))
			_exit(101);
		if (!ioctl(s, TIOCSETD, &ldisc))
			_exit(ioctl(s, MBUS_IOC_GET_INDEX, &index) ? 102 : 103);
		_exit(errno);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	err = WEXITSTATUS(status);
	TH_LOG("TIOCSETD N_MBUS as uid %d: %s", NOBODY,
	       err == 103 ? "attached" : strerror(err));
	EXPECT_EQ(EPERM, err);
}

/* ---- 2. pty masters ----------------------------------------------------- */

TEST(attaching_to_a_pty_master_is_refused_and_warns_nothing)
{
	int m, s, kmsg, ldisc = N_MBUS, ntty = N_TTY;
	char line[256] = "";

	ASSERT_EQ(0, ksft_mbus_load());
	kmsg = kmsg_open_at_end();
	ASSERT_LE(0, kmsg);
	ASSERT_EQ(0, ksft_pty_open(&m, &s));
	EXPECT_EQ(-1, ioctl(m, TIOCSETD, &ldisc));
	EXPECT_EQ(EOPNOTSUPP, errno);
	ioctl(m, TIOCSETD, &ntty);
	/* The slave end stays a valid place to attach. */
	EXPECT_LE(0, ksft_mbus_attach(s));
	close(s);
	close(m);
	EXPECT_FALSE(kmsg_saw(kmsg, "WARNING", line, sizeof(line)));
	if (line[0])
		TH_LOG("kernel log: %s", line);
	close(kmsg);
}

/* ---- 8. read-only files ------------------------------------------------- */

TEST_F(bus, a_read_only_file_cannot_act_on_the_bus)
{
	unsigned char rx[MBUS_FRAME_MAX];
	struct mbus_params p = { .retries = 1 };
	__u32 baud = 9600, ms = 100;
	struct mbus_stats st;
	int fd, n = sizeof(rx);

	fd = ksft_mbus_open(self->index, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADF, ksft_xfer(fd, req_ud2, 5, rx, &n, 0, NULL, NULL));
	EXPECT_EQ(-1, ioctl(fd, MBUS_IOC_SET_BAUD, &baud));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, ioctl(fd, MBUS_IOC_SEND_BREAK, &ms));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, ioctl(fd, MBUS_IOC_SET_PARAMS, &p));
	EXPECT_EQ(EBADF, errno);
	/* Reading stays allowed. */
	EXPECT_EQ(0, ioctl(fd, MBUS_IOC_GET_BAUD, &baud));
	EXPECT_EQ(2400, baud);
	EXPECT_EQ(0, ioctl(fd, MBUS_IOC_GET_PARAMS, &p));
	EXPECT_EQ(2, p.retries);
	EXPECT_EQ(0, ioctl(fd, MBUS_IOC_GET_STATS, &st));
	EXPECT_EQ(0, st.tx_frames);
	close(fd);
}

/* ---- 3. user memory that faults while the bus would be held ------------- */

struct uffd_page {
	int uffd;
	unsigned char *page;
	long size;
};

/* A page whose first touch waits for us; 0, or -errno (SKIP). */
static int uffd_page_new(struct uffd_page *u)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };

	u->size = sysconf(_SC_PAGESIZE);
	u->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->uffd < 0)
		return -errno;
	if (ioctl(u->uffd, UFFDIO_API, &api))
		goto err;
	u->page = mmap(NULL, u->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->page == MAP_FAILED)
		goto err;
	reg.range.start = (unsigned long)u->page;
	reg.range.len = u->size;
	if (ioctl(u->uffd, UFFDIO_REGISTER, &reg))
		goto err;
	return 0;
err:
	close(u->uffd);
	return -errno;
}

/* Wait up to @ms for a thread to fault on the page. */
static bool uffd_wait_fault(struct uffd_page *u, int ms)
{
	struct pollfd pfd = { .fd = u->uffd, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&pfd, 1, ms) != 1)
		return false;
	return read(u->uffd, &msg, sizeof(msg)) == sizeof(msg) &&
	       msg.event == UFFD_EVENT_PAGEFAULT;
}

/* Map the page with @content: the faulting thread goes on. */
static int uffd_resolve(struct uffd_page *u, const void *content, int len)
{
	static unsigned char src[65536];
	struct uffdio_copy c = {
		.dst = (unsigned long)u->page,
		.src = (unsigned long)src,
		.len = u->size,
	};

	memset(src, 0, sizeof(src));
	memcpy(src, content, len);
	return ioctl(u->uffd, UFFDIO_COPY, &c) ? -errno : 0;
}

struct uffd_job {
	int fd;
	int tty;
	const unsigned char *buf;	/* for write() */
	unsigned char *rx;		/* for MBUS_IOC_XFER */
	int ret;
	long long start_us;
	long long took_us;
	volatile int done;
};

static void *uffd_writer(void *arg)
{
	struct uffd_job *j = arg;

	j->ret = write(j->fd, j->buf, 5) < 0 ? -errno : 0;
	j->done = 1;
	return NULL;
}

static void *uffd_xferer(void *arg)
{
	struct uffd_job *j = arg;
	int n = 64;

	j->ret = ksft_xfer(j->fd, req_ud2, 5, j->rx, &n, 0, NULL, NULL);
	j->done = 1;
	return NULL;
}

static void *detacher(void *arg)
{
	struct uffd_job *j = arg;

	j->start_us = ksft_now_us();
	j->ret = ksft_mbus_detach(j->tty);
	j->took_us = ksft_now_us() - j->start_us;
	j->done = 1;
	return NULL;
}

/*
 * A thread is stuck in a fault on @u while it uses the bus: detach must
 * not wait for it. Resolves the fault after 2 s whatever happened, so the
 * test ends either way; returns how long the detach took.
 */
static long long detach_while_faulting(struct __test_metadata *_metadata,
				       struct uffd_page *u, int tty)
{
	struct uffd_job d = { .tty = tty };
	pthread_t t;
	int i;

	ASSERT_EQ(0, pthread_create(&t, NULL, detacher, &d));
	for (i = 0; i < 200 && !d.done; i++)
		usleep(10000);
	EXPECT_EQ(0, uffd_resolve(u, req_ud2, 5));
	pthread_join(t, NULL);
	EXPECT_EQ(0, d.ret);
	return d.took_us;
}

TEST_F(bus, detach_returns_at_once_while_write_faults_on_its_buffer)
{
	struct uffd_job w = { .fd = self->fd };
	struct uffd_page u;
	long long took;
	pthread_t t;
	int err;

	err = uffd_page_new(&u);
	if (err)
		SKIP(return, "userfaultfd unavailable: %s", strerror(-err));
	w.buf = u.page;
	ASSERT_EQ(0, pthread_create(&t, NULL, uffd_writer, &w));
	ASSERT_TRUE(uffd_wait_fault(&u, 2000));
	took = detach_while_faulting(_metadata, &u, self->slave);
	pthread_join(t, NULL);
	TH_LOG("detach took %lld us; write() returned %d", took, w.ret);
	EXPECT_GT(500000, took);
	EXPECT_EQ(-ENODEV, w.ret);
	close(u.uffd);
}

TEST_F(bus, detach_returns_at_once_while_xfer_faults_on_its_reply_buffer)
{
	struct uffd_job x = { .fd = self->fd };
	struct uffd_page u;
	long long took;
	pthread_t t;
	int err;

	/* Forked before the page exists: the child has no part in it. */
	self->sim = ksft_slave_fork(self->master, slave_rsp, NULL);
	err = uffd_page_new(&u);
	if (err)
		SKIP(return, "userfaultfd unavailable: %s", strerror(-err));
	x.rx = u.page;
	ASSERT_EQ(0, pthread_create(&t, NULL, uffd_xferer, &x));
	ASSERT_TRUE(uffd_wait_fault(&u, 3000));
	took = detach_while_faulting(_metadata, &u, self->slave);
	pthread_join(t, NULL);
	TH_LOG("detach took %lld us; MBUS_IOC_XFER returned %d", took, x.ret);
	EXPECT_GT(500000, took);
	/* The exchange itself was over: the reply is delivered. */
	EXPECT_EQ(0, x.ret);
	EXPECT_EQ(0x68, u.page[0]);
	close(u.uffd);
}

/* ---- 4. bounded, killable waits -------------------------------------- */

#define HOLD_PARAM "/sys/module/n_mbus/parameters/bus_hold_max_ms"

static int hold_param(unsigned int *old, unsigned int set)
{
	FILE *f = fopen(HOLD_PARAM, "r+");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%u", old) == 1;
	rewind(f);
	ok = ok && fprintf(f, "%u\n", set) > 0;
	return fclose(f) || !ok ? -EIO : 0;
}

/*
 * Six attempts of a 10 s window each, on a silent bus, would hold the bus
 * for a minute: the holder's bound (lowered to 2 s here) ends it.
 */
TEST_F(bus, hostile_parameters_hold_the_bus_no_longer_than_the_bound)
{
	struct mbus_params p = {
		.response_timeout_us = MBUS_TIMEOUT_US_MAX,
		.char_timeout_us = MBUS_TIMEOUT_US_MAX,
		.retries = MBUS_RETRIES_MAX,
	};
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int old = 0, status = 0, attempts = 0, dummy;
	long long t0, took;
	int n = sizeof(rx), err;

	ASSERT_EQ(0, hold_param(&old, 2000));
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	t0 = ksft_now_us();
	err = ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0, &status, &attempts);
	took = ksft_now_us() - t0;
	EXPECT_EQ(0, hold_param(&dummy, old));
	TH_LOG("exchange took %lld ms, %u attempt(s), status %u", took / 1000,
	       attempts, status);
	EXPECT_EQ(0, err);
	EXPECT_EQ(MBUS_STATUS_TIMEOUT, status);
	EXPECT_GT(3000000, took);
	EXPECT_LT(1900000, took);
}

/*
 * A tty that takes no bytes (output stopped): the exchange waits for room
 * and a SIGKILL must end it at once, not after the second the old
 * uninterruptible wait took.
 */
TEST_F(bus, sigkill_ends_an_exchange_waiting_for_the_tty)
{
	long long t0, took;
	int status;
	pid_t pid;

	ASSERT_EQ(0, tcflow(self->slave, TCOOFF));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct mbus_params p = { .wakeup_bytes = 4096 };
		unsigned char rx[MBUS_FRAME_MAX];
		int n = sizeof(rx);

		ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p);
		for (;;)
			ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0, NULL, NULL);
	}
	usleep(300000);
	t0 = ksft_now_us();
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	took = ksft_now_us() - t0;
	TH_LOG("killed after %lld us", took);
	EXPECT_GT(500000, took);
	tcflow(self->slave, TCOON);
}

/* ---- 5. many files, many frames ---------------------------------------- */

/* Wait up to 60 s until rx_frames of @fd reaches @want. */
static __u64 wait_rx_frames(int fd, __u64 want)
{
	struct mbus_stats st = { 0 };
	int tries;

	for (tries = 0; tries < 60000; tries++) {
		if (ioctl(fd, MBUS_IOC_GET_STATS, &st) || st.rx_frames >= want)
			break;
		usleep(1000);
	}
	return st.rx_frames;
}

/*
 * Send @frames short frames from the slave side and wait until all came,
 * in chunks, checking the count every 4,000 frames.
 */
static long long unsolicited_frames(struct __test_metadata *_metadata,
				    int master, int fd, int frames)
{
	unsigned char buf[5 * 400];
	struct mbus_stats st;
	long long t0 = ksft_now_us();
	__u64 start;
	int i, sent, chunk;

	ASSERT_EQ(0, ioctl(fd, MBUS_IOC_GET_STATS, &st));
	start = st.rx_frames;
	for (i = 0; i < 400; i++)
		ksft_short_frame(buf + 5 * i, 0x08, i % 250 + 1);
	for (sent = 0; sent < frames; sent += chunk) {
		chunk = frames - sent < 400 ? frames - sent : 400;
		ASSERT_EQ(0, ksft_write_all(master, buf, 5 * chunk));
		if (sent % 4000 == 0)
			ASSERT_EQ(start + sent + chunk,
				  wait_rx_frames(fd, start + sent + chunk));
	}
	EXPECT_EQ(start + frames, wait_rx_frames(fd, start + frames));
	return ksft_now_us() - t0;
}

TEST_F_TIMEOUT(bus, five_thousand_files_cost_the_receive_path_nothing, 300)
{
	const int files = 5000, frames = 20000;
	struct rlimit rl = { files + 100, files + 100 };
	unsigned char frame[MBUS_FRAME_MAX];
	long long one, many;
	struct mbus_stats st0, st1;
	int *fds, i, queued = 0;

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	fds = calloc(files, sizeof(*fds));
	ASSERT_NE(NULL, fds);
	one = unsolicited_frames(_metadata, self->master, self->fd, frames);
	/* What one file keeps of a flood: the queue's length. */
	fcntl(self->fd, F_SETFL, O_NONBLOCK);
	while (read(self->fd, frame, sizeof(frame)) > 0)
		queued++;
	for (i = 0; i < files; i++) {
		fds[i] = ksft_mbus_open(self->index, O_RDONLY);
		ASSERT_LE(0, fds[i]);
	}
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_STATS, &st0));
	many = unsolicited_frames(_metadata, self->master, self->fd, frames);
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_STATS, &st1));
	TH_LOG("%d frames: %lld ms with 1 file, %lld ms with %d files (%.2fx)",
	       frames, one / 1000, many / 1000, files + 1,
	       (double)many / (one ? one : 1));
	/* Every file lost all but the queue's worth, each loss counted once. */
	TH_LOG("queue %d frames; rx_dropped grew by %llu", queued,
	       (unsigned long long)(st1.rx_dropped - st0.rx_dropped));
	EXPECT_LT(0, queued);
	EXPECT_EQ((__u64)(frames - queued) * (files + 1),
		  st1.rx_dropped - st0.rx_dropped);
	for (i = 0; i < files; i++)
		close(fds[i]);
	free(fds);
}

/* ---- 6. a late reply to a request nobody awaited ------------------------ */

/* Answers only SND_NKE to 5, 60 ms late (within its response window). */
static void slave_late(int fd, const unsigned char *req, int len, void *arg)
{
	unsigned char buf[MBUS_FRAME_MAX];

	if (len != 5 || req[1] != 0x40 || req[2] != 5)
		return;
	usleep(60000);
	ksft_write_all(fd, buf, rsp_ud(buf, 5));
}

TEST_F(bus, the_next_user_never_gets_the_late_reply_to_a_no_reply_request)
{
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int status = 0;
	int b, n, round, frames = 0;

	b = ksft_mbus_open(self->index, O_RDWR);
	ASSERT_LE(0, b);
	self->sim = ksft_slave_fork(self->master, slave_late, NULL);
	for (round = 0; round < 5; round++) {
		n = sizeof(rx);
		ASSERT_EQ(0, ksft_xfer(self->fd, snd_nke_5, 5, NULL, NULL,
				       MBUS_XFER_NO_REPLY, &status, NULL));
		EXPECT_EQ(MBUS_STATUS_NONE, status);
		/* B asks everybody at once: A's late reply would fit. */
		ASSERT_EQ(0, ksft_xfer(b, req_ud2_test, 5, rx, &n, 0, &status,
				       NULL));
		EXPECT_EQ(MBUS_STATUS_TIMEOUT, status);
		if (status == MBUS_STATUS_FRAME)
			frames++;
	}
	TH_LOG("B took A's late reply as its own %d times of 5", frames);
	close(b);
}

/* ---- 7. attach and detach racing -------------------------------------- */

struct racer {
	int tty;
	int rounds;
	int failed;
	int err;
};

static void *attach_detach_loop(void *arg)
{
	struct racer *r = arg;
	int i, index;

	for (i = 0; i < r->rounds; i++) {
		index = ksft_mbus_attach(r->tty);
		if (index < 0) {
			r->failed++;
			r->err = -index;
			continue;
		}
		if (ksft_mbus_detach(r->tty))
			r->failed++;
	}
	return NULL;
}

TEST_F_TIMEOUT(bus, two_threads_attaching_and_detaching_never_collide, 600)
{
	/*
	 * 5,000 rounds each; on a kernel nmbus_time_scale=N times slower
	 * (the debug lane's: a device added and removed costs KASAN, lockdep
	 * and debug objects far more than N) 5,000 / N^2.
	 */
	int n = 5000 / (int)(ksft_time_scale() * ksft_time_scale());
	struct racer r[2] = { { .rounds = n }, { .rounds = n } };
	int m[2], s[2], i, kmsg;
	char line[256] = "";
	pthread_t t[2];
	long long t0;

	kmsg = kmsg_open_at_end();
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, ksft_pty_open(&m[i], &s[i]));
		r[i].tty = s[i];
	}
	t0 = ksft_now_us();
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, attach_detach_loop, &r[i]));
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	TH_LOG("2 x %d attach/detach in %lld ms; failures %d (%s), %d (%s)",
	       r[0].rounds, (ksft_now_us() - t0) / 1000, r[0].failed,
	       strerror(r[0].err), r[1].failed, strerror(r[1].err));
	EXPECT_EQ(0, r[0].failed);
	EXPECT_EQ(0, r[1].failed);
	if (kmsg >= 0) {
		EXPECT_FALSE(kmsg_saw(kmsg, "duplicate", line, sizeof(line)));
		if (line[0])
			TH_LOG("kernel log: %s", line);
		close(kmsg);
	}
	for (i = 0; i < 2; i++) {
		close(s[i]);
		close(m[i]);
	}
}

/* ---- 9. mbus-attach holds the tty exclusively --------------------------- */

/*
 * Start "mbus-attach --foreground PATH", its stderr on ERRFD (-1: ours),
 * and wait for the "/dev/mbusN" line it prints once all is set up (N_MBUS
 * on the tty, the tty exclusive, its signals blocked): returns a
 * descriptor of the tty (root may still open it) and the device's INDEX,
 * or -1.
 */
static int run_attach(const char *path, int errfd, pid_t *pid, __u32 *index)
{
	struct pollfd p = { .events = POLLIN };
	char line[32] = "";
	size_t len = 0;
	int out[2], fd;
	ssize_t n;

	if (pipe2(out, O_CLOEXEC))
		return -1;
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (!*pid) {
		dup2(out[1], 1);
		if (errfd >= 0)
			dup2(errfd, 2);
		execl(KSFT_TOOLS "mbus-attach", "mbus-attach", "--foreground",
		      path, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	p.fd = out[0];
	while (!memchr(line, '\n', len) && len < sizeof(line) - 1 &&
	       poll(&p, 1, 3000) == 1) {
		n = read(out[0], line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	close(out[0]);
	line[len] = '\0';
	if (sscanf(line, "/dev/mbus%u\n", index) != 1)
		return -1;
	fd = open(path, O_RDWR | O_NOCTTY);
	if (fd >= 0 && ioctl(fd, MBUS_IOC_GET_INDEX, &(__u32){ 0 })) {
		close(fd);
		return -1;
	}
	return fd;
}

TEST_F(bus, mbus_attach_keeps_other_users_off_its_tty)
{
	int m, s, excl = 0, status, err;
	char path[64], node[32];
	pid_t pid, child;
	__u32 index = 0;

	if (access(KSFT_TOOLS "mbus-attach", X_OK))
		SKIP(return, "no " KSFT_TOOLS "mbus-attach");
	ASSERT_EQ(0, ksft_pty_open(&m, &s));
	ASSERT_EQ(0, ptsname_r(m, path, sizeof(path)));
	close(s);
	/* Even where the mode lets anybody in. */
	ASSERT_EQ(0, chmod(path, 0666));
	s = run_attach(path, -1, &pid, &index);
	ASSERT_LE(0, s);
	snprintf(node, sizeof(node), "/dev/mbus%u", index);
	EXPECT_EQ(0, ioctl(s, TIOCGEXCL, &excl));
	EXPECT_EQ(1, excl);
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		if (become_nobody())
			_exit(100);
		err = open(path, O_RDWR | O_NOCTTY);
		_exit(err >= 0 ? 0 : errno);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	TH_LOG("uid %d opening %s: %s", NOBODY, path,
	       WEXITSTATUS(status) ? strerror(WEXITSTATUS(status)) : "opened");
	EXPECT_EQ(EBUSY, WEXITSTATUS(status));
	kill(pid, SIGTERM);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, ioctl(s, TIOCGEXCL, &excl));
	EXPECT_EQ(0, excl);
	EXPECT_TRUE(ksft_mbus_wait_node(index, false, 1000));
	close(s);
	close(m);
}

/*
 * The line goes away (its far end closed) and mbus-attach is told to stop
 * before its next look at the tty: nothing is left to detach, so it exits
 * 0 and says nothing.
 */
TEST_F(bus, mbus_attach_stopped_after_a_hangup_exits_0_quietly)
{
	int m, s, pipefd[2], status;
	char path[64], msg[256];
	__u32 index = 0;
	ssize_t n;
	pid_t pid;

	if (access(KSFT_TOOLS "mbus-attach", X_OK))
		SKIP(return, "no " KSFT_TOOLS "mbus-attach");
	ASSERT_EQ(0, ksft_pty_open(&m, &s));
	ASSERT_EQ(0, ptsname_r(m, path, sizeof(path)));
	close(s);
	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	s = run_attach(path, pipefd[1], &pid, &index);
	close(pipefd[1]);
	ASSERT_LE(0, s);
	close(s);
	close(m);
	EXPECT_TRUE(ksft_mbus_wait_node(index, false, 1000));
	kill(pid, SIGTERM);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	n = read(pipefd[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	if (n > 0)
		TH_LOG("mbus-attach said: %s", msg);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, n);
}

/*
 * SIGTERM at any moment of mbus-attach's start: before N_MBUS is on the
 * tty it may simply die, after that it must detach. Never may it leave
 * the discipline attached or the tty exclusive with nobody holding them.
 */
static void spin_us(int us)
{
	long long t0 = ksft_now_us();

	while (ksft_now_us() - t0 < us)
		;
}

TEST_F(bus, mbus_attach_stopped_while_starting_leaves_the_tty_as_it_was)
{
	int m, s, i, n, null, status, ldisc, excl, left = 0, killed = 0;
	char path[64];
	pid_t pid;

	if (access(KSFT_TOOLS "mbus-attach", X_OK))
		SKIP(return, "no " KSFT_TOOLS "mbus-attach");
	ASSERT_EQ(0, ksft_pty_open(&m, &s));
	ASSERT_EQ(0, ptsname_r(m, path, sizeof(path)));
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, null);
	for (i = 0; i < 300; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			dup2(null, 1);
			dup2(null, 2);
			execl(KSFT_TOOLS "mbus-attach", "mbus-attach",
			      "--foreground", path, (char *)NULL);
			_exit(127);
		}
		if (i % 2) {
			/* 0 to 4.5 ms: across exec, the attach, its loop. */
			usleep((i / 2) * 30);
		} else {
			/* Right after N_MBUS went on, the risky moment. */
			for (n = 0; n < 2000000; n++)
				if (!ioctl(s, TIOCGETD, &ldisc) &&
				    ldisc != N_TTY)
					break;
			spin_us((i / 2) % 50);
		}
		kill(pid, SIGTERM);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		killed += WIFSIGNALED(status);
		ASSERT_EQ(0, ioctl(s, TIOCGETD, &ldisc));
		ASSERT_EQ(0, ioctl(s, TIOCGEXCL, &excl));
		if (ldisc != N_TTY || excl) {
			left++;
			ioctl(s, TIOCNXCL);
			ldisc = N_TTY;
			ioctl(s, TIOCSETD, &ldisc);
		}
	}
	TH_LOG("300 SIGTERMs: %d before the attach, %d left the tty attached",
	       killed, left);
	EXPECT_EQ(0, left);
	close(null);
	close(s);
	close(m);
}

/* ---- 10. readers -------------------------------------------------------- */

static void *blocking_reader(void *arg)
{
	struct uffd_job *j = arg;
	unsigned char frame[MBUS_FRAME_MAX];

	j->ret = read(j->fd, frame, sizeof(frame));
	j->done = 1;
	return NULL;
}

static void on_alarm(int sig)
{
}

TEST_F(bus, an_o_nonblock_read_never_waits_for_a_blocked_reader)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct uffd_job r = { .fd = self->fd };
	unsigned char frame[MBUS_FRAME_MAX], sf[5];
	long long t0, took;
	pthread_t t;
	ssize_t n;
	int err;

	ASSERT_EQ(0, pthread_create(&t, NULL, blocking_reader, &r));
	usleep(200000);
	ASSERT_EQ(0, r.done);
	/* The same file, now non-blocking; an alarm ends a wait that hangs. */
	fcntl(self->fd, F_SETFL, O_NONBLOCK);
	sigaction(SIGALRM, &sa, NULL);
	alarm(2);
	t0 = ksft_now_us();
	n = read(self->fd, frame, sizeof(frame));
	err = errno;
	took = ksft_now_us() - t0;
	alarm(0);
	TH_LOG("O_NONBLOCK read: %zd (%s) after %lld us", n, strerror(err), took);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EAGAIN, err);
	EXPECT_GT(500000, took);
	/* A frame wakes the blocked reader, which gets it. */
	ASSERT_EQ(0, ksft_write_all(self->master, sf,
				    ksft_short_frame(sf, 0x08, 1)));
	pthread_join(t, NULL);
	EXPECT_EQ(5, r.ret);
}

TEST_HARNESS_MAIN
