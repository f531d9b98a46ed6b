# SPDX-License-Identifier: GPL-2.0-or-later
#
# Tools: each tools/mbus*.c is one program, linked with tools-common.c and
# libnmbus. $(O)/static/ holds static copies for the QEMU initramfs.
#
# TOOLS_LINK says how $(O)/tools/* get libnmbus:
#   static (default)  libnmbus.a is linked in; the tools run from the build
#                     tree and need no installed library
#   shared            linked against libnmbus.so.0 (NEEDED), as a
#                     distribution wants them (debian/rules sets it); they
#                     run once the library is installed, or with
#                     LD_LIBRARY_PATH=$(O)
# Switching it needs a relink: make clean, or a fresh O=.

TOOLS_LINK ?= static
ifeq ($(filter static shared,$(TOOLS_LINK)),)
$(error TOOLS_LINK must be static or shared, not "$(TOOLS_LINK)")
endif

TOOLS := $(patsubst tools/%.c,%,$(filter-out tools/tools-common.c, \
	   $(wildcard tools/mbus*.c)))
TOOL_BINS := $(TOOLS:%=$(O)/tools/%)
TOOL_STATIC := $(TOOLS:%=$(O)/static/tools/%)
TOOL_COMMON := $(if $(wildcard tools/tools-common.c),$(O)/tools/tools-common.o)

# Extra libraries per tool.
LIBS_mbusctl := -lmnl

# Debian's libmnl-dev ships no libmnl.a: without one, no static mbusctl.
ifeq ($(wildcard $(shell $(CC) -print-file-name=libmnl.a)),)
TOOL_STATIC := $(filter-out %/mbusctl,$(TOOL_STATIC))
endif

ifeq ($(TOOLS_LINK),shared)
# libnmbus.so exports only the NMBUS_API functions; what a tool uses of the
# library's hidden internals is linked in as objects of its own (mbus-sim:
# the frame delimiter, which the simulator shares with the kernel).
TOOL_LIB := $(LIB_SO)
TOOL_LIB_LINK = -L$(O) -lnmbus
TOOL_PRIVATE_mbus-sim := $(O)/driver/mbus_frame.o
TOOL_PRIVATE_mbus-tcpd := $(O)/driver/mbus_frame.o
else
TOOL_LIB := $(LIB_A)
TOOL_LIB_LINK = $(LIB_A)
endif

$(O)/tools/%: $(O)/tools/%.o $(TOOL_COMMON) $(TOOL_LIB)
	$(CC) $(NMBUS_LDFLAGS) -o $@ $(filter-out $(TOOL_LIB),$^) \
		$(TOOL_LIB_LINK) $(LIBS_$*) -lm

$(O)/static/tools/%: $(O)/tools/%.o $(TOOL_COMMON) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) -static $(LDFLAGS) -o $@ $(filter-out $(LIB_A),$^) $(LIB_A) $(LIBS_$*) -lm

tools: $(TOOL_BINS)

# mbus-sim: its core, line and meter profiles are objects of their own.
SIM_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard tools/sim-*.c))
$(O)/tools/mbus-sim $(O)/static/tools/mbus-sim: $(SIM_OBJS)
$(O)/tools/mbus-sim: $(TOOL_PRIVATE_mbus-sim)

# mbus-attach --tcp: the relay and its telnet/RFC 2217 codec. The static
# copy (for the QEMU guest) resolves numeric addresses only: glibc's
# getaddrinfo() would need the shared NSS libraries there.
ATTACH_OBJS := $(O)/tools/attach-tcp.o $(O)/tools/rfc2217.o
$(O)/tools/mbus-attach: $(ATTACH_OBJS) $(O)/tools/attach-resolve.o
$(O)/static/tools/mbus-attach: $(ATTACH_OBJS) $(O)/static/attach-resolve.o
$(O)/static/attach-resolve.o: tools/attach-resolve.c
	@mkdir -p $(dir $@)
	$(CC) $(NMBUS_CPPFLAGS) $(NMBUS_CFLAGS) $(CPPFLAGS) -DNMBUS_STATIC_RESOLVE \
		-MMD -MP -c -o $@ $<

# mbus-tcpd: the server, which the unit tests run on a simulated bus; it
# cuts frames with the kernel's delimiter.
$(O)/tools/mbus-tcpd $(O)/static/tools/mbus-tcpd: $(O)/tools/tcpd.o
$(O)/tools/mbus-tcpd: $(TOOL_PRIVATE_mbus-tcpd)
# libmbus-compat: rscada/libmbus's seven serial tools in one program that
# dispatches on the name it runs as. Not a tool in BINDIR (libmbus's names
# would clash with a libmbus installed alongside): the program and its
# seven names go to $(LIBEXECDIR)/n_mbus/ (install.mk). $(O)/libmbus-compat/
# holds the names as links for running it from the build tree.
COMPAT_NAMES := mbus-serial-scan mbus-serial-scan-secondary \
	mbus-serial-request-data mbus-serial-request-data-multi-reply \
	mbus-serial-select-secondary mbus-serial-switch-baudrate \
	mbus-serial-set-address
COMPAT_LINKS := $(COMPAT_NAMES:%=$(O)/libmbus-compat/%)

$(O)/tools/libmbus-compat: $(O)/tools/libmbus-compat.o $(TOOL_COMMON) $(TOOL_LIB)
	$(CC) $(NMBUS_LDFLAGS) -o $@ $(filter-out $(TOOL_LIB),$^) \
		$(TOOL_LIB_LINK) -lm

$(O)/static/tools/libmbus-compat: $(O)/tools/libmbus-compat.o $(TOOL_COMMON) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) -static $(LDFLAGS) -o $@ $(filter-out $(LIB_A),$^) $(LIB_A) -lm

$(COMPAT_LINKS): | $(O)/tools/libmbus-compat
	@mkdir -p $(dir $@)
	ln -sfn ../tools/libmbus-compat $@

TOOL_BINS_ALL := $(TOOL_BINS) $(O)/tools/libmbus-compat
tools: $(O)/tools/libmbus-compat $(COMPAT_LINKS)
TOOL_STATIC += $(O)/static/tools/libmbus-compat
