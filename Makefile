# sidecap: eBPF sidecar traffic interceptor. Everything built goes under build/.
#   make          build the BPF object, skeleton, interceptor, proxy-stub and test binaries
#   make test     install missing Debian packages, build, run the whole suite as CI does
#                 (tests/ci.sh); make test-native: this kernel's suite alone
#   make demo     install missing Debian packages, build, run the demo pod
#   make bench    the benchmark (see docs/benchmarks.md)
#   make test-kernels  the tests inside qemu guests of Debian's 5.10, 6.1 and 6.12 kernels
#   make test SANITIZE=1   the native suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz      the libFuzzer targets of tests/fuzz/, FUZZ_SECONDS each (docs/reliability.md)
#   make soak     one pod under mixed traffic for ~10 minutes (SOAK_SECONDS), docs/reliability.md

CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
# SANITIZE=1: every C program and test binary built with AddressSanitizer and
# UndefinedBehaviorSanitizer, no recovery (the first finding aborts), into a build dir of its own
# so that the two builds never mix objects. The BPF programs are not host code: built as ever.
SANITIZE  ?= 0
ifeq ($(SANITIZE),1)
# clang: GCC 12's runtime of the two together writes UBSan's reports to stderr whatever
# log_path says, and tests/run finds the reports of killed daemons by their files.
CC        := clang
BUILD     ?= build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	     -Wno-unknown-warning-option
else
BUILD     ?= build
SAN_FLAGS :=
endif
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	     -D_GNU_SOURCE -Ibpf -Iinterceptor -I$(BUILD) $(SAN_FLAGS)
BPF_CFLAGS := -target bpf -g -O2 -Wall -Werror -D__TARGET_ARCH_$(ARCH) \
	      -I/usr/include/$(MULTIARCH) -Ibpf

