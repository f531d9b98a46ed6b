// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of libnmbus's number writers (lib/output.c), which stand in
 * for printf in the JSON and XML: each is compared with snprintf() over
 * the edge cases and a few million pseudo-random values.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <nmbus.h>
#include "nmbus-internal.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* 0 if nmbus_out_fixed6(@v) is printf's "%f" of @v, else 1 (logged). */
static int fixed6_differs(struct __test_metadata *_metadata, double v)
{
	char want[400], got[400];
	struct nmbus_out o = { .buf = got, .size = sizeof(got) - 1 };

	snprintf(want, sizeof(want), "%f", v);
	nmbus_out_fixed6(&o, v);
	got[o.pos] = '\0';
	if (!strcmp(want, got))
		return 0;
	TH_LOG("%a: printf '%s', nmbus '%s'", v, want, got);
	return 1;
}

TEST(fixed6_is_printf_f_at_the_edges)
{
	static const double v[] = {
		0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 1e-7, -1e-7, 4e-7, 5e-7,
		0.0000005, 0.0000015, 0.0000025, 0.9999995, 0.99999949999,
		9.9999995, 999999.9999995, 1.0 / 128, 3.0 / 128, -1.0 / 128,
		1.0 / 1024, 0x1p-20, 0x1p-43, 0x1p-44, 0x1p-59, 0x1p-60,
		0x1.fffffffffffffp-60, 0x1p-108, 0x1p-109, 1e-300, -1e-300,
		5e-324, 0x1p52, 0x1p53 + 2, 0x1p63, 0x1.fffffffffffffp63,
		0x1p64, 1.8e19, 1e300, -1e300, 123456.789, 0.001, 0.1,
		1e15 + 0.3, 4503599627370495.5, 9007199254740993.0,
		INFINITY, -INFINITY, NAN, -NAN,
	};
	int bad = 0;

	for (unsigned int i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		bad += fixed6_differs(_metadata, v[i]);
	EXPECT_EQ(0, bad);
}

TEST(fixed6_is_printf_f_for_random_values)
{
	uint64_t s = 88172645463325252ULL;
	int bad = 0;

	for (int i = 0; i < 500000 && bad < 10; i++) {
		uint64_t r = xorshift(&s);
		double v;

		switch (i & 3) {
		case 0:		/* any bit pattern */
			memcpy(&v, &r, sizeof(v));
			break;
		case 1:		/* binary fractions, exact ties among them */
			v = ldexp((double)(int64_t)(r >> 20), -(int)(r & 63));
			break;
		case 2:		/* meter-like decimals */
			v = (double)(int64_t)(r % 2000000001) * 1e-9;
			break;
		default:	/* values times the VIF powers of ten */
			v = (double)(r >> 32) * pow(10, (int)(r % 19) - 12);
			break;
		}
		bad += fixed6_differs(_metadata, v);
	}
	EXPECT_EQ(0, bad);
}

static void check_uint(struct __test_metadata *_metadata, uint64_t v,
		       size_t room)
{
	char want[32], got[32];
	struct nmbus_out o = { .buf = got, .size = room };
	int n = snprintf(want, sizeof(want), "%llu", (unsigned long long)v);

	nmbus_out_uint(&o, v);
	EXPECT_EQ((size_t)n, nmbus_out_total(&o));
	EXPECT_EQ(0, memcmp(want, got, o.pos < (size_t)n ? o.pos : (size_t)n))
		TH_LOG("%s", want);
}

TEST(uint_is_printf_llu_with_and_without_room)
{
	uint64_t s = 1;

	check_uint(_metadata, 0, 32);
	check_uint(_metadata, UINT64_MAX, 32);
	check_uint(_metadata, UINT64_MAX, 19);
	for (uint64_t p = 1; p && p <= UINT64_MAX / 10; p *= 10) {
		check_uint(_metadata, p - 1, 32);
		check_uint(_metadata, p, 32);
		check_uint(_metadata, p * 10 - 1, 3);
	}
	for (int i = 0; i < 100000; i++) {
		uint64_t r = xorshift(&s);

		check_uint(_metadata, r >> (r & 63), 32);
	}
}

TEST_HARNESS_MAIN
