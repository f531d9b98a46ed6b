# SPDX-License-Identifier: GPL-2.0-or-later
#
# mbus-gatewayd: the service that polls the meters of its configuration
# and publishes them over MQTT and HTTP. Its own binary and Debian
# package; the only part of n_mbus that uses libinih, libmosquitto,
# libsystemd, libmicrohttpd and json-c (libnmbus and the tools keep to
# libc and libmnl).

GW_CORE_SRCS := gateway/config.c gateway/values.c gateway/metrics.c \
	gateway/route.c
GW_SRCS := $(GW_CORE_SRCS) $(filter-out $(GW_CORE_SRCS),$(wildcard gateway/*.c))
GW_CORE_OBJS := $(GW_CORE_SRCS:%.c=$(O)/%.o)
GW_OBJS := $(GW_SRCS:%.c=$(O)/%.o)
GW_BIN := $(O)/gateway/mbus-gatewayd
GW_LIBS := -linih -lmosquitto -lsystemd -lmicrohttpd -ljson-c -lpthread -lm

$(GW_BIN): $(GW_OBJS) $(TOOL_LIB)
	$(CC) $(NMBUS_LDFLAGS) -o $@ $(GW_OBJS) $(TOOL_LIB_LINK) $(GW_LIBS)

gateway: $(GW_BIN)

# Host unit tests of the configuration parser, the value keys, the
# metrics and CSV formats and the MQTT queue (its bus.c for the outbox
# and message helpers).
$(O)/tests/unit/test-gateway: $(O)/tests/unit/test-gateway.o $(GW_CORE_OBJS) \
		$(O)/gateway/mqtt.o $(O)/gateway/bus.o $(O)/gateway/ha.o $(LIB_A)
	$(CC) $(NMBUS_LDFLAGS) -o $@ $(filter-out $(LIB_A),$^) $(LIB_A) \
		$(GW_LIBS)

# make install-gateway: the daemon, its unit and an example configuration
# (not part of "make install": it needs libinih, libmosquitto, libsystemd,
# libmicrohttpd, json-c).
SBINDIR ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc

$(O)/mbus-gatewayd.service: packaging/mbus-gatewayd.service FORCE
	@mkdir -p $(dir $@)
	sed -e 's|/usr/sbin/mbus-gatewayd|$(SBINDIR)/mbus-gatewayd|' $< > $@

.PHONY: install-gateway uninstall-gateway
install-gateway: $(GW_BIN) $(O)/mbus-gatewayd.service
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/mbus-gatewayd/meters.d
	$(INSTALL) -m 0755 $(GW_BIN) $(DESTDIR)$(SBINDIR)/mbus-gatewayd
	$(INSTALL) -m 0644 $(O)/mbus-gatewayd.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/mbus-gatewayd.service
	$(INSTALL) -m 0644 packaging/gatewayd.conf \
		$(DESTDIR)$(SYSCONFDIR)/mbus-gatewayd/gatewayd.conf

uninstall-gateway:
	rm -f $(DESTDIR)$(SBINDIR)/mbus-gatewayd \
		$(DESTDIR)$(SYSTEMDUNITDIR)/mbus-gatewayd.service \
		$(DESTDIR)$(SYSCONFDIR)/mbus-gatewayd/gatewayd.conf
