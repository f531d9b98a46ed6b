// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the n_mbus kselftests.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ksft-common.h"

bool ksft_mbus_loaded(void)
{
	return access("/sys/module/" MBUS_KO_NAME, F_OK) == 0;
}

int ksft_mbus_load(void)
{
	struct utsname u;
	char path[256];
	int fd, ret;

	if (ksft_mbus_loaded())
		return 0;
	if (uname(&u))
		return -errno;
	snprintf(path, sizeof(path), "/lib/modules/%s/extra/%s.ko",
		 u.release, MBUS_KO_NAME);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret == -EEXIST ? 0 : ret;
}

int ksft_mbus_unload(void)
{
	if (syscall(SYS_delete_module, MBUS_KO_NAME, O_NONBLOCK))
		return -errno;
	return 0;
}

int ksft_mbus_refcnt(void)
{
	FILE *f = fopen("/sys/module/" MBUS_KO_NAME "/refcnt", "r");
	int n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

int ksft_pty_open(int *master, int *slave)
{
	struct termios t;
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -errno;
	if (grantpt(m) || unlockpt(m))
		goto err;
	s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		goto err;
	if (!tcgetattr(s, &t)) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	*master = m;
	*slave = s;
	return 0;
err:
	s = -errno;
	close(m);
	return s;
}

int ksft_mbus_attach(int fd)
{
	int ldisc = N_MBUS;
	__u32 index;

	if (ioctl(fd, TIOCSETD, &ldisc))
		return -errno;
	if (ioctl(fd, MBUS_IOC_GET_INDEX, &index))
		return -errno;
	return (int)index;
}

int ksft_mbus_detach(int fd)
{
	int ldisc = N_TTY;

	return ioctl(fd, TIOCSETD, &ldisc) ? -errno : 0;
}

bool ksft_mbus_node_exists(int index)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/mbus%d", index);
	return stat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

bool ksft_mbus_wait_node(int index, bool present, int ms)
{
	const struct timespec step = { 0, 1000000 };

	for (; ms > 0; ms--) {
		if (ksft_mbus_node_exists(index) == present)
			return true;
		nanosleep(&step, NULL);
	}
	return ksft_mbus_node_exists(index) == present;
}

int ksft_mbus_open(int index, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/mbus%d", index);
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int ksft_mbus_sysfs(int index, const char *attr, char *buf, int size)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/mbus/mbus%d/%s", index, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "mbus_frame.h"

int ksft_short_frame(unsigned char *buf, unsigned char c, unsigned char a)
{
	buf[0] = 0x10;
	buf[1] = c;
	buf[2] = a;
	buf[3] = (unsigned char)(c + a);
	buf[4] = 0x16;
	return 5;
}

int ksft_long_frame(unsigned char *buf, unsigned char c, unsigned char a,
		    unsigned char ci, const unsigned char *data, int n)
{
	unsigned char cs = 0;
	int i;

	buf[0] = 0x68;
	buf[1] = buf[2] = (unsigned char)(n + 3);
	buf[3] = 0x68;
	buf[4] = c;
	buf[5] = a;
	buf[6] = ci;
	if (n)
		memcpy(buf + 7, data, n);
	for (i = 4; i < 7 + n; i++)
		cs += buf[i];
	buf[7 + n] = cs;
	buf[8 + n] = 0x16;
	return n + 9;
}

int ksft_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int ksft_read_frame(int fd, unsigned char *buf, int timeout_ms)
{
	struct mbus_parser parser;
	struct mbus_rx_event ev;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long end = ksft_now_us() + (long long)timeout_ms * 1000;
	unsigned char c;
	int left, r;

	mbus_parser_init(&parser);
	for (;;) {
		left = timeout_ms < 0 ? -1 :
		       (int)((end - ksft_now_us()) / 1000);
		if (timeout_ms >= 0 && left < 0)
			return 0;
		r = poll(&pfd, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		r = read(fd, &c, 1);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		mbus_parser_push(&parser, c, MBUS_RX_NORMAL);
		while (mbus_parser_step(&parser, false, &ev) != MBUS_EV_NEED_MORE) {
			if (ev.type == MBUS_EV_FRAME) {
				memcpy(buf, ev.data, ev.len);
				return ev.len;
			}
		}
	}
}

pid_t ksft_slave_fork(int fd, ksft_slave_fn fn, void *arg)
{
	unsigned char req[MBUS_FRAME_MAX];
	pid_t pid = fork();
	int len;

	if (pid)
		return pid;
	signal(SIGTERM, SIG_DFL);
	for (;;) {
		len = ksft_read_frame(fd, req, -1);
		if (len < 0)
			_exit(0);
		fn(fd, req, len, arg);
	}
}

void ksft_slave_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

unsigned int ksft_xfer_info;

int ksft_xfer(int fd, const void *req, int len, void *rx, int *rx_len,
	      unsigned int flags, unsigned int *status, unsigned int *attempts)
{
	struct mbus_xfer x = {
		.tx_buf = (unsigned long)req,
		.rx_buf = (unsigned long)rx,
		.tx_len = len,
		.rx_len = rx_len ? *rx_len : 0,
		.flags = flags,
	};

	if (ioctl(fd, MBUS_IOC_XFER, &x))
		return -errno;
	ksft_xfer_info = x.info;
	if (rx_len)
		*rx_len = x.rx_len;
	if (status)
		*status = x.status;
	if (attempts)
		*attempts = x.attempts;
	return 0;
}

long long ksft_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

long long ksft_slack_us(long long us)
{
	return us * ksft_time_scale();
}

unsigned int ksft_time_scale(void)
{
	static int scale;
	char line[2048] = "";
	const char *p;
	FILE *f;

	if (!scale) {
		scale = 1;
		f = fopen("/proc/cmdline", "r");
		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
		}
		p = strstr(line, "nmbus_time_scale=");
		if (p && atoi(p + 17) > 1)
			scale = atoi(p + 17);
	}
	return (unsigned int)scale;
}

/* At most this many arguments, the program's name and NULL included. */
#define ARGV_MAX	32

/*
 * Fork and execute @argv (argv[0] a path). Its standard output goes to a
 * pipe whose read end lands in @out_fd; so does its standard error, to a
 * second pipe, if @err_fd is not NULL. Returns the pid or -1.
 */
static pid_t spawn(const char *const argv[], int *out_fd, int *err_fd)
{
	int out[2], err[2] = { -1, -1 };
	pid_t pid;

	if (pipe2(out, O_CLOEXEC))
		return -1;
	if (err_fd && pipe2(err, O_CLOEXEC)) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	pid = fork();
	if (!pid) {
		/* The pipes themselves close on exec. */
		dup2(out[1], STDOUT_FILENO);
		if (err_fd)
			dup2(err[1], STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	if (err_fd)
		close(err[1]);
	if (pid < 0) {
		close(out[0]);
		if (err_fd)
			close(err[0]);
		return -1;
	}
	*out_fd = out[0];
	if (err_fd)
		*err_fd = err[0];
	return pid;
}

/* Wait for @pid; its exit status, or -1 if it was killed. */
static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

pid_t ksft_sim_start(char *pty, size_t size, const char *const args[])
{
	const char *argv[ARGV_MAX] = { KSFT_TOOLS "mbus-sim", "--pty" };
	char line[128], path[64];
	ssize_t len = 0, r;
	int fd, n = 2;
	pid_t pid;

	while (*args) {
		if (n == ARGV_MAX - 1)
			return -1;
		argv[n++] = *args++;
	}
	argv[n] = NULL;
	pid = spawn(argv, &fd, NULL);
	if (pid < 0)
		return -1;
	/* "PTY /dev/pts/N\n" */
	while (len < (ssize_t)sizeof(line) - 1 && !memchr(line, '\n', len)) {
		r = read(fd, line + len, sizeof(line) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
	}
	close(fd);
	line[len] = '\0';
	if (sscanf(line, "PTY %63s", path) != 1 || strlen(path) >= size) {
		ksft_sim_stop(pid);
		return -1;
	}
	strcpy(pty, path);
	return pid;
}

void ksft_sim_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	reap(pid);
}

int ksft_mbus_attach_tty(const char *path, int *index)
{
	int fd, ret;

	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = ksft_mbus_attach(fd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	*index = ret;
	return fd;
}

int ksft_tool_run(char *out, size_t out_size, char *err, size_t err_size,
		  const char *prog, ...)
{
	const char *argv[ARGV_MAX];
	struct pollfd pfd[2] = {
		{ .fd = -1, .events = POLLIN },
		{ .fd = -1, .events = POLLIN },
	};
	char *buf[2] = { out, err };
	size_t size[2] = { out_size, err_size }, len[2] = { 0, 0 };
	char path[256];
	int i, n = 1;
	va_list ap;
	ssize_t r;
	pid_t pid;

	if (strchr(prog, '/'))
		snprintf(path, sizeof(path), "%s", prog);
	else
		snprintf(path, sizeof(path), KSFT_TOOLS "%s", prog);
	argv[0] = path;
	va_start(ap, prog);
	while ((argv[n] = va_arg(ap, const char *)) && n < ARGV_MAX - 1)
		n++;
	va_end(ap);
	if (argv[n])
		return -1;
	pid = spawn(argv, &pfd[0].fd, err ? &pfd[1].fd : NULL);
	if (pid < 0)
		return -1;
	/* Both at once: neither pipe may fill up while the other is read. */
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			r = read(pfd[i].fd, buf[i] + len[i],
				 size[i] - 1 - len[i]);
			if (r < 0 && errno == EINTR)
				continue;
			if (r > 0)
				len[i] += r;
			if (r <= 0 || len[i] == size[i] - 1) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
		}
	}
	for (i = 0; i < 2; i++) {
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
		if (buf[i])
			buf[i][len[i]] = '\0';
	}
	return reap(pid);
}

int ksft_run_capture(char *out, size_t size, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	size_t n;
	FILE *p;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (len < 0 || len >= (int)sizeof(cmd))
		return -1;
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	len = pclose(p);
	return len != -1 && WIFEXITED(len) ? WEXITSTATUS(len) : -1;
}

pid_t ksft_monitor_start(const char *mbusctl, const char *port,
			 const char *out, bool new_netns)
{
	long long end = ksft_now_us() + 10000000LL * ksft_time_scale();
	char err[256], line[256];
	FILE *f;
	pid_t pid;

	snprintf(err, sizeof(err), "%s.err", out);
	unlink(err);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (new_netns && unshare(CLONE_NEWNET))
			_exit(3);
		if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr))
			_exit(3);
		execl(mbusctl, "mbusctl", "monitor", port, (char *)NULL);
		_exit(4);
	}
	while (ksft_now_us() < end) {
		f = fopen(err, "r");
		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, "mbusctl: monitoring ")) {
				fclose(f);
				return pid;
			}
		if (f)
			fclose(f);
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		usleep(20000);
	}
	ksft_monitor_stop(pid);
	return -1;
}

void ksft_monitor_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}
