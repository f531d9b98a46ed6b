// SPDX-License-Identifier: GPL-2.0
/*
 * Figures of the N_MBUS link layer on a pty pair at 2400 Bd: how fast an
 * exchange ends once the reply is in, how exact the empty response window
 * is, what a silent address and a secondary selection cost, how a reply
 * late in the window fares (after silence, and after a noise byte), and
 * how much kernel memory a port and an open file take.
 *
 * Runs in the QEMU guest like a kselftest (static, as root) but prints
 * plain "bench link: ..." lines, no pass/fail. The master is /dev/mbusN,
 * the slave a scripted child process on the pty master; the child passes
 * its CLOCK_MONOTONIC time stamps back through a pipe.
 *
 * A pty has no air time: bytes are there as soon as they are written. The
 * figures are the kernel's own overhead and timer precision; on a real
 * line the air time of every byte (11 bits) comes on top.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../kselftest/ksft-common.h"
#include "mbus_frame.h"

#define BAUD		2400
#define BIT_US		(1e6 / BAUD)			/* 416.67 us */
#define CHAR_BITS	11
#define AIR_US(bytes)	((bytes) * CHAR_BITS * BIT_US)
#define WINDOW_US	(330 * 1000000LL / BAUD + 50000)	/* 187500 us */
#define PAUSE_US	(33 * 1000000LL / BAUD)			/* 13750 us */

#define N_WAKEUP	500
#define N_SILENT	50
#define N_SILENT_RETRY	10
#define N_SEC_ROUNDS	50
#define N_SEC_FOLLOW	9
#define N_PORTS		100
#define N_FILES		100

#define say(...)	printf("bench link: " __VA_ARGS__)

/* Secondary address of the simulated meter, wire order. */
static const unsigned char sec_addr[8] = {
	0x78, 0x56, 0x34, 0x12, 0x24, 0x40, 0x01, 0x07
};

