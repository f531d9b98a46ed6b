# SPDX-License-Identifier: GPL-2.0-or-later
#
# mbus-gatewayd: the service that polls the meters of its configuration
# and publishes them over MQTT. Its own binary and Debian package; the
# only part of n_mbus that uses libinih, libmosquitto and libsystemd
# (libnmbus and the tools keep to libc and libmnl).

GW_CORE_SRCS := gateway/config.c gateway/values.c
GW_SRCS := $(GW_CORE_SRCS) $(filter-out $(GW_CORE_SRCS),$(wildcard gateway/*.c))
GW_CORE_OBJS := $(GW_CORE_SRCS:%.c=$(O)/%.o)
GW_OBJS := $(GW_SRCS:%.c=$(O)/%.o)
GW_BIN := $(O)/gateway/mbus-gatewayd
GW_LIBS := -linih -lmosquitto -lsystemd -lpthread -lm

$(GW_BIN): $(GW_OBJS) $(TOOL_LIB)
	$(CC) $(NMBUS_LDFLAGS) -o $@ $(GW_OBJS) $(TOOL_LIB_LINK) $(GW_LIBS)

gateway: $(GW_BIN)

# Host unit tests of the configuration parser and the value keys.
$(O)/tests/unit/test-gateway: $(O)/tests/unit/test-gateway.o $(GW_CORE_OBJS) \
		$(LIB_A)
	$(CC) $(NMBUS_LDFLAGS) -o $@ $(filter-out $(LIB_A),$^) $(LIB_A) \
		-linih -lpthread -lm
