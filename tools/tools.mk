# SPDX-License-Identifier: GPL-2.0-or-later
#
# Tools: each tools/mbus*.c is one program, linked with tools-common.c and
# libnmbus.a. $(O)/static/ holds static copies for the QEMU initramfs.

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

$(O)/tools/%: $(O)/tools/%.o $(TOOL_COMMON) $(LIB_A)
	$(CC) $(NMBUS_LDFLAGS) -o $@ $(filter-out $(LIB_A),$^) $(LIB_A) $(LIBS_$*) -lm

$(O)/static/tools/%: $(O)/tools/%.o $(TOOL_COMMON) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) -static $(LDFLAGS) -o $@ $(filter-out $(LIB_A),$^) $(LIB_A) $(LIBS_$*) -lm

tools: $(TOOL_BINS)

# mbus-sim: its core, line and meter profiles are objects of their own.
SIM_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard tools/sim-*.c))
$(O)/tools/mbus-sim $(O)/static/tools/mbus-sim: $(SIM_OBJS)
