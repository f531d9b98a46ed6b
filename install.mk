# SPDX-License-Identifier: GPL-2.0
#
# make install: libnmbus (shared, static, pkg-config), the headers
# <nmbus.h>, <nmbus-devices.h> and <linux/mbus.h>, the tools, their man pages, the udev rule,
# the systemd template units and the modprobe options example.
#
#   make install                          everything under PREFIX=/usr/local
#   make install DESTDIR=/tmp/stage       staged (packaging)
#   make install PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu
#   make uninstall [DESTDIR=... PREFIX=...]   removes those files again
#                                         (the same variables as install)
#
# The module itself is installed by DKMS (dkms.conf), not here.
# UDEVDIR, SYSTEMDUNITDIR and MODPROBEDIR default to where Debian 12's udev,
# systemd and kmod read them whatever PREFIX is (bookworm keeps packaged
# files out of /usr/lib for these, see the merged-/usr moratorium); newer
# systems may use /usr/lib/udev/rules.d and /usr/lib/systemd/system.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
UDEVDIR ?= /lib/udev/rules.d
SYSTEMDUNITDIR ?= /lib/systemd/system
MODPROBEDIR ?= /etc/modprobe.d
INSTALL ?= install

# Paths under PREFIX are written relative to ${prefix} in libnmbus.pc, so
# that pkg-config --define-prefix can relocate a staged tree.
pc_rel = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

LIB_SO_FILE := $(notdir $(LIB_SO))
MAN_PAGES := $(wildcard Documentation/man/*.[1-8])

.PHONY: install install-lib install-dev install-tools install-compat \
	install-man install-system uninstall

# Both are rebuilt on every install: PREFIX and BINDIR may differ from one
# install to the next.
$(O)/libnmbus.pc: lib/libnmbus.pc.in FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@prefix@|$(PREFIX)|' \
	    -e 's|@libdir@|$(call pc_rel,$(LIBDIR))|' \
	    -e 's|@includedir@|$(call pc_rel,$(INCLUDEDIR))|' \
	    -e 's|@version@|$(VERSION)|' $< > $@

UNITS := mbus-attach@.service mbus-attach-tcp@.service

$(addprefix $(O)/,$(UNITS)): $(O)/%: packaging/% FORCE
	@mkdir -p $(dir $@)
	sed -e 's|/usr/bin/mbus-attach|$(BINDIR)/mbus-attach|' $< > $@

.PHONY: FORCE
FORCE:

install: install-lib install-dev install-tools install-compat install-man \
	install-system

install-lib: $(LIB_SO)
	$(INSTALL) -d $(DESTDIR)$(LIBDIR)
	$(INSTALL) -m 0644 $(LIB_SO) $(DESTDIR)$(LIBDIR)/$(LIB_SO_FILE)
	ln -sfn $(LIB_SO_FILE) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)

install-dev: $(LIB_A) $(O)/libnmbus.pc install-lib
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/linux
	$(INSTALL) -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libnmbus.a
	ln -sfn $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libnmbus.so
	$(INSTALL) -m 0644 $(O)/libnmbus.pc $(DESTDIR)$(PKGCONFIGDIR)/libnmbus.pc
	$(INSTALL) -m 0644 lib/include/nmbus.h $(DESTDIR)$(INCLUDEDIR)/nmbus.h
	$(INSTALL) -m 0644 lib/include/nmbus-devices.h \
		$(DESTDIR)$(INCLUDEDIR)/nmbus-devices.h
	$(INSTALL) -m 0644 uapi/linux/mbus.h $(DESTDIR)$(INCLUDEDIR)/linux/mbus.h

install-tools: $(TOOL_BINS)
	$(INSTALL) -d $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 0755 $(TOOL_BINS) $(DESTDIR)$(BINDIR)/

# libmbus's tool names, in a directory of their own (libmbus-compat(1)).
COMPAT_DIR := $(LIBEXECDIR)/n_mbus/libmbus-compat

install-compat: $(O)/tools/libmbus-compat
	$(INSTALL) -d $(DESTDIR)$(COMPAT_DIR)
	$(INSTALL) -m 0755 $(O)/tools/libmbus-compat $(DESTDIR)$(COMPAT_DIR)/
	$(foreach n,$(COMPAT_NAMES),ln -sfn libmbus-compat \
		$(DESTDIR)$(COMPAT_DIR)/$(n) &&) true

install-man:
	$(foreach m,$(MAN_PAGES),$(INSTALL) -D -m 0644 $(m) \
		$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)) &&) true

install-system: $(addprefix $(O)/,$(UNITS))
	$(INSTALL) -d $(DESTDIR)$(UDEVDIR) $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(MODPROBEDIR)
	$(INSTALL) -m 0644 packaging/60-n-mbus.rules $(DESTDIR)$(UDEVDIR)/60-n-mbus.rules
	$(foreach u,$(UNITS),$(INSTALL) -m 0644 $(O)/$(u) \
		$(DESTDIR)$(SYSTEMDUNITDIR)/$(u) &&) true
	$(INSTALL) -m 0644 packaging/n_mbus.conf $(DESTDIR)$(MODPROBEDIR)/n_mbus.conf

# Every file the targets above install, and nothing else: directories stay
# (they may hold files of others), as with automake's uninstall.
INSTALLED_FILES := \
	$(LIBDIR)/$(LIB_SO_FILE) $(LIBDIR)/$(LIB_SONAME) \
	$(LIBDIR)/libnmbus.so $(LIBDIR)/libnmbus.a \
	$(PKGCONFIGDIR)/libnmbus.pc \
	$(INCLUDEDIR)/nmbus.h $(INCLUDEDIR)/nmbus-devices.h \
	$(INCLUDEDIR)/linux/mbus.h \
	$(addprefix $(BINDIR)/,$(TOOLS)) \
	$(addprefix $(COMPAT_DIR)/,libmbus-compat $(COMPAT_NAMES)) \
	$(foreach m,$(MAN_PAGES),$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
	$(UDEVDIR)/60-n-mbus.rules $(addprefix $(SYSTEMDUNITDIR)/,$(UNITS)) \
	$(MODPROBEDIR)/n_mbus.conf

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))
