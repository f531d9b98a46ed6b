// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the telnet / RFC 2217 codec of mbus-attach --tcp
 * (tools/rfc2217.c): escaping, the receive parser with commands split
 * across reads, subnegotiations, and the com port commands' bytes.
 */
#include <string.h>

#include "kselftest_harness.h"

#include "../../tools/rfc2217.h"

#define BYTES(...)	((const uint8_t[]){ __VA_ARGS__ })

struct seen {
	int n;
	struct tn_event ev[8];
	uint8_t sb[8][TN_SB_MAX];
};

static void record(void *arg, const struct tn_event *ev)
{
	struct seen *s = arg;

	if (s->n >= 8)
		return;
	s->ev[s->n] = *ev;
	if (ev->type == TN_EV_SB) {
		memcpy(s->sb[s->n], ev->data, ev->len);
		s->ev[s->n].data = s->sb[s->n];
	}
	s->n++;
}

TEST(escaping_doubles_every_iac_and_nothing_else)
{
	uint8_t out[16];
	size_t n;

	n = tn_escape(BYTES(0x10, 0xff, 0x16, 0xff, 0xff), 5, out);
	ASSERT_EQ(8, n);
	EXPECT_EQ(0, memcmp(out, BYTES(0x10, 0xff, 0xff, 0x16, 0xff, 0xff,
				       0xff, 0xff), 8));
	EXPECT_EQ(0, tn_escape(out, 0, out));
}

TEST(the_parser_undoubles_iac_and_reports_options)
{
	static const uint8_t in[] = {
		0x68, 0xff, 0xff, 0xff, 0xfd, 0x2c, 0x16,
		0xff, 0xfb, 0x00, 0xff, 0xf1, 0x01,
	};
	struct seen s = { 0 };
	struct tn_rx rx;
	uint8_t out[32];
	size_t n;

	tn_rx_init(&rx);
	n = tn_rx_feed(&rx, in, sizeof(in), out, record, &s);
	ASSERT_EQ(4, n);
	EXPECT_EQ(0, memcmp(out, BYTES(0x68, 0xff, 0x16, 0x01), 4));
	ASSERT_EQ(3, s.n);
	EXPECT_EQ(TN_EV_OPTION, s.ev[0].type);
	EXPECT_EQ(TN_DO, s.ev[0].verb);
	EXPECT_EQ(TN_OPT_COMPORT, s.ev[0].option);
	EXPECT_EQ(TN_WILL, s.ev[1].verb);
	EXPECT_EQ(TN_OPT_BINARY, s.ev[1].option);
	EXPECT_EQ(TN_EV_COMMAND, s.ev[2].type);
	EXPECT_EQ(TN_NOP, s.ev[2].verb);
}

/* Every split point of a stream gives the same data and events. */
TEST(commands_split_across_reads_are_kept)
{
	static const uint8_t in[] = {
		0x10, 0xff, 0xff, 0xff, 0xfa, 0x2c, 0x65, 0x00, 0x00, 0x09,
		0x60, 0xff, 0xf0, 0xff, 0xfe, 0x03, 0x16,
	};
	size_t cut, n;

	for (cut = 0; cut <= sizeof(in); cut++) {
		struct seen s = { 0 };
		struct tn_rx rx;
		uint8_t out[32];
		uint32_t v = 0;
		uint8_t cmd = 0;

		tn_rx_init(&rx);
		n = tn_rx_feed(&rx, in, cut, out, record, &s);
		n += tn_rx_feed(&rx, in + cut, sizeof(in) - cut, out + n,
				record, &s);
		ASSERT_EQ(3, n);
		EXPECT_EQ(0, memcmp(out, BYTES(0x10, 0xff, 0x16), 3));
		ASSERT_EQ(2, s.n);
		EXPECT_EQ(TN_EV_SB, s.ev[0].type);
		EXPECT_EQ(TN_OPT_COMPORT, s.ev[0].option);
		EXPECT_TRUE(cpo_parse_reply(&s.ev[0], &cmd, &v));
		EXPECT_EQ(CPO_SET_BAUDRATE, cmd);
		EXPECT_EQ(2400, v);
		EXPECT_EQ(TN_DONT, s.ev[1].verb);
		EXPECT_EQ(TN_OPT_SGA, s.ev[1].option);
	}
}

