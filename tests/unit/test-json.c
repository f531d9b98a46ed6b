// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The one JSON string writer (nmbus_json_string_format() and _print())
 * and the --json output of every tool fed hostile strings: quotes,
 * backslashes, control characters, bytes from 0x7f on and invalid UTF-8,
 * as DEVICE, ADDRESS and the other string arguments. No device is needed:
 * the tools run their error paths (a DEVICE that does not exist), and
 * mbus-decode prints hostile meter text. Every line a tool writes to
 * standard output must parse with a real JSON parser (python3's json,
 * strict: UTF-8, no control characters, no NaN).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nmbus.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

/* ---- the writer --------------------------------------------------------- */

/* The writer's output for @len bytes of @s, NUL-terminated in @buf. */
static ssize_t fmt(const char *s, size_t len, char *buf, size_t size)
{
	return nmbus_json_string_format(s, len, buf, size);
}

TEST(writer_escapes_quote_backslash_and_control_characters)
{
	static const char in[] = "a\"b\\c\x01\t\n\x1f/";
	char out[128];

	EXPECT_EQ(34, fmt(in, sizeof(in) - 1, out, sizeof(out)));
	EXPECT_STREQ("\"a\\\"b\\\\c\\u0001\\u0009\\u000A\\u001F/\"", out);
}

TEST(writer_escapes_every_byte_from_0x7f_as_its_latin1_code_point)
{
	char in[256], out[256 * 6 + 3], want[256 * 6 + 3];
	size_t k = 0;

	want[k++] = '"';
	for (int c = 0; c < 256; c++) {
		in[c] = (char)c;
		if (c == '"' || c == '\\')
			k += sprintf(want + k, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			k += sprintf(want + k, "\\u%04X", c);
		else
			want[k++] = (char)c;
	}
	want[k++] = '"';
	want[k] = '\0';
	EXPECT_EQ((ssize_t)k, fmt(in, sizeof(in), out, sizeof(out)));
	EXPECT_STREQ(want, out);
}

TEST(writer_keeps_nul_bytes_and_prints_the_empty_string)
{
	char out[32];

	EXPECT_EQ(10, fmt("a\0b", 3, out, sizeof(out)));
	EXPECT_STREQ("\"a\\u0000b\"", out);
	EXPECT_EQ(2, fmt(NULL, 0, out, sizeof(out)));
	EXPECT_STREQ("\"\"", out);
}

TEST(writer_format_truncates_like_snprintf)
{
	char out[8];

	memset(out, 'x', sizeof(out));
	EXPECT_EQ(10, fmt("\"\"\"\"", 4, out, 6));
	EXPECT_STREQ("\"\\\"\\\"", out);
	EXPECT_EQ('x', out[6]);
	EXPECT_EQ(14, fmt("\xff\xfe", 2, NULL, 0));
	memset(out, 'x', sizeof(out));
	EXPECT_EQ(3, fmt("a", 1, out, 1));
	EXPECT_EQ('\0', out[0]);
	EXPECT_EQ('x', out[1]);
}

TEST(writer_rejects_bad_arguments)
{
	char out[8];

	EXPECT_EQ(-EINVAL, fmt(NULL, 1, out, sizeof(out)));
	EXPECT_EQ(-EINVAL, fmt("a", 1, NULL, 4));
	EXPECT_EQ(-EINVAL, nmbus_json_string_print("a", 1, NULL));
	EXPECT_EQ(-EINVAL, nmbus_json_string_print(NULL, 2, stdout));
}

TEST(writer_print_writes_what_format_does_also_past_its_chunk)
{
	static char in[5000], want[5000 * 6 + 3];
	char *got = NULL;
	size_t got_len = 0;
	ssize_t n;
	FILE *fp;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 37 + 11);
	n = fmt(in, sizeof(in), want, sizeof(want));
	ASSERT_LT(0, n);
	fp = open_memstream(&got, &got_len);
	ASSERT_NE(NULL, fp);
	EXPECT_EQ(n, nmbus_json_string_print(in, sizeof(in), fp));
	ASSERT_EQ(0, fclose(fp));
	EXPECT_EQ((size_t)n, got_len);
	EXPECT_STREQ(want, got);
	free(got);
}

TEST(writer_print_reports_a_write_error)
{
	FILE *fp = fopen("/dev/full", "w");

	if (!fp)
		SKIP(return, "no /dev/full");
	setvbuf(fp, NULL, _IONBF, 0);
	EXPECT_EQ(-ENOSPC, nmbus_json_string_print("abc", 3, fp));
	fclose(fp);
}

/* ---- a real JSON parser ------------------------------------------------- */

