# SPDX-License-Identifier: GPL-2.0
#
# make               modules for the default kernel and the Go binaries
# make modules       modules for KDIR (default: Debian 12's 6.1 cloud headers)
# make modules-matrix  modules for 6.1 and 6.12, warnings are errors
# make test          host tests, then guest tests on both kernels
# make test-debug    guest tests on the debug kernel (KASAN, lockdep, kmemleak)
# make bench-msg     messaging latency and throughput, against the raw floor
# make bpf           regenerate the BPF objects and their Go (bpf2go)
# make bench-net     Snap Bean against virtio-net: TCP throughput and latency
# make bench-angel   Angel against hash steering and one kernel: connection rate, p99
# make demo          boot three kernels that message each other
# make shell         a shell in a booted guest (KERNEL=6.1|6.12, GUESTS=n)
# make man           popcornctl's man pages, from its command tree, in build/man
# make install       tools, unit, man pages and an example config (DESTDIR=)

SHELL := /bin/bash
BUILD := $(CURDIR)/build
GO ?= go

latest_headers = $(lastword $(sort $(wildcard /usr/src/linux-headers-$(1)*-cloud-amd64)))
KDIR_61 ?= $(call latest_headers,6.1.)
KDIR_612 ?= $(call latest_headers,6.12.)
KDIR ?= $(KDIR_61)
KERNEL ?= 6.1
GUESTS ?= 3

KMOD_SRC := Kbuild $(shell find kmod api -type f -name '*.[ch]')
GO_SRC := go.mod $(shell find ctl api tests -type f -name '*.go' 2>/dev/null)
HOST_BINS := popcorn-vm angel-bench
GUEST_BINS := popcorn-ivshmem-server popcornctl popcornd
BINS := $(addprefix $(BUILD)/bin/,$(HOST_BINS) $(GUEST_BINS))

LINUX_SRC := $(BUILD)/linux-source-6.1
VM := $(BUILD)/bin/popcorn-vm
VM_FLAGS := --build $(BUILD)

.PHONY: bench-angel bpf check-bpf man install all modules modules-matrix check-release test-modules bench-msg bench-net bins guest-tools test \
	test-host test-guest test-debug test-long modules-debug-kernel demo shell checkpatch uapi check-uapi clean

all: modules bins guest-tools

# build/<dir>/<release>/ is named by the release the tree builds for (the
# vermagic of its modules, uname -r of its kernel), whatever the tree's
# directory is called. Debian's 6.1 headers have a kernel.release that
# differs from it; utsrelease.h is right in every tree.
kernelname = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' $(1)/include/generated/utsrelease.h)

# Out-of-tree builds write objects beside the sources, so each kernel gets
# its own copy of the tree under build/<release>/ and builds there.
# $(1): kernel tree, $(2): source dir, $(3): its files (with a top Kbuild),
# $(4): build/<dir> for the .ko files, $(5): kbuild flags
define build_modules
	@test -d "$(1)" || { echo "no kernel tree at '$(1)': run .ci/setup or pass KDIR=" >&2; exit 1; }
	@rel=$(call kernelname,$(1)); test -n "$$rel" || exit 1; dst=$(BUILD)/$(4)-src/$$rel; \
	mkdir -p $$dst && (cd $(2) && cp -a --update --parents $(3) $$dst/) && \
	$(MAKE) -C $(1) M=$$dst $(5) modules && \
	mkdir -p $(BUILD)/$(4)/$$rel && cp $$dst/*.ko $(BUILD)/$(4)/$$rel/
endef

modules:
	$(call build_modules,$(KDIR),.,$(KMOD_SRC),modules,)

# Both kernels, both variants: the modules people load (build/modules/)
# and the debug variant with test hooks that the guests load
# (build/modules-debug/).
DEBUG_FLAGS := CONFIG_POPCORN_DEBUG=y
modules-matrix:
	$(call build_modules,$(KDIR_61),$(CURDIR),$(KMOD_SRC),modules,KCFLAGS=-Werror W=1)
	$(call build_modules,$(KDIR_612),$(CURDIR),$(KMOD_SRC),modules,KCFLAGS=-Werror W=1)
	$(call build_modules,$(KDIR_61),$(CURDIR),$(KMOD_SRC),modules-debug,$(DEBUG_FLAGS) KCFLAGS=-Werror W=1)
	$(call build_modules,$(KDIR_612),$(CURDIR),$(KMOD_SRC),modules-debug,$(DEBUG_FLAGS) KCFLAGS=-Werror W=1)
	@$(MAKE) --no-print-directory check-release

# The modules people load carry none of the debug variant's hooks.
DEBUG_SYMBOLS := pcn_debug_|pcn_shm_inject|pcn_doorbell_bench|pcn_shm_debug_|sb_debug_|sb_bad_frames
check-release:
	@for ko in $(BUILD)/modules/*/*.ko; do \
		if nm "$$ko" | grep -E ' ($(DEBUG_SYMBOLS))'; then \
			echo "$$ko: debug hooks in a release module" >&2; exit 1; fi; \
	done; echo "release modules: no debug hooks"