/* ---- statistics ------------------------------------------------------- */

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* @v sorted: the smallest value at least @p percent of the samples reach. */
static long long pct(const long long *v, int n, int p)
{
	int i = (n * p + 99) / 100 - 1;

	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

struct summary {
	long long min, median, p99, max;
	int n;
};

static struct summary summarize(long long *v, int n)
{
	struct summary s = { 0 };

	if (n <= 0)
		return s;
	qsort(v, n, sizeof(*v), cmp_ll);
	s.n = n;
	s.min = v[0];
	s.median = pct(v, n, 50);
	s.p99 = pct(v, n, 99);
	s.max = v[n - 1];
	return s;
}

static double bits(long long us)
{
	return us / BIT_US;
}

/* ---- the bus: a pty pair with N_MBUS on its slave side -------------------- */

struct bus {
	int master;	/* the pty master: the scripted slave's end */
	int tty;	/* the pty slave, N_MBUS attached */
	int index;
	int fd;		/* /dev/mbusN */
	int pipe[2];	/* time stamps from the scripted slave */
	pid_t sim;
};

static int bus_open(struct bus *b)
{
	int err;

	memset(b, 0, sizeof(*b));
	b->pipe[0] = b->pipe[1] = -1;
	err = ksft_pty_open(&b->master, &b->tty);
	if (err)
		return err;
	b->index = ksft_mbus_attach(b->tty);
	if (b->index < 0)
		return b->index;
	b->fd = ksft_mbus_open(b->index, O_RDWR);
	return b->fd < 0 ? b->fd : 0;
}

static int set_params(int fd, unsigned int retries)
{
	struct mbus_params p = { .retries = retries };

	return ioctl(fd, MBUS_IOC_SET_PARAMS, &p) ? -errno : 0;
}

static int sim_start(struct bus *b, ksft_slave_fn fn)
{
	if (pipe(b->pipe))
		return -errno;
	b->sim = ksft_slave_fork(b->master, fn, &b->pipe[1]);
	return b->sim < 0 ? -errno : 0;
}

static void sim_stop(struct bus *b)
{
	ksft_slave_stop(b->sim);
	b->sim = 0;
	close(b->pipe[0]);
	close(b->pipe[1]);
	b->pipe[0] = b->pipe[1] = -1;
}

/* The scripted slave's next time stamp; -1 if it sent none. */
static long long sim_stamp(struct bus *b)
{
	long long t;

	if (read(b->pipe[0], &t, sizeof(t)) != sizeof(t))
		return -1;
	return t;
}

static void stamp(void *arg)
{
	long long t = ksft_now_us();

	if (write(*(int *)arg, &t, sizeof(t)) != sizeof(t))
		_exit(1);
}

/* RSP_UD with a 12-byte header and one record: 25 bytes on the wire. */
static int rsp_ud(unsigned char *buf, unsigned char a)
{
	static const unsigned char data[16] = {
		0x78, 0x56, 0x34, 0x12, 0x24, 0x40, 0x01, 0x07,
		0x55, 0x00, 0x00, 0x00, 0x01, 0xfd, 0x00, 0x2a
	};

	return ksft_long_frame(buf, 0x08, a, 0x72, data, sizeof(data));
}

#define RSP_UD_LEN	25

/* ---- scripted slaves -------------------------------------------------- */

/* Answer a REQ_UD2 with RSP_UD, anything else with E5; stamp the end. */
static void slave_reply(int fd, const unsigned char *req, int len, void *arg)
{
	unsigned char buf[MBUS_FRAME_MAX];
	int n;

	if (len == 5 && (req[1] & 0x4f) == 0x4b)
		n = rsp_ud(buf, req[2]);
	else
		n = (buf[0] = 0xe5, 1);
	if (write(fd, buf, n) != n)
		_exit(1);
	stamp(arg);
}

/* Say nothing; stamp the moment the request's last byte was read. */
static void slave_silent(int fd, const unsigned char *req, int len, void *arg)
{
	stamp(arg);
}

/*
 * One meter with the secondary address sec_addr: acknowledges its
 * selection and SND_NKE to 253 (which deselects it), answers REQ_UD2 to
 * 253 while selected.
 */
static void slave_secondary(int fd, const unsigned char *req, int len,
			    void *arg)
{
	static int selected;
	unsigned char buf[MBUS_FRAME_MAX];
	int n = 0;

	if (len == 17 && req[0] == 0x68 && req[5] == 253 && req[6] == 0x52) {
		selected = !memcmp(req + 7, sec_addr, 8);
		if (selected)
			n = (buf[0] = 0xe5, 1);
	} else if (len == 5 && req[2] == 253 && (req[1] & 0x4f) == 0x40) {
		selected = 0;
		n = (buf[0] = 0xe5, 1);
	} else if (len == 5 && req[2] == 253 && (req[1] & 0x4f) == 0x4b &&
		   selected) {
		n = rsp_ud(buf, 253);
	}
	if (n && write(fd, buf, n) != n)
		_exit(1);
}

/* ---- (a) wake-up latency ---------------------------------------------- */

static void bench_wakeup(struct bus *b, const char *what,
			 const unsigned char *req, unsigned int want)
{
	static long long lat[N_WAKEUP], total[N_WAKEUP];
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int status;
	struct summary s, t;
	long long t0, t1, ts;
	int i, n, bad = 0, err;

	if (set_params(b->fd, 0) || sim_start(b, slave_reply)) {
		say("wakeup latency (%s): cannot set up: %s\n", what,
		    strerror(errno));
		return;
	}
	for (i = -10; i < N_WAKEUP; i++) {	/* 10 to warm up */
		n = sizeof(rx);
		t0 = ksft_now_us();
		err = ksft_xfer(b->fd, req, 5, rx, &n, 0, &status, NULL);
		t1 = ksft_now_us();
		if (err || status != want) {
			bad++;
			if (!err && status == MBUS_STATUS_TIMEOUT)
				continue;	/* the slave stamped nothing */
		}
		ts = sim_stamp(b);
		if (i < 0)
			continue;
		lat[i] = t1 - ts;
		total[i] = t1 - t0;
	}
	sim_stop(b);
	s = summarize(lat, N_WAKEUP);
	t = summarize(total, N_WAKEUP);
	say("wakeup latency (%s reply) median %lld us (%.1f bit times), p99 %lld us (%.1f bit times), min %lld us, max %lld us, n=%d\n",
	    what, s.median, bits(s.median), s.p99, bits(s.p99), s.min, s.max,
	    s.n);
	say("  whole exchange (%s, ioctl entry to return, no air time on a pty) median %lld us, p99 %lld us, max %lld us\n",
	    what, t.median, t.p99, t.max);
	if (bad)
		say("  %d of %d exchanges had an unexpected outcome\n", bad,
		    N_WAKEUP + 10);
}

/* ---- (b), (c) silent address ------------------------------------------ */

static void bench_silent(struct bus *b)
{
	static long long over[N_SILENT], dur[N_SILENT];
	unsigned char req[5], rx[MBUS_FRAME_MAX];
	unsigned int status, attempts;
	struct summary s, d;
	long long t0, t1, ts;
	int i, n, bad = 0;

	ksft_short_frame(req, 0x5b, 0x42);
	if (set_params(b->fd, 0) || sim_start(b, slave_silent)) {
		say("response window: cannot set up: %s\n", strerror(errno));
		return;
	}
	for (i = 0; i < N_SILENT; i++) {
		n = sizeof(rx);
		t0 = ksft_now_us();
		if (ksft_xfer(b->fd, req, 5, rx, &n, 0, &status, &attempts))
			bad++;
		t1 = ksft_now_us();
		if (status != MBUS_STATUS_TIMEOUT || attempts != 1)
			bad++;
		ts = sim_stamp(b);
		over[i] = t1 - ts - WINDOW_US;
		dur[i] = t1 - t0;
	}
	sim_stop(b);
	s = summarize(over, N_SILENT);
	d = summarize(dur, N_SILENT);
	say("empty response window (retries=0, n=%d): bound 330 bit times + 50 ms = %lld us; measured from the slave reading the request's last byte to ioctl return, minus the bound: median %+lld us, p99 %+lld us, max %+lld us, min %+lld us\n",
	    s.n, WINDOW_US, s.median, s.p99, s.max, s.min);
	say("  (the slave's stamp comes after its own wake-up, later than the kernel's start of the window: negative values are that wake-up delay)\n");
	say("silent address, whole exchange (retries=0): ioctl duration median %lld us, p99 %lld us, min %lld us, max %lld us; bound without air time %lld us (pty: air time ~0): median %+lld us, min %+lld us; bound with the air time of a 5-byte request on a real line %.0f us\n",
	    d.median, d.p99, d.min, d.max, WINDOW_US, d.median - WINDOW_US,
	    d.min - WINDOW_US, WINDOW_US + AIR_US(5));
	if (bad)
		say("  %d unexpected outcomes (status other than TIMEOUT or attempts != 1)\n",
		    bad);
}

static void bench_silent_retries(struct bus *b)
{
	static long long dur[N_SILENT_RETRY];
	unsigned char req[5], rx[MBUS_FRAME_MAX];
	unsigned int status, attempts;
	long long t0, bound = 3 * WINDOW_US + 2 * PAUSE_US;
	struct summary d;
	int i, n, bad = 0;

	ksft_short_frame(req, 0x5b, 0x42);
	if (set_params(b->fd, 2) || sim_start(b, slave_silent)) {
		say("silent address (retries=2): cannot set up: %s\n",
		    strerror(errno));
		return;
	}
	for (i = 0; i < N_SILENT_RETRY; i++) {
		n = sizeof(rx);
		t0 = ksft_now_us();
		if (ksft_xfer(b->fd, req, 5, rx, &n, 0, &status, &attempts))
			bad++;
		dur[i] = ksft_now_us() - t0;
		if (status != MBUS_STATUS_TIMEOUT || attempts != 3)
			bad++;
		/* three stamps, one per attempt */
		sim_stamp(b);
		sim_stamp(b);
		sim_stamp(b);
	}
	sim_stop(b);
	d = summarize(dur, N_SILENT_RETRY);
	say("silent address, default retries=2 (3 attempts, n=%d): ioctl duration median %lld us, min %lld us, max %lld us; bound without air time 3 x %lld + 2 x 33 bit times = %lld us (median %+lld us), with air time of 3 requests %.0f us\n",
	    d.n, d.median, d.min, d.max, WINDOW_US, bound, d.median - bound,
	    bound + 3 * AIR_US(5));
	if (bad)
		say("  %d unexpected outcomes\n", bad);
}

/* ---- (d) secondary selection + REQ_UD2 -------------------------------- */

static void bench_secondary(struct bus *b)
{
	static long long first[N_SEC_ROUNDS];
	static long long follow[N_SEC_ROUNDS * N_SEC_FOLLOW];
	unsigned char nke[5], req[5], rx[MBUS_FRAME_MAX];
	struct mbus_addr a = { .type = MBUS_ADDR_SECONDARY };
	struct mbus_stats st0, st1;
	unsigned int status, attempts;
	int i, j, n, bad = 0, nf = 0;
	struct summary f, g;
	long long t0;

	ksft_short_frame(nke, 0x40, 253);
	ksft_short_frame(req, 0x5b, 0);		/* A written by the kernel */
	memcpy(a.secondary, sec_addr, 8);
	if (set_params(b->fd, 0) || ioctl(b->fd, MBUS_IOC_SET_ADDR, &a) ||
	    sim_start(b, slave_secondary)) {
		say("secondary: cannot set up: %s\n", strerror(errno));
		return;
	}
	ioctl(b->fd, MBUS_IOC_GET_STATS, &st0);
	for (i = 0; i < N_SEC_ROUNDS; i++) {
		/* Deselect: the next addressed exchange selects again. */
		n = sizeof(rx);
		if (ksft_xfer(b->fd, nke, 5, rx, &n, 0, &status, NULL) ||
		    status != MBUS_STATUS_ACK)
			bad++;
		for (j = 0; j <= N_SEC_FOLLOW; j++) {
			n = sizeof(rx);
			t0 = ksft_now_us();
			if (ksft_xfer(b->fd, req, 5, rx, &n,
				      MBUS_XFER_ADDRESSED, &status, &attempts))
				bad++;
			t0 = ksft_now_us() - t0;
			if (status != MBUS_STATUS_FRAME || n != RSP_UD_LEN)
				bad++;
			if (j == 0)
				first[i] = t0;
			else
				follow[nf++] = t0;
		}
	}
	ioctl(b->fd, MBUS_IOC_GET_STATS, &st1);
	sim_stop(b);
	a.type = MBUS_ADDR_NONE;
	memset(a.secondary, 0, 8);
	ioctl(b->fd, MBUS_IOC_SET_ADDR, &a);

	f = summarize(first, N_SEC_ROUNDS);
	g = summarize(follow, nf);
	say("secondary exchange with selection (SND_UD 52h 17 bytes + E5 + REQ_UD2 5 bytes + RSP_UD %d bytes, n=%d): median %lld us, p99 %lld us, min %lld us, max %lld us; air time on a real line %.0f us (pty: ~0)\n",
	    RSP_UD_LEN, f.n, f.median, f.p99, f.min, f.max,
	    AIR_US(17 + 1 + 5 + RSP_UD_LEN));
	say("secondary exchange reusing the selection (REQ_UD2 5 bytes + RSP_UD %d bytes, n=%d): median %lld us, p99 %lld us, min %lld us, max %lld us; air time on a real line %.0f us (pty: ~0)\n",
	    RSP_UD_LEN, g.n, g.median, g.p99, g.min, g.max, AIR_US(5 + RSP_UD_LEN));
	say("  requests sent: %llu for %d addressed exchanges and %d SND_NKE (expected %d: one selection per round)\n",
	    (unsigned long long)(st1.tx_frames - st0.tx_frames),
	    N_SEC_ROUNDS * (N_SEC_FOLLOW + 1), N_SEC_ROUNDS,
	    N_SEC_ROUNDS * (N_SEC_FOLLOW + 3));
	if (bad)
		say("  %d unexpected outcomes\n", bad);
}

/* ---- (f) a reply late in the window, behind a noise byte or not -------- */

#define LATE_US		100000	/* well inside the 187.5 ms bound */
#define N_LATE		5

/* Answer RSP_UD after LATE_US; with @arg's noise flag, 00 right away. */
static void slave_late(int fd, const unsigned char *req, int len, void *arg)
{
	unsigned char buf[MBUS_FRAME_MAX];
	int n = rsp_ud(buf, req[2]);

	if (*(int *)arg && write(fd, "\0", 1) != 1)
		_exit(1);
	usleep(LATE_US);
	if (write(fd, buf, n) != n)
		_exit(1);
}

static const char *status_name(unsigned int st)
{
	static const char *const names[] = {
		"NONE", "FRAME", "ACK", "TIMEOUT", "GARBLED", "BREAK"
	};

	return st < 6 ? names[st] : "?";
}

static void bench_late(struct bus *b, int noise)
{
	static const unsigned char req[] = { 0x10, 0x5b, 0x01, 0x5c, 0x16 };
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int status = 0, st[6] = { 0 };
	long long dur[N_LATE], t0;
	int i, n, queued = 0, fl;
	struct summary d;

	if (set_params(b->fd, 0)) {
		say("late reply: cannot set up: %s\n", strerror(errno));
		return;
	}
	/* The slave child gets its own copy of @noise at fork. */
	b->sim = ksft_slave_fork(b->master, slave_late, &noise);
	fl = fcntl(b->fd, F_GETFL);
	fcntl(b->fd, F_SETFL, fl | O_NONBLOCK);
	while (read(b->fd, rx, sizeof(rx)) > 0)
		;	/* frames from earlier figures do not count */
	for (i = 0; i < N_LATE; i++) {
		n = sizeof(rx);
		t0 = ksft_now_us();
		if (ksft_xfer(b->fd, req, 5, rx, &n, 0, &status, NULL))
			status = 0;
		dur[i] = ksft_now_us() - t0;
		st[status < 6 ? status : 0]++;
		/* A reply the exchange gave up on ends up queued for read(). */
		usleep(LATE_US + 100000);
		while (read(b->fd, rx, sizeof(rx)) > 0)
			queued++;
	}
	fcntl(b->fd, F_SETFL, fl);
	ksft_slave_stop(b->sim);
	b->sim = 0;
	d = summarize(dur, N_LATE);
	say("reply starting %d ms into the window%s (retries=0, n=%d): outcome",
	    LATE_US / 1000, noise ? " behind a noise byte 00 sent at once" : "",
	    N_LATE);
	for (i = 1; i < 6; i++)
		if (st[i])
			printf(" %s x%u", status_name(i), st[i]);
	printf(", ioctl duration median %lld us (bound %lld us), frames left for read() %d\n",
	       d.median, WINDOW_US, queued);
}

/* ---- (e) memory ------------------------------------------------------- */

struct mem {
	long long avail_kb, slab_kb, vmalloc_kb, free_kb;
	long long slab_bytes;	/* /proc/slabinfo: active objects x size */
	int ncache;
	struct cache {
		char name[64];
		long long bytes;
	} cache[400];
};

static long long meminfo(const char *key)
{
	char line[256];
	long long v = -1;
	size_t k = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, k) && line[k] == ':') {
			v = atoll(line + k + 1);
			break;
		}
	fclose(f);
	return v;
}