/*
 * python3: every line of each file in argv[2] (a file, or a directory of
 * files) one JSON value, strictly (UTF-8, no raw control characters, no
 * NaN or Infinity); a trailing newline is allowed, an empty line is not.
 * With argv[1] "latin1", each line is also one string whose Latin-1 bytes
 * are printed back in hex, one line each. Last line: "lines N".
 */
static const char checker[] =
	"import json, os, sys\n"
	"def bad(c):\n"
	"    raise ValueError('not JSON: ' + c)\n"
	"p = sys.argv[2]\n"
	"files = [os.path.join(p, f) for f in sorted(os.listdir(p))] \\\n"
	"    if os.path.isdir(p) else [p]\n"
	"n = 0\n"
	"for path in files:\n"
	"    lines = open(path, 'rb').read().split(b'\\n')\n"
	"    if lines and lines[-1] == b'':\n"
	"        lines.pop()\n"
	"    for i, line in enumerate(lines):\n"
	"        try:\n"
	"            v = json.loads(line.decode('utf-8'), parse_constant=bad)\n"
	"        except Exception as e:\n"
	"            print('%s line %d: %r: %s' % (path, i + 1, line, e))\n"
	"            sys.exit(1)\n"
	"        if sys.argv[1] == 'latin1':\n"
	"            print(v.encode('latin-1').hex())\n"
	"        n += 1\n"
	"print('lines %d' % n)\n";

static bool have_python(void)
{
	return system("python3 -c '' >/dev/null 2>&1") == 0;
}

/*
 * Run the checker on @path; its output in @out. Returns the number of
 * lines it parsed, or -1 if one did not parse (the reason is in @out).
 */
static int parse_lines(const char *path, const char *mode, char *out,
		       size_t size)
{
	char *argv[] = { "python3", "-c", (char *)checker,
			 (char *)(mode ? mode : "json"), (char *)path, NULL };
	int p[2], st, lines = -1;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (n + 1 < size && (r = read(p[0], out + n, size - 1 - n)) > 0)
		n += r;
	out[n] = '\0';
	close(p[0]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st))
		return -1;
	{
		const char *l = strstr(out, "lines ");

		if (l)
			lines = atoi(l + 6);
	}
	return lines;
}

/* ---- the tools ---------------------------------------------------------- */

/* <O>/tests/unit/test-json -> <O>/tools/@prog */
static bool tool_path(const char *prog, char *path, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return false;
	self[n] = '\0';
	snprintf(path, size, "%s/../../tools/%s", dirname(self), prog);
	return access(path, X_OK) == 0;
}

/*
 * Run @argv (argv[0] a tool's name) with standard output into @out_path,
 * standard error and input on /dev/null, or @input on standard input.
 * Returns its exit status, -2 if it died of a signal, -1 if not run.
 */