# maps.bpf.c first: bpftool's linker resolves the extern maps only against an earlier definition.
BPF_SRCS  := bpf/maps.bpf.c $(filter-out bpf/maps.bpf.c,$(wildcard bpf/*.bpf.c))
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.o,$(BPF_SRCS))
BPF_HDRS  := bpf/sidecap.h $(wildcard bpf/lib/*.h)

# No libbpf in these: the unit tests link them alone.
CORE_SRCS := interceptor/abi.c interceptor/cgroup_auto.c $(wildcard interceptor/config*.c) \
	     interceptor/yaml_load.c \
	     interceptor/htab.c interceptor/policy.c interceptor/services_plan.c interceptor/log.c \
	     interceptor/lb.c interceptor/watch.c interceptor/metrics.c interceptor/prom.c \
	     interceptor/iptables.c
DAEMON_SRCS := $(filter-out $(CORE_SRCS),$(wildcard interceptor/*.c))
DAEMON_LIBS := -lbpf -lelf -lz -luv -lyaml -lmicrohttpd -lm
# Kubernetes front end: inject and from-istio (libyaml documents, no libbpf), so a core source.
K8S_SRCS := interceptor/k8s.c interceptor/istio.c interceptor/istio_inputs.c interceptor/inject.c
DAEMON_SRCS := $(filter-out $(K8S_SRCS),$(DAEMON_SRCS))
CORE_SRCS += $(K8S_SRCS)
STUB_SRCS := $(wildcard proxy-stub/*.c)
UNIT_SRCS := $(wildcard tests/unit/*.c)
INTEG_SRCS := $(wildcard tests/integration/*.c)

.PHONY: fuzz fuzz-ci fuzz-build test-sanitize-ci
.PHONY: all deps test test-native test-unit test-integration demo bench bench-policy clean format image \
	test-pod k8s-schema kernels test-kernels soak
all: $(BUILD)/interceptor $(BUILD)/proxy-stub $(BUILD)/test-unit $(BUILD)/test-integration \
     $(BUILD)/tcptool $(BUILD)/promcheck $(BUILD)/applytime $(BUILD)/bpfstats $(BUILD)/soakload \
     $(BUILD)/dnsload

$(BUILD)/bpf/%.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# The programs live in one file per hook family; bpftool links them into one object (the maps
# are defined once, in maps.bpf.c, and declared extern elsewhere) and one skeleton.
$(BUILD)/sidecap.bpf.o: $(BPF_OBJS)
	$(BPFTOOL) gen object $@ $^

$(BUILD)/sidecap.skel.h: $(BUILD)/sidecap.bpf.o
	$(BPFTOOL) gen skeleton $< name sidecap_bpf > $@

$(BUILD)/interceptor: $(DAEMON_SRCS) $(CORE_SRCS) $(wildcard interceptor/*.h) bpf/sidecap.h \
		      $(BUILD)/sidecap.skel.h
	$(CC) $(CFLAGS) -o $@ $(DAEMON_SRCS) $(CORE_SRCS) $(DAEMON_LIBS)

$(BUILD)/proxy-stub: $(STUB_SRCS) $(wildcard proxy-stub/*.h) | $(BUILD)
	$(CC) $(CFLAGS) -Iproxy-stub -o $@ $(STUB_SRCS) -luv

$(BUILD)/test-unit: $(UNIT_SRCS) $(CORE_SRCS) $(wildcard interceptor/*.h) bpf/sidecap.h \
		   tests/tools/promcheck.c | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(UNIT_SRCS) $(CORE_SRCS) -lcriterion -lyaml -luv -lmicrohttpd -lm

# The kernel probes are the interceptor's own, so that a test skipped for a missing feature
# names the same feature and version as `interceptor check`.
INTEG_LIBSRCS := interceptor/kernel_features.c interceptor/log.c
$(BUILD)/test-integration: $(INTEG_SRCS) $(INTEG_LIBSRCS) $(wildcard tests/integration/*.h) \
			  bpf/sidecap.h interceptor/kernel_features.h tests/tools/dnswire.h | $(BUILD)
	$(CC) $(CFLAGS) -Wno-format-truncation -Itests/integration -DT_BUILD='"$(BUILD)"' \
		-o $@ $(INTEG_SRCS) $(INTEG_LIBSRCS) -lcriterion -lbpf -lelf -lz -lcrypto

$(BUILD)/tcptool: tests/tools/tcptool.c | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< -lcrypto

$(BUILD)/applytime: tests/tools/applytime.c bpf/sidecap.h | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< -lbpf

$(BUILD)/bpfstats: tests/tools/bpfstats.c | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< -lbpf

$(BUILD)/soakload: tests/tools/soakload.c | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $<

$(BUILD)/dnsload: tests/tools/dnsload.c tests/tools/dnswire.h | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $<

$(BUILD)/promcheck: tests/tools/promcheck.c | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $<

$(BUILD) $(BUILD)/bpf:
	mkdir -p $@

deps:
	scripts/deps.sh

# The whole suite as CI runs it (tests/ci.sh; CI_STAGES picks stages): this kernel, the pod
# played by podman, three Debian kernels under qemu, the sanitizer build and the fuzzers; about
# 25 minutes on 2 cores. Take the machine lock on shared machines.
# With SANITIZE=1 it is the native suite (unit, manifests, integration) built with the sanitizers.
CI_STAGES ?=
ifeq ($(SANITIZE),1)
test: test-native
else
test: deps
	scripts/deps.sh kernels
	$(MAKE) all
	$(MAKE) image
	tests/kernels/fetch.sh 5.10 6.1 6.12
	tests/ci.sh $(CI_STAGES)
endif

# This kernel only: unit tests, manifest checks, the integration suite (three minutes).
test-native: deps
	$(MAKE) all
	BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run

# The sanitizers' run within CI's 5-minute budget. The whole suite under ASan+UBSan took 242 s
# here (the plain one 210 s), on an idle 2-core machine: inside the budget with a minute to
# spare, which a slower or shared CI runner would eat (the integration tests wait on the kernel
# and on timers, and every daemon, proxy-stub and tcptool in them is instrumented). So CI runs
# this subset, about half of that: every unit test (the parser, validator, parse cache, planner
# and renderers, where input from outside is handled) and the integration suites that drive the
# daemon's own input and life-cycle paths: bad input, signals, live edits, start and stop
# (102 s of their tests under ASan). The rest runs under make test SANITIZE=1.
SANITIZE_CI_SUITES ?= @(badinput|signals|live|lifecycle)/*
test-sanitize-ci: deps
	$(MAKE) SANITIZE=1 all
	BUILD=build/asan SANITIZE=1 INTEGRATION_FILTER='$(SANITIZE_CI_SUITES)' tests/run

test-unit: $(BUILD)/test-unit
	$(BUILD)/test-unit

demo: deps
	$(MAKE) all
	scripts/demo.sh

# The side-by-side benchmark (docs/benchmarks.md); BENCH_QUICK=1 for a short smoke run. Pinned
# to one CPU (build/bench), then unpinned (build/bench-unpinned: the scheduler free, as users run;
# no policy-scale points, which do not depend on it), then both against the targets.
bench: deps
	$(MAKE) all
	BENCH_OUT=$(BUILD)/bench bench/run.sh
	BENCH_OUT=$(BUILD)/bench-unpinned BENCH_PIN=none BENCH_ONLY="$${BENCH_ONLY:-pod two profile}" \
		bench/run.sh
	python3 bench/targets.py $(BUILD)/bench $(BUILD)/bench-unpinned

# Policy scale (services): apply time, per-connect cost and map memory at 10 to 10,000 services.
bench-policy: deps
	$(MAKE) all
	bench/policy.sh

# The soak (docs/reliability.md): one pod under mixed traffic, proxy restarts, policy edits and
# kill -9 of the daemon for SOAK_SECONDS (default 600); report and plots in build/soak/.
soak: deps
	$(MAKE) all
	tests/soak/run.sh

# The OCI image localhost/sidecap:VERSION, FROM scratch, built offline (deploy/image.sh).
IMAGE_VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
image: $(BUILD)/interceptor $(BUILD)/proxy-stub $(BUILD)/tcptool
	deploy/image.sh $(IMAGE_VERSION)

# The example played by podman kube play, as root (tests/pod/run.sh; docs/kubernetes.md).
test-pod: deps
	$(MAKE) all
	$(MAKE) image
	tests/pod/run.sh

# Kubernetes' API models (Debian's python3-kubernetes) for the offline manifest checks.
k8s-schema:
	tests/k8s/fetch-schema.sh

# The kernels our users' nodes run, booted under qemu from Debian's own packages (unpacked into
# build/kernels/, never installed): KERNELS picks them, KERNEL_CMD is what runs in each guest.
# Run test-kernels under the machine lock (flock /tmp/sidecap-heavy.lock make test-kernels).
KERNELS    ?= 5.10 6.1 6.12
KERNEL_CMD ?= tests/run --integration-only
kernels: deps
	scripts/deps.sh kernels
	tests/kernels/fetch.sh $(KERNELS)

test-kernels: kernels
	$(MAKE) all
	tests/kernels/run.sh --kernels "$(KERNELS)" -- $(KERNEL_CMD)

# libFuzzer targets (tests/fuzz/), built by clang with the fuzzer, ASan and UBSan into
# build/fuzz whatever BUILD is. make fuzz runs each for FUZZ_SECONDS from the checked-in seeds
# (tests/fuzz/corpus/<target>/) plus what earlier runs found (build/fuzz/corpus/<target>/), and
# prints each one's executions and coverage; logs and crashes stay in build/fuzz/.
FUZZ_TARGETS := fuzz_config fuzz_config_edit fuzz_iptables fuzz_inject
FUZZ_BUILD   := build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -O1 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
		-Wno-missing-field-initializers -D_GNU_SOURCE -Ibpf -Iinterceptor -Itests/fuzz \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

$(FUZZ_BUILD)/%: tests/fuzz/%.c tests/fuzz/fuzz.h tests/unit/config_same.h $(CORE_SRCS) \
		 $(wildcard interceptor/*.h) bpf/sidecap.h
	@mkdir -p $(FUZZ_BUILD)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(CORE_SRCS) -lyaml -luv -lmicrohttpd -lm

fuzz-build: $(addprefix $(FUZZ_BUILD)/,$(FUZZ_TARGETS))

fuzz: deps
	$(MAKE) fuzz-build
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# What CI runs: 20 s a target, enough to replay every seed and find a shallow regression.
fuzz-ci: deps
	$(MAKE) fuzz-build
	tests/fuzz/run.sh 20 $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD)

format:
	clang-format -i bpf/*.c bpf/*.h bpf/lib/*.h interceptor/*.[ch] proxy-stub/*.[ch] \
		tests/*/*.[ch]
