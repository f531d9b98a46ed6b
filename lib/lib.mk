# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libnmbus: every lib/*.c plus the frame delimiter shared with the kernel.
# Static (libnmbus.a) and shared (libnmbus.so.0, symbols hidden unless
# marked NMBUS_API) builds from the same position-independent objects.

LIB_SONAME := libnmbus.so.0
LIB_SRCS := $(wildcard lib/*.c) driver/mbus_frame.c
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
LIB_A := $(O)/libnmbus.a
LIB_SO := $(O)/$(LIB_SONAME).$(VERSION:0.%=%)

$(LIB_OBJS): NMBUS_CFLAGS += -fvisibility=hidden

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIB_SO): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,$(LIB_SONAME) -Wl,--no-undefined \
		$(NMBUS_LDFLAGS) -o $@ $^ -lm
	ln -sfn $(notdir $@) $(O)/$(LIB_SONAME)
	ln -sfn $(LIB_SONAME) $(O)/libnmbus.so

lib: $(LIB_A) $(LIB_SO)