# Modules that exist only for guest tests, e.g. one that splats on purpose.
SPLAT_SRC := Kbuild popcorn_splat.c
test-modules:
	$(call build_modules,$(KDIR_61),tests/vm/splat,$(SPLAT_SRC),modules-test,)
	$(call build_modules,$(KDIR_612),tests/vm/splat,$(SPLAT_SRC),modules-test,)

bins: $(BINS)

VERSION_VAR := github.com/popcorn-kernel/popcorn/ctl/internal/version.described
DESCRIBE := $(shell git describe --always --dirty 2>/dev/null)

$(BUILD)/bin/%: $(GO_SRC)
	@mkdir -p $(@D)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X $(VERSION_VAR)=$(DESCRIBE)" -o $@ ./$(if $(filter popcorn-vm,$*),tests/vm/cmd,ctl/cmd)/$*

# Static helpers that run inside guests.
guest-tools: $(BUILD)/guest/debug-exit $(BUILD)/guest/netlink_test $(BUILD)/guest/shm-floor \
	$(BUILD)/guest/shm-atomic $(BUILD)/guest/steer.bpf.o $(BUILD)/guest/angel-load \
	$(BUILD)/guest/pcn-stranger $(BUILD)/guest/pcn-nlfuzz

# BPF objects: Debian's libbpf-dev headers, the host's UAPI headers.
$(BUILD)/guest/%.bpf.o: ebpf/%.bpf.c ebpf/snapbean.h
	@mkdir -p $(@D)
	clang -O2 -g -Wall -Werror -target bpf -I/usr/include/$(shell gcc -dumpmachine) -c $< -o $@

$(BUILD)/guest/angel-load: $(GO_SRC)
	@mkdir -p $(@D)
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./tests/cmd/angel-load

$(BUILD)/guest/pcn-stranger: $(GO_SRC)
	@mkdir -p $(@D)
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./tests/cmd/pcn-stranger

$(BUILD)/guest/pcn-nlfuzz: $(GO_SRC)
	@mkdir -p $(@D)
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./tests/cmd/pcn-nlfuzz

$(BUILD)/guest/shm-floor: tests/bench/shm-floor.c
	@mkdir -p $(@D)
	$(CC) -static -O2 -Wall -Werror -o $@ $<

$(BUILD)/guest/shm-atomic: tests/guest/shm_atomic.c
	@mkdir -p $(@D)
	$(CC) -static -O2 -Wall -Werror -o $@ $<

$(BUILD)/guest/debug-exit: tests/vm/guest/debug-exit.c
	@mkdir -p $(@D)
	$(CC) -static -O2 -Wall -Werror -o $@ $<

# kselftest-harness tests; the harness comes from linux-source-6.1.
$(BUILD)/guest/%_test: tests/guest/%_test.c api/uapi/linux/popcorn.h $(LINUX_SRC)/.extracted
	@mkdir -p $(@D)
	$(CC) -static -O2 -Wall -Werror -Iapi/uapi \
		-I$(LINUX_SRC)/tools/testing/selftests -o $@ $<