static void mem_snap(struct mem *m)
{
	char line[512], name[64];
	long long active, num, size;
	FILE *f;

	sync();
	usleep(200000);		/* let deferred frees (RCU) settle */
	memset(m, 0, sizeof(*m));
	m->avail_kb = meminfo("MemAvailable");
	m->free_kb = meminfo("MemFree");
	m->slab_kb = meminfo("Slab");
	m->vmalloc_kb = meminfo("VmallocUsed");
	m->slab_bytes = -1;
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return;
	m->slab_bytes = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld %lld %lld", name, &active, &num,
			   &size) != 4 || name[0] == '#')
			continue;
		m->slab_bytes += active * size;
		if (m->ncache < (int)(sizeof(m->cache) / sizeof(m->cache[0]))) {
			snprintf(m->cache[m->ncache].name,
				 sizeof(m->cache[0].name), "%s", name);
			m->cache[m->ncache++].bytes = active * size;
		}
	}
	fclose(f);
}

/* The slab caches that grew most from @a to @b, per object counted. */
static void mem_top(const struct mem *a, const struct mem *b, int per)
{
	char out[512] = "";
	struct { const char *name; long long d; } top[5] = { { 0 } };
	int i, j, k, len = 0;
	long long d;

	for (i = 0; i < b->ncache; i++) {
		d = b->cache[i].bytes;
		for (j = 0; j < a->ncache; j++)
			if (!strcmp(a->cache[j].name, b->cache[i].name)) {
				d -= a->cache[j].bytes;
				break;
			}
		for (k = 0; k < 5; k++)
			if (!top[k].name || d > top[k].d)
				break;
		if (k == 5 || d <= 0)
			continue;
		memmove(&top[k + 1], &top[k], (4 - k) * sizeof(top[0]));
		top[k].name = b->cache[i].name;
		top[k].d = d;
	}
	for (k = 0; k < 5 && top[k].name; k++)
		len += snprintf(out + len, sizeof(out) - len, " %s %+lld",
				top[k].name, top[k].d / per);
	say("  largest slab growth per object (bytes):%s\n",
	    len ? out : " none");
}

