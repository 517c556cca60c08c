# sidecap: eBPF sidecar traffic interceptor. Everything built goes under build/.
#   make          build the BPF object, skeleton, interceptor, proxy-stub and test binaries
#   make test     install missing Debian packages, build, run unit + integration tests
#   make demo     install missing Debian packages, build, run the demo pod
#   make bench    the benchmark (see docs/benchmarks.md)
#   make test-kernels  the tests inside qemu guests of Debian's 5.10, 6.1 and 6.12 kernels

CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
BUILD     := build
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	     -D_GNU_SOURCE -Ibpf -Iinterceptor -I$(BUILD)
BPF_CFLAGS := -target bpf -g -O2 -Wall -Werror -D__TARGET_ARCH_$(ARCH) \
	      -I/usr/include/$(MULTIARCH) -Ibpf

# maps.bpf.c first: bpftool's linker resolves the extern maps only against an earlier definition.
BPF_SRCS  := bpf/maps.bpf.c $(filter-out bpf/maps.bpf.c,$(wildcard bpf/*.bpf.c))
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.o,$(BPF_SRCS))
BPF_HDRS  := bpf/sidecap.h $(wildcard bpf/lib/*.h)

# No libbpf in these: the unit tests link them alone.
CORE_SRCS := interceptor/abi.c interceptor/cgroup_auto.c $(wildcard interceptor/config*.c) \
	     interceptor/htab.c interceptor/policy.c interceptor/services_plan.c interceptor/log.c \
	     interceptor/lb.c interceptor/watch.c interceptor/metrics.c interceptor/prom.c \
	     interceptor/iptables.c
DAEMON_SRCS := $(filter-out $(CORE_SRCS),$(wildcard interceptor/*.c))
DAEMON_LIBS := -lbpf -lelf -lz -luv -lyaml -lmicrohttpd -lm
# Kubernetes front end: inject and from-istio (libyaml documents, no libbpf), so a core source.
K8S_SRCS := interceptor/k8s.c interceptor/istio.c interceptor/inject.c
DAEMON_SRCS := $(filter-out $(K8S_SRCS),$(DAEMON_SRCS))
CORE_SRCS += $(K8S_SRCS)
STUB_SRCS := $(wildcard proxy-stub/*.c)
UNIT_SRCS := $(wildcard tests/unit/*.c)
INTEG_SRCS := $(wildcard tests/integration/*.c)

.PHONY: all deps test test-native test-unit test-integration demo bench bench-policy clean format image \
	test-pod k8s-schema kernels test-kernels
all: $(BUILD)/interceptor $(BUILD)/proxy-stub $(BUILD)/test-unit $(BUILD)/test-integration \
     $(BUILD)/tcptool $(BUILD)/promcheck $(BUILD)/applytime $(BUILD)/bpfstats $(BUILD)/dnsload

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

$(BUILD)/proxy-stub: $(STUB_SRCS) $(wildcard proxy-stub/*.h)
	$(CC) $(CFLAGS) -Iproxy-stub -o $@ $(STUB_SRCS) -luv

$(BUILD)/test-unit: $(UNIT_SRCS) $(CORE_SRCS) $(wildcard interceptor/*.h) bpf/sidecap.h \
		   tests/tools/promcheck.c
	$(CC) $(CFLAGS) -o $@ $(UNIT_SRCS) $(CORE_SRCS) -lcriterion -lyaml -luv -lmicrohttpd -lm

# The kernel probes are the interceptor's own, so that a test skipped for a missing feature
# names the same feature and version as `interceptor check`.
INTEG_LIBSRCS := interceptor/kernel_features.c interceptor/log.c
$(BUILD)/test-integration: $(INTEG_SRCS) $(INTEG_LIBSRCS) $(wildcard tests/integration/*.h) \
			  bpf/sidecap.h interceptor/kernel_features.h tests/tools/dnswire.h
	$(CC) $(CFLAGS) -Wno-format-truncation -Itests/integration -o $@ $(INTEG_SRCS) \
		$(INTEG_LIBSRCS) -lcriterion -lbpf -lelf -lz -lcrypto

$(BUILD)/tcptool: tests/tools/tcptool.c | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< -lcrypto

$(BUILD)/applytime: tests/tools/applytime.c bpf/sidecap.h | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< -lbpf

$(BUILD)/bpfstats: tests/tools/bpfstats.c | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< -lbpf

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
CI_STAGES ?=
test: deps
	scripts/deps.sh kernels
	$(MAKE) all
	$(MAKE) image
	tests/kernels/fetch.sh 5.10 6.1 6.12
	tests/ci.sh $(CI_STAGES)

# This kernel only: unit tests, manifest checks, the integration suite (two minutes).
test-native: deps
	$(MAKE) all
	tests/run

test-unit: $(BUILD)/test-unit
	$(BUILD)/test-unit

demo: deps
	$(MAKE) all
	scripts/demo.sh

# The side-by-side benchmark (docs/benchmarks.md); BENCH_QUICK=1 for a short smoke run.
bench: deps
	$(MAKE) all
	bench/run.sh

# Policy scale (services): apply time, per-connect cost and map memory at 10 to 10,000 services.
bench-policy: deps
	$(MAKE) all
	bench/policy.sh

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

clean:
	rm -rf $(BUILD)

format:
	clang-format -i bpf/*.c bpf/*.h bpf/lib/*.h interceptor/*.[ch] proxy-stub/*.[ch] \
		tests/*/*.[ch]