test: test-host test-guest

# The BPF objects bpf2go generated and the tree holds must be what
# `go generate` makes of today's C: regenerate in a copy and compare.
# Every Go package with a bpf2go gen.go.
BPF_GEN_DIRS := $(patsubst %/gen.go,%,$(shell git ls-files "ctl/*gen.go"))
bpf:
	for d in $(BPF_GEN_DIRS); do (cd $$d && $(GO) generate) || exit 1; done

check-bpf:
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
		cp -a ebpf ctl go.mod go.sum $$tmp/ && \
		for d in $(BPF_GEN_DIRS); do (cd $$tmp/$$d && $(GO) generate) || exit 1; \
			diff -r $$d $$tmp/$$d || { echo "$$d: generated BPF objects differ from ebpf/: run make bpf" >&2; exit 1; }; done
	@echo "BPF objects: as generated"

# Every guest suite on the debug kernel (KASAN, lockdep, kmemleak), built
# once from linux-source-6.1 and cached by its config's hash.
test-debug: bins guest-tools
	@kdir=$$(tests/vm/debug-kernel/build.sh) && \
		$(MAKE) --no-print-directory modules-debug-kernel KDIR_DEBUG=$$kdir
	$(VM) $(VM_FLAGS) test --kernel debug

# The long suites (tests/guest/suites-long), on both kernels; not in CI.
test-long: bins guest-tools modules-matrix
	$(VM) $(VM_FLAGS) fetch >/dev/null
	$(VM) $(VM_FLAGS) test --manifest suites-long --kernel 6.1 --kernel 6.12

modules-debug-kernel:
	$(call build_modules,$(KDIR_DEBUG),$(CURDIR),$(KMOD_SRC),modules-debug,$(DEBUG_FLAGS) KCFLAGS=-Werror W=1)

test-host: checkpatch check-uapi check-bpf
	$(GO) vet ./...
	@test -z "$$(gofmt -l ctl api tests)" || { gofmt -l ctl api tests; exit 1; }
	$(GO) test -race -count=1 ./...

# Guests boot the Debian kernels fetched by `popcorn-vm fetch`.
test-guest: bins guest-tools modules-matrix test-modules
	$(VM) $(VM_FLAGS) fetch
	$(VM) $(VM_FLAGS) test --kernel 6.1 --kernel 6.12

demo: bins guest-tools modules-matrix
	$(VM) $(VM_FLAGS) fetch
	@$(VM) $(VM_FLAGS) run --kernel $(KERNEL) --guests $(GUESTS) --shm-size 16777216 \
		--nic --host-script demo.host.sh --script demo.sh

# One guest measures, one answers; each has one vCPU pinned to its own host
# core, so polling is not starved and doorbells are not delayed.
bench-msg: bins guest-tools modules-matrix
	$(VM) $(VM_FLAGS) fetch >/dev/null
	@echo "setup host: $$(nproc) CPUs, $$(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -n1), QEMU TCG"
	@echo "setup guests: 2 x kernel $(KERNEL), 1 vCPU each pinned to host CPUs 0 and 1, 16 MiB window, virtio-net bridge"
	@set -o pipefail; $(VM) $(VM_FLAGS) run --kernel $(KERNEL) --guests 2 --cpus 1 --pin \
		--shm-size 16777216 --net --script bench_msg.sh --timeout 15m | \
		sed -n 's/^    # \(msg .*\|doorbell .*\|guest .*\)/\1/p'

bench-net: bins guest-tools modules-matrix
	$(VM) $(VM_FLAGS) fetch >/dev/null
	@echo "setup host: $$(nproc) CPUs, $$(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -n1), QEMU TCG"
	@echo "setup guests: 2 x kernel $(KERNEL), 1 vCPU each pinned to host CPUs 0 and 1, 64 MiB window, virtio-net bridge"
	@set -o pipefail; $(VM) $(VM_FLAGS) run --kernel $(KERNEL) --guests 2 --cpus 1 --pin \
		--shm-size 67108864 --net --script bench_net.sh --timeout 10m | \
		sed -n 's/^    # \(net .*\)/\1/p'