static void mem_report(const char *what, const struct mem *a,
		       const struct mem *b, int per)
{
	if (b->slab_bytes >= 0)
		say("memory per %s: slabinfo active objects x size %+lld bytes; meminfo Slab %+lld bytes, VmallocUsed %+lld bytes, MemAvailable %+lld bytes, MemFree %+lld bytes (n=%d)\n",
		    what, (b->slab_bytes - a->slab_bytes) / per,
		    (b->slab_kb - a->slab_kb) * 1024 / per,
		    (b->vmalloc_kb - a->vmalloc_kb) * 1024 / per,
		    (b->avail_kb - a->avail_kb) * 1024 / per,
		    (b->free_kb - a->free_kb) * 1024 / per, per);
	else
		say("memory per %s: (no /proc/slabinfo) meminfo Slab %+lld bytes, VmallocUsed %+lld bytes, MemAvailable %+lld bytes (n=%d)\n",
		    what, (b->slab_kb - a->slab_kb) * 1024 / per,
		    (b->vmalloc_kb - a->vmalloc_kb) * 1024 / per,
		    (b->avail_kb - a->avail_kb) * 1024 / per, per);
	if (b->slab_bytes >= 0)
		mem_top(a, b, per);
}

static void bench_memory(void)
{
	static int master[N_PORTS], tty[N_PORTS], files[N_FILES];
	static struct mem m0, m1, m2, m3, m4;
	struct rlimit rl = { 4096, 4096 };
	int i, np = 0, nf = 0, index = -1, err = 0;

	setrlimit(RLIMIT_NOFILE, &rl);
	mem_snap(&m0);
	for (np = 0; np < N_PORTS; np++) {
		err = ksft_pty_open(&master[np], &tty[np]);
		if (err)
			break;
	}
	mem_snap(&m1);
	for (i = 0; i < np; i++) {
		err = ksft_mbus_attach(tty[i]);
		if (err < 0)
			break;
		if (!i)
			index = err;
	}
	mem_snap(&m2);
	if (i < np || np < N_PORTS) {
		say("memory: only %d of %d ports attached: %s\n", i, N_PORTS,
		    strerror(-err));
		np = i;
	}
	if (np) {
		mem_report("pty pair (N_TTY, for reference)", &m0, &m1, np);
		mem_report("attached port (N_TTY -> N_MBUS on a pty)", &m1, &m2,
			   np);
		say("  (switching from N_TTY frees its vmalloc'ed n_tty_data, so VmallocUsed and MemAvailable include that saving; slabinfo is N_MBUS's own growth plus the device, sysfs and devtmpfs objects)\n");
	}

	mem_snap(&m3);
	for (nf = 0; index >= 0 && nf < N_FILES; nf++) {
		files[nf] = ksft_mbus_open(index, O_RDWR);
		if (files[nf] < 0)
			break;
	}
	mem_snap(&m4);
	if (nf)
		mem_report("open file of /dev/mbusN", &m3, &m4, nf);
	if (nf < N_FILES)
		say("memory: only %d of %d files opened\n", nf, N_FILES);
	for (i = 0; i < nf; i++)
		close(files[i]);
	for (i = 0; i < np; i++) {
		ksft_mbus_detach(tty[i]);
		close(tty[i]);
		close(master[i]);
	}
}

