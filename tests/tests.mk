# SPDX-License-Identifier: GPL-2.0
#
# Tests: host unit tests (tests/unit/test-*.c), kselftests run in QEMU
# (tests/kselftest/*.c, static), libFuzzer targets (tests/fuzz/fuzz-*.c)
# and benchmarks (tests/bench/). All use kselftest_harness.h from
# linux-source-6.1, extracted into $(O)/ksft.

UNIT_SRCS := $(wildcard tests/unit/test-*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/unit/%)

KSFT_SRCS := $(filter-out tests/kselftest/ksft-common.c, \
	       $(wildcard tests/kselftest/*.c))
KSFT_BINS := $(KSFT_SRCS:tests/kselftest/%.c=$(O)/ksft-bin/%)
KSFT_COMMON := $(O)/tests/kselftest/ksft-common.o

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(O)/fuzz/%)
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600

$(UNIT_SRCS:%.c=$(O)/%.o) $(KSFT_SRCS:%.c=$(O)/%.o) $(KSFT_COMMON): \
	build/ksft/.stamp

# Callbacks of the scripted slaves ignore arguments as a matter of course.
$(KSFT_SRCS:%.c=$(O)/%.o) $(KSFT_COMMON): NMBUS_CFLAGS += -Wno-unused-parameter

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(LIB_A)
	$(CC) $(NMBUS_LDFLAGS) -o $@ $(filter-out $(LIB_A),$^) $(LIB_A) -lm

$(O)/ksft-bin/%: $(O)/tests/kselftest/%.o $(KSFT_COMMON) $(O)/driver/mbus_frame.o
	@mkdir -p $(dir $@)
	$(CC) -static $(LDFLAGS) -o $@ $^ -lm

# libFuzzer: the target and the library sources in one clang build.
$(O)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(wildcard lib/*.h driver/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(NMBUS_CPPFLAGS) -std=c11 -g -O1 \
		-fsanitize=fuzzer,address,undefined -o $@ $< $(LIB_SRCS) -lm

unit: $(UNIT_BINS)
ksft: $(KSFT_BINS) $(TOOL_STATIC)
fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	tests/fuzz/run $(O) $(FUZZ_SECONDS)

bench: all modules kbench ksft
	tests/bench/run $(O)

# test-sim links the simulator's objects and runs the built mbus-sim.
$(O)/tests/unit/test-sim: $(SIM_OBJS) | $(O)/tools/mbus-sim

# Kernel benchmarks: static programs run in the QEMU guest like kselftests.
KBENCH_SRCS := $(wildcard tests/bench/kbench-*.c)
KBENCH_BINS := $(KBENCH_SRCS:tests/bench/%.c=$(O)/ksft-bin/%)
$(KBENCH_SRCS:%.c=$(O)/%.o): build/ksft/.stamp
$(KBENCH_SRCS:%.c=$(O)/%.o): NMBUS_CFLAGS += -Wno-unused-parameter

$(O)/ksft-bin/kbench-%: $(O)/tests/bench/kbench-%.o $(KSFT_COMMON) \
		$(O)/driver/mbus_frame.o
	@mkdir -p $(dir $@)
	$(CC) -static $(LDFLAGS) -o $@ $^ -lm

kbench: $(KBENCH_BINS) $(TOOL_STATIC)

# The documentation's example program must keep compiling.
EXAMPLES := $(patsubst Documentation/examples/%.c,$(O)/examples/%, \
	      $(wildcard Documentation/examples/*.c))
$(O)/examples/%: Documentation/examples/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror $(SAN_FLAGS) -Ilib/include \
		-Iuapi -o $@ $< $(LIB_A) -lm
unit: $(EXAMPLES)

# mbus-attach --tcp on the host: the telnet codec, and the relay on a pty
# pair with a fake converter on loopback.
$(O)/tests/unit/test-rfc2217: $(O)/tools/rfc2217.o
$(O)/tests/unit/test-relay: $(O)/tools/attach-tcp.o $(O)/tools/rfc2217.o \
	$(O)/tools/attach-resolve.o

# test-json runs every tool with hostile arguments and parses the output.
$(O)/tests/unit/test-json: | $(TOOL_BINS)
# mbus-tcpd on the host: the server on a simulated bus, real loopback TCP.
$(O)/tests/unit/test-tcpd: $(O)/tools/tcpd.o