# Three guests, guest 0 owns the NIC; the client in the rig's namespace
# measures every mode (bench_angel.host.sh), its lines left in host.log.
bench-angel: bins guest-tools modules-matrix
	$(VM) $(VM_FLAGS) fetch >/dev/null
	@echo "setup host: $$(nproc) CPUs, $$(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -n1), QEMU TCG"
	@echo "setup guests: 3 x kernel $(KERNEL), 1 vCPU each, busybox httpd on 10.99.0.100:80, guest 2 loaded for skew=1"
	@rm -rf $(BUILD)/bench-angel
	@$(VM) $(VM_FLAGS) --runs $(BUILD)/bench-angel --keep run --kernel $(KERNEL) --guests 3 --cpus 1 \
		--shm-size 67108864 --nic --host-script bench_angel.host.sh --script bench_angel.sh --timeout 15m >/dev/null || \
		{ cat $(BUILD)/bench-angel/*/host.log; exit 1; }
	@grep -h '^angel ' $(BUILD)/bench-angel/*/host.log
	@echo "setup host: single-kernel mode, 8 workers on this host's kernel, one slowed by 2 ms per connection"
	@$(BUILD)/bin/angel-bench -duration 5s

man: $(BUILD)/bin/popcornctl
	$< man $(BUILD)/man

# The config is installed only where none is: an edited one is kept.
install: bins man
	install -D -m 0755 -t $(DESTDIR)/usr/sbin $(BUILD)/bin/popcornctl $(BUILD)/bin/popcornd
	install -D -m 0644 -t $(DESTDIR)/lib/systemd/system ctl/systemd/popcornd.service
	install -D -m 0644 -t $(DESTDIR)/usr/share/man/man8 $(BUILD)/man/*.8
	install -D -m 0644 -t $(DESTDIR)/usr/share/popcorn Documentation/popcornd/popcorn.yaml \
		Documentation/popcornd/popcorn.schema.json
	test -e $(DESTDIR)/etc/popcorn/popcorn.yaml || \
		install -D -m 0644 Documentation/popcornd/popcorn.yaml $(DESTDIR)/etc/popcorn/popcorn.yaml

shell: bins guest-tools modules-matrix
	$(VM) $(VM_FLAGS) fetch
	$(VM) $(VM_FLAGS) shell --kernel $(KERNEL) --guests $(GUESTS)

# The UAPI header is generated from the netlink spec by the kernel's
# ynl-gen-c.py (linux-source-6.12), which validates the spec first.
uapi:
	BUILD=$(BUILD) api/gen.sh

check-uapi:
	BUILD=$(BUILD) api/gen.sh --check

# checkpatch.pl comes from Debian's linux-source-6.1 tarball.
$(LINUX_SRC)/.extracted:
	@mkdir -p $(BUILD)
	tar -C $(BUILD) -xf /usr/src/linux-source-6.1.tar.xz \
		linux-source-6.1/scripts linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
	touch $@

# Kernel code strictly (compat.h alone compares kernel versions); user-space test tools in kernel style, with their
# own types and the volatile a busy-poll across kernels needs.
checkpatch: $(LINUX_SRC)/.extracted
	$(LINUX_SRC)/scripts/checkpatch.pl --no-tree --strict --quiet -f \
		$(shell find kmod tests/vm/splat -name '*.[ch]' -not -name compat.h)
	$(LINUX_SRC)/scripts/checkpatch.pl --no-tree --strict --quiet -f \
		--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON kmod/include/popcorn/compat.h
	$(LINUX_SRC)/scripts/checkpatch.pl --no-tree --quiet -f \
		--ignore VOLATILE,AVOID_EXTERNS,PREFER_DEFINED_ATTRIBUTE_MACRO \
		$(shell find tests -name '*.c' -not -path 'tests/vm/splat/*')

clean:
	rm -rf $(BUILD)