TEST(an_escaped_iac_inside_a_subnegotiation_is_one_byte)
{
	static const uint8_t in[] = {
		0xff, 0xfa, 0x2c, 0x6e, 0xff, 0xff, 0xff, 0xf0,
	};
	struct seen s = { 0 };
	struct tn_rx rx;
	uint8_t out[8];
	uint32_t v;
	uint8_t cmd;

	tn_rx_init(&rx);
	EXPECT_EQ(0, tn_rx_feed(&rx, in, sizeof(in), out, record, &s));
	ASSERT_EQ(1, s.n);
	ASSERT_EQ(2, s.ev[0].len);
	EXPECT_TRUE(cpo_parse_reply(&s.ev[0], &cmd, &v));
	EXPECT_EQ(CPO_SET_LINESTATE_MASK, cmd);
	EXPECT_EQ(0xff, v);
}

TEST(an_overlong_subnegotiation_is_cut_and_flagged)
{
	uint8_t in[TN_SB_MAX + 16], out[8];
	struct seen s = { 0 };
	struct tn_rx rx;
	size_t i = 0;

	in[i++] = 0xff;
	in[i++] = 0xfa;
	in[i++] = 0x2c;
	while (i < sizeof(in) - 2)
		in[i++] = 0x41;
	in[i++] = 0xff;
	in[i++] = 0xf0;
	tn_rx_init(&rx);
	EXPECT_EQ(0, tn_rx_feed(&rx, in, sizeof(in), out, record, &s));
	ASSERT_EQ(1, s.n);
	EXPECT_TRUE(s.ev[0].truncated);
	EXPECT_EQ(TN_SB_MAX, s.ev[0].len);
}

TEST(com_port_commands_have_the_rfc_2217_bytes)
{
	uint8_t out[32];
	size_t n;

	n = cpo_set_baud(out, 2400);
	ASSERT_EQ(10, n);
	EXPECT_EQ(0, memcmp(out, BYTES(0xff, 0xfa, 0x2c, 0x01, 0x00, 0x00,
				       0x09, 0x60, 0xff, 0xf0), n));
	n = cpo_set_u8(out, CPO_SET_PARITY, CPO_PARITY_EVEN);
	ASSERT_EQ(7, n);
	EXPECT_EQ(0, memcmp(out, BYTES(0xff, 0xfa, 0x2c, 0x03, 0x03, 0xff,
				       0xf0), n));
	/* A value byte FF is doubled inside the subnegotiation too. */
	n = cpo_set_baud(out, 0x0000ff00);
	ASSERT_EQ(11, n);
	EXPECT_EQ(0, memcmp(out + 4, BYTES(0x00, 0x00, 0xff, 0xff, 0x00), 5));
	n = tn_option(out, TN_WILL, TN_OPT_COMPORT);
	EXPECT_EQ(0, memcmp(out, BYTES(0xff, 0xfb, 0x2c), n));
}

TEST(replies_that_are_not_com_port_answers_are_rejected)
{
	struct tn_event ev = { .type = TN_EV_SB, .option = TN_OPT_COMPORT };
	uint32_t v;
	uint8_t cmd;

	ev.data = BYTES(0x01, 0x00, 0x00, 0x09, 0x60);	/* client's command */
	ev.len = 5;
	EXPECT_FALSE(cpo_parse_reply(&ev, &cmd, &v));
	ev.data = BYTES(0x65, 0x00, 0x09);		/* baud too short */
	ev.len = 3;
	EXPECT_FALSE(cpo_parse_reply(&ev, &cmd, &v));
	ev.option = TN_OPT_BINARY;
	ev.data = BYTES(0x66, 0x08);
	ev.len = 2;
	EXPECT_FALSE(cpo_parse_reply(&ev, &cmd, &v));
}

TEST_HARNESS_MAIN