static int run_tool(char *const argv[], const char *out_path,
		    const char *input)
{
	char path[PATH_MAX];
	int st, in[2] = { -1, -1 };
	ssize_t w;
	pid_t pid;

	if (!tool_path(argv[0], path, sizeof(path)))
		return -1;
	if (input && pipe(in))
		return -1;
	pid = fork();
	if (pid == 0) {
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int null = open("/dev/null", O_RDWR);

		dup2(input ? in[0] : null, 0);
		dup2(out, 1);
		dup2(null, 2);
		if (input)
			close(in[1]);
		execv(path, argv);
		_exit(127);
	}
	if (input) {
		close(in[0]);
		/* the tool may exit before it reads: no SIGPIPE then */
		signal(SIGPIPE, SIG_IGN);
		w = write(in[1], input, strlen(input));
		(void)w;
		close(in[1]);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -2;
}

static const char *const hostile[] = {
	"quote\"d",
	"back\\slash\\",
	"\"}{\"injected\":\"",
	"ctl\x01\x02\x1f\x7f",
	"tab\tnew\nline\rcr",
	"high\x80\xa0\xff",
	"bad-utf8\xc3\x28\xe2\x82",
	"surrogate\xed\xa0\x80",
	"overlong\xc0\xaf",
	"valid-utf8-\xc3\xa9\xe2\x82\xac",
	"",
};

#define N_HOSTILE (sizeof(hostile) / sizeof(hostile[0]))
#define MAX_ARGS 8

/*
 * One way of calling a tool: its arguments, H standing for the hostile
 * string and NX for a DEVICE that does not exist.
 */
struct call {
	const char *args[MAX_ARGS];
};

static const struct call calls[] = {
	{ { "mbus-cmd", "--json", "H", "1", "reset" } },
	{ { "mbus-cmd", "--json", "NX", "H", "reset" } },
	{ { "mbus-cmd", "--json", "NX", "1", "H" } },
	{ { "mbus-cmd", "--json", "NX", "255", "elvaco", "H" } },
	{ { "mbus-set-address", "--json", "H", "1", "2" } },
	{ { "mbus-set-address", "--json", "NX", "H", "2" } },
	{ { "mbus-set-address", "--json", "NX", "1", "H" } },
	{ { "mbus-set-baud", "--json", "H", "1", "9600" } },
	{ { "mbus-set-baud", "--json", "NX", "H", "9600" } },
	{ { "mbus-set-baud", "--json", "NX", "1", "H" } },
	{ { "mbus-scan", "--json", "H" } },
	{ { "mbus-scan", "--json", "--secondary=H", "NX" } },
	{ { "mbus-scan", "--json", "--range=H", "NX" } },
	{ { "mbus-send", "--json", "H", "10 40 01 41 16" } },
	{ { "mbus-send", "--json", "NX", "H" } },
	{ { "mbus-read", "--format=json", "H", "1" } },
	{ { "mbus-read", "--format=json", "NX", "H" } },
	{ { "mbus-decode", "--format=json", "NX" } },
	{ { "mbusctl", "--json", "show", "H" } },
	{ { "mbusctl", "--json", "list" } },
	{ { "mbusctl", "--json", "monitor", "H" } },
};

FIXTURE(out) {
	char path[64];
	char log[8192];
};

FIXTURE_SETUP(out)
{
	int fd;

	snprintf(self->path, sizeof(self->path), "/tmp/test-json.XXXXXX");
	fd = mkstemp(self->path);
	ASSERT_LE(0, fd);
	close(fd);
}

FIXTURE_TEARDOWN(out)
{
	unlink(self->path);
}

/*
 * Each run's standard output is a file of its own in a scratch directory
 * (named CALL-STRING, so a bad line names its run); one python3 then
 * parses them all.
 */
TEST_F_TIMEOUT(out, every_tool_prints_only_valid_json_for_hostile_arguments,
	       300)
{
	char dir[64] = "/tmp/test-json.d.XXXXXX", nx[64], file[96];
	char *argv[MAX_ARGS + 1];
	int runs = 0, n;

	if (!have_python())
		SKIP(return, "python3 missing");
	ASSERT_NE(NULL, mkdtemp(dir));
	for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
		const struct call *k = &calls[c];
		char path[PATH_MAX];

		if (!tool_path(k->args[0], path, sizeof(path))) {
			TH_LOG("%s not built: not run", k->args[0]);
			continue;
		}
		for (size_t h = 0; h < N_HOSTILE; h++) {
			size_t a;
			int st;

			snprintf(nx, sizeof(nx), "/nonexistent/%s", hostile[h]);
			for (a = 0; a < MAX_ARGS && k->args[a]; a++) {
				const char *s = k->args[a];

				if (!strcmp(s, "H"))
					s = hostile[h];
				else if (!strcmp(s, "NX"))
					s = nx;
				else if (!strcmp(s, "--secondary=H"))
					s = "--secondary=\x01\"";
				else if (!strcmp(s, "--range=H"))
					s = "--range=\"\\\xff";
				argv[a] = (char *)s;
			}
			argv[a] = NULL;
			snprintf(file, sizeof(file), "%s/%02zu-%02zu", dir, c, h);
			st = run_tool(argv, file, NULL);
			EXPECT_LE(0, st) TH_LOG("%s, string %zu: %s", k->args[0],
						h, st == -2 ?
						"killed by a signal" :
						"not run");
			runs++;
		}
	}
	n = parse_lines(dir, NULL, self->log, sizeof(self->log));
	EXPECT_LE(0, n) TH_LOG("%s", self->log);
	TH_LOG("%d runs, %d lines of output parsed", runs, n);
	EXPECT_LT(0, runs);
	snprintf(file, sizeof(file), "rm -rf '%s'", dir);
	EXPECT_EQ(0, system(file));
}

/* A long frame, checksummed, with @ud as its user data after CI 72. */
static void long_frame_hex(const uint8_t *ud, size_t n, char *out)
{
	uint8_t f[260] = { 0x68, (uint8_t)(n + 3), (uint8_t)(n + 3), 0x68,
			   0x08, 0x01, 0x72 };
	uint8_t sum = 0x08 + 0x01 + 0x72;
	size_t len = 7;

	memcpy(f + len, ud, n);
	len += n;
	for (size_t i = 0; i < n; i++)
		sum += ud[i];
	f[len++] = sum;
	f[len++] = 0x16;
	for (size_t i = 0; i < len; i++)
		out += sprintf(out, "%02X ", f[i]);
	strcpy(out, "\n");
}

