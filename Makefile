# subflow: top-level build. Everything generated goes to $(OUTPUT).
#   make            build BPF objects, skeletons, libsubflow, subflowctl, test tools
#   make deps       install the Debian packages the project needs (idempotent)
#   make test       deps + build + unit and integration tests (root)
#   make demo       deps + build + the two-path lab demo (root)
#   make bench      deps + build + benchmarks, printing a table (root)
#   make install PREFIX=/usr/local DESTDIR=
#   make test SANITIZE=1   the same with ASan + UBSan, everything built into build-asan/
#   make fuzz       libFuzzer harnesses (tests/fuzz), each run FUZZ_SECS (60) seconds,
#                   built with clang into build-fuzz/
#   make V=1        show the commands

# SANITIZE=1: every C object built with ASan and UBSan (any report is fatal),
# in an output folder of its own so that it never mixes with a plain build.
ifeq ($(SANITIZE),1)
OUTPUT     ?= build-asan
SAN_CFLAGS ?= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
SAN_CFLAGS ?=
OUTPUT   ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
LIBDIR   ?= $(PREFIX)/lib
VERSION  := 0.1.0
SOVER    := 0

CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= cc
AR       ?= ar
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
VMLINUX_H   ?=

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -I$(OUTPUT) -Iinclude -Ibpf -MMD -MP
CFLAGS   ?= -O2 -g
override CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror -std=gnu11 -fPIC \
	    -Iinclude -I$(OUTPUT) -Iloader/lib -MMD -MP $(SAN_CFLAGS)
