// SPDX-License-Identifier: GPL-2.0
/*
 * N_MBUS on a real UART driver: ttyS2 is a 16550 emulated by QEMU whose
 * far end is mbus-sim outside the guest (tests/qemu/uart-bus.conf: a heat
 * meter at address 1 whose every third reply is a break). This shows what
 * a pty cannot: 8E1 kept by the driver, breaks sent and received.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

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

FIXTURE(uart) {
	int tty;
	int fd;
	int index;
};

FIXTURE_SETUP(uart)
{
	self->tty = -1;
	self->fd = -1;
	if (!sim_expected())
		SKIP(return, "no simulator on ttyS2 (not started by tests/qemu/run-ksft: mbus-sim not built)");
	ASSERT_EQ(0, ksft_mbus_load());
	self->tty = open("/dev/ttyS2", O_RDWR | O_NOCTTY);
	ASSERT_LE(0, self->tty);
	self->index = ksft_mbus_attach(self->tty);
	ASSERT_LE(0, self->index);
	self->fd = ksft_mbus_open(self->index, O_RDWR);
	ASSERT_LE(0, self->fd);
}

/* A SKIP in the setup does not stop the test body: every test asks. */
#define SKIP_IF_NO_SIM() do {						\
		if (self->fd < 0)					\
			return;						\
	} while (0)

FIXTURE_TEARDOWN(uart)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->tty >= 0)
		close(self->tty);
}

static unsigned int req_ud2(int fd, int *len)
{
	unsigned char req[8], rx[MBUS_FRAME_MAX];
	unsigned int status = ~0U;

	*len = sizeof(rx);
	ksft_short_frame(req, 0x5b, 1);
	if (ksft_xfer(fd, req, 5, rx, len, 0, &status, NULL))
		return ~0U;
	return status;
}

/*
 * Every third reply of the bus is a break. The count runs per boot, over
 * all tests on this bus: find the phase first (at most three requests up
 * to a break), then two telegrams and a break follow.
 */
TEST_F(uart, replies_come_through_the_uart_and_a_break_ends_the_window)
{
	struct mbus_params p = { .retries = 0 };
	struct mbus_stats st0, st;
	unsigned int status = 0;
	int i, len;

	SKIP_IF_NO_SIM();
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	for (i = 0; i < 3 && status != MBUS_STATUS_BREAK; i++) {
		status = req_ud2(self->fd, &len);
		ASSERT_TRUE(status == MBUS_STATUS_FRAME ||
			    status == MBUS_STATUS_BREAK);
	}
	ASSERT_EQ(MBUS_STATUS_BREAK, status);
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_STATS, &st0));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, &len));
	EXPECT_LT(20, len);
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, &len));
	EXPECT_EQ(MBUS_STATUS_BREAK, req_ud2(self->fd, &len));
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_STATS, &st));
	EXPECT_EQ(1, st.breaks - st0.breaks);
	EXPECT_EQ(2, st.rx_frames - st0.rx_frames);
	EXPECT_EQ(0, st.parity_errors - st0.parity_errors);
	EXPECT_EQ(0, st.framing_errors - st0.framing_errors);
}

TEST_F(uart, send_break_holds_the_line_for_the_time_asked)
{
	__u32 ms = 100;
	long long t0 = ksft_now_us(), took;

	SKIP_IF_NO_SIM();
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SEND_BREAK, &ms));
	took = ksft_now_us() - t0;
	TH_LOG("a 100 ms break took %lld us", took);
	EXPECT_LE(100000, took);
	EXPECT_GT(300000, took);
	ms = MBUS_BREAK_MS_MAX + 1;
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SEND_BREAK, &ms));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(uart, the_driver_keeps_8e1_and_takes_every_standard_rate)
{
	static const __u32 rates[] = { 300, 9600, 38400, 2400 };
	struct termios t;
	unsigned int i;
	__u32 b;

	SKIP_IF_NO_SIM();
	for (i = 0; i < 4; i++) {
		b = rates[i];
		ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_BAUD, &b));
		ASSERT_EQ(0, tcgetattr(self->tty, &t));
		EXPECT_TRUE(t.c_cflag & PARENB);
		EXPECT_EQ(CS8, t.c_cflag & CSIZE);
		EXPECT_EQ(rates[i], (__u32)(cfgetospeed(&t) == B300 ? 300 :
				      cfgetospeed(&t) == B9600 ? 9600 :
				      cfgetospeed(&t) == B38400 ? 38400 :
				      cfgetospeed(&t) == B2400 ? 2400 : 0));
	}
}

TEST_HARNESS_MAIN