/* The checker itself: what the tools printed before must fail it. */
TEST_F(out, checker_rejects_what_printf_used_to_print)
{
	static const char *const bad[] = {
		"{\"device\":\"quote\"d\"}\n",
		"{\"device\":\"ctl\x01\"}\n",
		"{\"device\":\"high\xff\"}\n",
		"{\"manufacturer\":\"\\\\\\\"}\n",
		"{\"ok\":true}\n\n",
		"{\"value\":NaN}\n",
	};
	char log[512];

	if (!have_python())
		SKIP(return, "python3 missing");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *fp = fopen(self->path, "w");

		ASSERT_NE(NULL, fp);
		fputs(bad[i], fp);
		ASSERT_EQ(0, fclose(fp));
		EXPECT_EQ(-1, parse_lines(self->path, NULL, log, sizeof(log)))
			TH_LOG("accepted: %s", bad[i]);
	}
}

TEST_F(out, mbus_decode_prints_hostile_meter_text_as_valid_json)
{
	/* Manufacturer 0x739C: three letters 28, each a backslash. */
	static const uint8_t ud[] = {
		0x78, 0x56, 0x34, 0x12, 0x9c, 0x73, 0x01, 0x07,
		0x10, 0x00, 0x00, 0x00,
		/* DIF 0D VIF 7C: plain-text unit, then the text value */
		0x0d, 0x7c, 0x05, 'k', '"', '\\', 0x02, 0xfe,
		0x0c, 'a', '"', 'b', '\\', 'c', 0x01, 0x1f, 0x7f, 0x80,
		0xff, 0xc3, 0x28,
	};
	char hex[2048], *argv[] = { "mbus-decode", NULL };
	FILE *fp;
	int n;

	if (!have_python())
		SKIP(return, "python3 missing");
	if (!tool_path("mbus-decode", hex, sizeof(hex)))
		SKIP(return, "mbus-decode not built");
	long_frame_hex(ud, sizeof(ud), hex);
	ASSERT_EQ(0, run_tool(argv, self->path, hex));
	n = parse_lines(self->path, NULL, self->log, sizeof(self->log));
	EXPECT_EQ(1, n) TH_LOG("%s", self->log);
	fp = fopen(self->path, "r");
	ASSERT_NE(NULL, fp);
	n = fread(hex, 1, sizeof(hex) - 1, fp);
	fclose(fp);
	hex[n > 0 ? n : 0] = '\0';
	EXPECT_NE(NULL, strstr(hex, "\"manufacturer\":\"\\\\\\\\\\\\\"")) TH_LOG(
		"%s", hex);
	EXPECT_NE(NULL, strstr(hex, "\"value\":\"(\\u00C3\\u00FF\\u0080"
			       "\\u007F\\u001F\\u0001c\\\\b\\\"a\""))
		TH_LOG("%s", hex);
}

TEST_F(out, writer_output_parses_back_to_the_same_bytes)
{
	char buf[64 * 6 + 3];
	FILE *fp;
	char want[8192] = "";
	size_t k = 0;

	if (!have_python())
		SKIP(return, "python3 missing");
	fp = fopen(self->path, "w");
	ASSERT_NE(NULL, fp);
	/* all 256 bytes, 64 to a line, and the hostile strings */
	for (int line = 0; line < 4; line++) {
		char in[64];

		for (int i = 0; i < 64; i++)
			in[i] = (char)(line * 64 + i);
		ASSERT_LT(0, fmt(in, sizeof(in), buf, sizeof(buf)));
		fprintf(fp, "%s\n", buf);
		for (int i = 0; i < 64; i++)
			k += sprintf(want + k, "%02x", (uint8_t)in[i]);
		want[k++] = '\n';
	}
	for (size_t h = 0; h < N_HOSTILE; h++) {
		ASSERT_LT(0, nmbus_json_string_print(hostile[h],
						     strlen(hostile[h]), fp));
		fputc('\n', fp);
		for (const char *p = hostile[h]; *p; p++)
			k += sprintf(want + k, "%02x", (uint8_t)*p);
		want[k++] = '\n';
	}
	want[k] = '\0';
	ASSERT_EQ(0, fclose(fp));
	EXPECT_EQ((int)(4 + N_HOSTILE),
		  parse_lines(self->path, "latin1", self->log,
			      sizeof(self->log)))
		TH_LOG("%s", self->log);
	EXPECT_EQ(0, strncmp(want, self->log, k)) TH_LOG("%s", self->log);
}

TEST_HARNESS_MAIN