LDLIBS   := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz) -lmnl

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
# loader/lib: libsubflow; loader/cli: subflowctl; loader/daemon: the path
# manager (linked into subflowctl as `subflowctl daemon`).
LIB_SRCS  := $(wildcard loader/lib/*.c)
LIB_OBJS  := $(patsubst loader/%.c,$(OUTPUT)/loader/%.o,$(LIB_SRCS))
CLI_SRCS  := $(wildcard loader/cli/*.c) $(wildcard loader/daemon/*.c)
CLI_OBJS  := $(patsubst loader/%.c,$(OUTPUT)/loader/%.o,$(CLI_SRCS))
LIB_MAP   := loader/lib/libsubflow.map
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOLS     := $(patsubst tests/tools/%.c,$(OUTPUT)/tests/%,$(TOOL_SRCS)) \
	     $(OUTPUT)/tests/tcp_app-static $(OUTPUT)/tests/libsubflow_preload.so
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNITS     := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/unit/%,$(UNIT_SRCS))
# A benchmark tool with its own BPF program (tests/bench/NAME.bpf.c) may
# include its skeleton, built into $(OUTPUT)/tests/bench/.
BENCH_SKELS := $(patsubst tests/bench/%.bpf.c,$(OUTPUT)/tests/bench/%.skel.h,$(wildcard tests/bench/*.bpf.c))
BENCH_SRCS:= $(filter-out %.bpf.c,$(wildcard tests/bench/*.c))
BENCHES   := $(patsubst tests/bench/%.c,$(OUTPUT)/tests/bench/%,$(BENCH_SRCS))
# BPF objects the benchmarks load themselves (not part of the engine).
BENCH_BPF := $(patsubst tests/bench/%.bpf.c,$(OUTPUT)/tests/bench/%.bpf.o,$(wildcard tests/bench/*.bpf.c))

LIBA  := $(OUTPUT)/libsubflow.a
LIBSO := $(OUTPUT)/libsubflow.so.$(VERSION)
CLI   := $(OUTPUT)/subflowctl
PC    := $(OUTPUT)/libsubflow.pc
# systemd units of the path manager daemon, with the installed path in them.
UNITS_IN := $(wildcard loader/daemon/systemd/*.service.in)
SYSTEMD_UNITS := $(patsubst loader/daemon/systemd/%.in,$(OUTPUT)/systemd/%,$(UNITS_IN))
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system

.DELETE_ON_ERROR:
# Keep skeletons and BPF objects: they are inputs of several steps.
.SECONDARY:
.PHONY: all deps test demo bench install uninstall clean check-root fuzz fuzzers

all: $(CLI) $(LIBA) $(LIBSO) $(PC) $(TOOLS) $(UNITS) $(BENCHES) $(SYSTEMD_UNITS) $(BENCH_BPF)

deps:
	$(Q)./tests/deps.sh

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/loader/lib $(OUTPUT)/loader/cli $(OUTPUT)/loader/daemon \
$(OUTPUT)/tests $(OUTPUT)/tests/unit $(OUTPUT)/tests/bench:
	$(Q)mkdir -p $@

# vmlinux.h: dumped from the running kernel's BTF (or VMLINUX_H=), rewritten
# only when it changed so that builds stay incremental.
$(OUTPUT)/vmlinux.h: FORCE | $(OUTPUT)
ifeq ($(VMLINUX_H),)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.new
else
	$(Q)cp $(VMLINUX_H) $@.new
endif
	$(Q)cmp -s $@.new $@ && rm -f $@.new || { mv $@.new $@; printf '  %-8s %s\n' GEN $@; }

# Static pattern rules: a skeleton a stale .d file still names (its source
# was removed) has no rule, rather than one that asks for the missing source.
$(BPF_OBJS): $(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(OUTPUT)/vmlinux.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKELS): $(OUTPUT)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# Skeletons are order-only: -MMD records which object includes which one.
# The library is built with hidden visibility: only what libsubflow.map
# names (the API of include/subflow.h) is exported from libsubflow.so.
$(OUTPUT)/loader/lib/%.o: loader/lib/%.c | $(SKELS) $(OUTPUT)/loader/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -fvisibility=hidden -c $< -o $@

$(OUTPUT)/loader/cli/%.o: loader/cli/%.c | $(SKELS) $(OUTPUT)/loader/cli
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iloader/cli -Iloader/daemon -c $< -o $@

$(OUTPUT)/loader/daemon/%.o: loader/daemon/%.c | $(SKELS) $(OUTPUT)/loader/daemon
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iloader/cli -Iloader/daemon -c $< -o $@

$(LIBA): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBSO): $(LIB_OBJS) $(LIB_MAP)
	$(call msg,LD,$@)
	$(Q)$(CC) -shared $(SAN_CFLAGS) -Wl,-soname,libsubflow.so.$(SOVER) \
		-Wl,--version-script=$(LIB_MAP) -o $@ $(LIB_OBJS) $(LDLIBS)
	$(Q)ln -sf libsubflow.so.$(VERSION) $(OUTPUT)/libsubflow.so.$(SOVER)
	$(Q)ln -sf libsubflow.so.$(SOVER) $(OUTPUT)/libsubflow.so

$(OUTPUT)/systemd/%.service: loader/daemon/systemd/%.service.in
	$(Q)mkdir -p $(OUTPUT)/systemd
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' $< > $@

# A sanitized libsubflow.so needs its runtime first in the program that links
# it: the .pc of a SANITIZE=1 build says so to its users (the README's example).
$(PC): loader/lib/libsubflow.pc.in | $(OUTPUT)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|@SAN_LIBS@|$(SAN_CFLAGS)|' -e 's| *$$||' $< > $@

$(CLI): $(CLI_OBJS) $(LIBA)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(OUTPUT)/tests/%: tests/tools/%.c $(LIBA) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

# The launcher's "unmodified program": libc only, dynamic and static (which
# an LD_PRELOAD shim cannot reach); and that shim, for comparison. Never
# sanitized: they stand for other people's programs (and a static binary or
# a preloaded library cannot carry ASan's runtime).
APP_CFLAGS = $(filter-out $(SAN_CFLAGS),$(CFLAGS))
$(OUTPUT)/tests/tcp_app: tests/tools/tcp_app.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(APP_CFLAGS) -o $@ $<

$(OUTPUT)/tests/tcp_app-static: tests/tools/tcp_app.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(APP_CFLAGS) -static -o $@ $<

# The kernel bug reproducer (tests/kernel/mptcp_join_race.sh): libc only.
$(OUTPUT)/tests/mptcp_join_race: tests/tools/mptcp_join_race.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $<

$(OUTPUT)/tests/libsubflow_preload.so: tests/shim/preload_mptcp.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(APP_CFLAGS) -shared -o $@ $< -ldl

$(OUTPUT)/tests/unit/%: tests/unit/%.c $(LIBA) | $(OUTPUT)/tests/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

$(OUTPUT)/tests/bench/%.bpf.o: tests/bench/%.bpf.c $(OUTPUT)/vmlinux.h | $(OUTPUT)/tests/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/tests/bench/%.skel.h: $(OUTPUT)/tests/bench/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(OUTPUT)/tests/bench/%: tests/bench/%.c $(LIBA) | $(BENCH_SKELS) $(OUTPUT)/tests/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUTPUT)/tests/bench -o $@ $< $(LIBA) $(LDLIBS) -lm

check-root:
	@[ "$$(id -u)" = 0 ] || { echo "this target needs root (sudo make $(MAKECMDGOALS))" >&2; exit 1; }

test: check-root deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)LAB_BUILD=$(abspath $(OUTPUT)) ./tests/run.sh

# ---- Fuzzing (clang's libFuzzer, with ASan + UBSan) --------------------------
FUZZ_OUT   ?= build-fuzz
FUZZ_SECS  ?= 60
FUZZ_SRCS  := $(wildcard tests/fuzz/*.c)
FUZZERS    := $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(FUZZ_SRCS))
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

fuzzers: $(FUZZERS)

# The library, built with clang for the fuzzers (coverage instrumented), by
# a make of its own whose OUTPUT is $(FUZZ_OUT).
ifneq ($(OUTPUT),$(FUZZ_OUT))
.PHONY: $(FUZZ_OUT)/libsubflow.a
$(FUZZ_OUT)/libsubflow.a:
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(FUZZ_OUT) CC=$(CLANG) CFLAGS="-O1 -g" \
		SAN_CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_OUT)/libsubflow.a
endif

$(FUZZERS): $(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_OUT)/libsubflow.a
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -Iinclude -Iloader/lib -I$(FUZZ_OUT) \
		-o $@ $< $(FUZZ_OUT)/libsubflow.a $(LDLIBS)

fuzz: fuzzers
	$(Q)./tests/fuzz/run.sh $(FUZZ_OUT) $(FUZZ_SECS)

demo: check-root deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./tests/demo.sh

bench: check-root deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./tests/bench/run.sh

install: $(CLI) $(LIBA) $(LIBSO) $(PC) $(SYSTEMD_UNITS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include/subflow
	install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/sbin/subflowctl
	install -m 0644 $(LIBA) $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(LIBSO) $(DESTDIR)$(LIBDIR)/
	ln -sf libsubflow.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsubflow.so.$(SOVER)
	ln -sf libsubflow.so.$(SOVER) $(DESTDIR)$(LIBDIR)/libsubflow.so
	install -m 0644 include/subflow.h include/subflow_abi.h include/subflow_policy.h \
		include/subflow_oneshot.h include/subflow_control.h $(DESTDIR)$(PREFIX)/include/subflow/
	install -m 0644 $(PC) $(DESTDIR)$(LIBDIR)/pkgconfig/libsubflow.pc
	install -d $(DESTDIR)$(SYSTEMDDIR)
	install -m 0644 $(SYSTEMD_UNITS) $(DESTDIR)$(SYSTEMDDIR)/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/subflowctl $(DESTDIR)$(LIBDIR)/libsubflow.* \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/libsubflow.pc
	rm -rf $(DESTDIR)$(PREFIX)/include/subflow
	rm -f $(addprefix $(DESTDIR)$(SYSTEMDDIR)/,$(notdir $(SYSTEMD_UNITS)))

clean:
	rm -rf $(OUTPUT) build-asan $(FUZZ_OUT)

FORCE:

-include $(wildcard $(OUTPUT)/bpf/*.d $(OUTPUT)/loader/*/*.d $(OUTPUT)/tests/*.d $(OUTPUT)/tests/*/*.d)
