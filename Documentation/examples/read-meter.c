// SPDX-License-Identifier: MIT
/*
 * read-meter: read every telegram of one meter and print its records.
 *
 *	cc -o read-meter read-meter.c $(pkg-config --cflags --libs libnmbus)
 *	./read-meter mbus0 5
 *	./read-meter /dev/mbus0 12345678FFFFFFFF
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nmbus.h>

#define MAX_RECORDS 128

static int print_telegram(const uint8_t *buf, size_t len, unsigned int index,
			  void *arg)
{
	struct nmbus_record records[MAX_RECORDS];
	struct nmbus_frame frame;
	struct nmbus_value val;
	unsigned int i;

	(void)arg;
	if (nmbus_decode(&frame, buf, len, records, MAX_RECORDS)) {
		fprintf(stderr, "telegram %u: %s at byte %u\n", index,
			nmbus_strerror(frame.error.code), frame.error.offset);
		return 0;	/* print what was valid below all the same */
	}
	for (i = 0; i < frame.n_records; i++) {
		if (nmbus_record_get_value(&frame, &records[i], &val))
			continue;
		if (val.type == NMBUS_VALUE_NUMBER)
			printf("telegram %u record %u: %s %g %s\n", index, i,
			       val.quantity, val.number,
			       nmbus_unit_name(val.unit));
	}
	/* Or the architecture's JSON, one line: */
	nmbus_frame_print(&frame, NMBUS_FORMAT_JSON, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t sec[NMBUS_SECADDR_LEN];
	struct nmbus_dev *dev;
	int n, ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s DEVICE ADDRESS\n", argv[0]);
		return 2;
	}
	/* Every libnmbus function reports an error as a negative errno. */
	ret = nmbus_dev_open(argv[1], &dev);
	if (ret) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	if (strlen(argv[2]) == NMBUS_SECADDR_STRLEN &&
	    !nmbus_secaddr_parse(argv[2], sec))
		ret = nmbus_dev_set_secondary(dev, sec);
	else
		ret = nmbus_dev_set_primary(dev, (uint8_t)atoi(argv[2]));
	if (ret) {
		fprintf(stderr, "%s: %s\n", argv[2], strerror(-ret));
		nmbus_dev_close(dev);
		return 2;
	}
	/* REQ_UD2 with the FCB managed by the kernel, following DIF 1F. */
	n = nmbus_read_telegrams(dev, 16, print_telegram, NULL);
	if (n < 0)
		fprintf(stderr, "read: %s\n", strerror(-n));
	nmbus_dev_close(dev);
	return n < 0;
}