int main(void)
{
	static const unsigned char req_ud2[] = { 0x10, 0x5b, 0x01, 0x5c, 0x16 };
	static const unsigned char snd_nke[] = { 0x10, 0x40, 0x01, 0x41, 0x16 };
	struct utsname u;
	struct bus b;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&u);
	say("kernel %s, pty pair at %d Bd (1 bit time = %.2f us), clock CLOCK_MONOTONIC\n",
	    u.release, BAUD, BIT_US);
	err = ksft_mbus_load();
	if (err) {
		say("cannot load n_mbus: %s\n", strerror(-err));
		say("done\n");
		return 1;
	}
	err = bus_open(&b);
	if (err) {
		say("cannot set up the pty bus: %s\n", strerror(-err));
		say("done\n");
		return 1;
	}
	say("wakeup latency: from the slave's write() of the reply's last byte returning to MBUS_IOC_XFER returning (negative: the master woke before the slave's write() returned)\n");
	bench_wakeup(&b, "RSP_UD 25-byte", req_ud2, MBUS_STATUS_FRAME);
	bench_wakeup(&b, "E5", snd_nke, MBUS_STATUS_ACK);
	bench_silent(&b);
	bench_silent_retries(&b);
	bench_secondary(&b);
	bench_late(&b, 0);
	bench_late(&b, 1);
	close(b.fd);
	ksft_mbus_detach(b.tty);
	close(b.tty);
	close(b.master);
	bench_memory();
	say("done\n");
	return 0;
}
