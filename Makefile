# SPDX-License-Identifier: GPL-2.0
#
# n_mbus: one build for the kernel module, libnmbus, the tools and the tests.
#
#   make              module (for KVER), library, tools
#   make deps         install every Debian package the build and tests need
#   make check        all test lanes; ends with "N passed, N failed"
#   make demo         the main job on a simulated bus, in QEMU
#   make ksft-debug   the kselftests on the debug kernel (built once, cached)
#   make bench        benchmarks (figures, not pass/fail)
#   make fuzz         long fuzzing runs (FUZZ_SECONDS per target)
#   make SAN=1 ...    user space with ASan/UBSan (objects in build-san/)

VERSION := 0.1.0

KVERS := $(shell scripts/kernels)
KVER ?= $(lastword $(KVERS))
KDIR ?= /lib/modules/$(KVER)/build

ifeq ($(SAN),1)
O ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=all
else
O ?= build
SAN_FLAGS :=
endif

CC ?= cc
CFLAGS ?= -O2 -g
NMBUS_CPPFLAGS := -Iuapi -Ilib/include -Ilib -Idriver -isystem build/ksft -D_GNU_SOURCE \
		  -DNMBUS_VERSION=\"$(VERSION)\"
NMBUS_CFLAGS := -std=c11 -Wall -Wextra -Werror -fPIC $(SAN_FLAGS) $(CFLAGS)
NMBUS_LDFLAGS := $(SAN_FLAGS) $(LDFLAGS)

# Every user-space object, from any directory, is built the same way.
$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(NMBUS_CPPFLAGS) $(NMBUS_CFLAGS) $(CPPFLAGS) -MMD -MP -c -o $@ $<

.PHONY: all module lib tools gateway deps check demo bench fuzz clean unit \
	ksft ksft-debug \
	static-checks install

all: module lib tools gateway

# Keep objects that only serve as steps to a program.
.SECONDARY:

include lib/lib.mk
include tools/tools.mk
include gateway/gateway.mk
include tests/tests.mk
include install.mk

# The module is built out of the source tree, one directory per kernel,
# from symlinks to the sources, so 6.1 and 6.12 objects never mix. Our O=
# must not reach Kbuild, for which it names the kernel's output tree.
KMOD_SRCS := Kbuild $(wildcard driver/*.c driver/*.h) uapi/linux/mbus.h

$(O)/kmod/%/n_mbus.ko: $(KMOD_SRCS)
	scripts/kmod-tree $(O)/kmod/$* $(KMOD_SRCS)
	$(MAKE) -C $(if $(filter $*,$(KVER)),$(KDIR),/lib/modules/$*/build) \
		M=$(CURDIR)/$(O)/kmod/$* O= W=1 modules

module: $(O)/kmod/$(KVER)/n_mbus.ko

# The test-only tty driver of the kselftests (tests/tline/), built the same
# way for every kernel; never installed.
TLINE_SRCS := $(wildcard tests/tline/Kbuild tests/tline/*.[ch])

$(O)/tline/%/mbus_tline.ko: $(TLINE_SRCS)
	scripts/kmod-tree $(O)/tline/$* $(TLINE_SRCS)
	$(MAKE) -C $(if $(filter $*,$(KVER)),$(KDIR),/lib/modules/$*/build) \
		M=$(CURDIR)/$(O)/tline/$*/tests/tline O= W=1 modules
	ln -sf tests/tline/mbus_tline.ko $@

modules: $(foreach k,$(KVERS),$(O)/kmod/$(k)/n_mbus.ko \
	 $(O)/tline/$(k)/mbus_tline.ko)

deps:
	scripts/deps

# The harness headers, checkpatch and get_abi.pl come from Debian's
# linux-source-6.1.
build/ksft/.stamp: scripts/extract-ksrc
	scripts/extract-ksrc build/ksft
	@touch $@

check: all modules
	tests/run-check $(O)

demo: all modules ksft
	tests/qemu/demo $(O)

# The debug lane alone: every kselftest on the KASAN + lockdep kernel.
ksft-debug: all modules ksft
	tests/debug-kernel/run $(O)

clean:
	rm -rf build build-san

# Dependency files of the objects; not the guest and package roots that
# other targets build under $(O) (their /etc has directories named *.d).
-include $(shell find $(O) \( -path '$(O)/qemu' -o -path '$(O)/deb-root' \) \
	-prune -o -name '*.d' -type f -print 2>/dev/null)
