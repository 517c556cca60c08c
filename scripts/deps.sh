#!/usr/bin/env bash
# Installs the Debian packages the build, tests and demo need, when any is missing.
# "deps.sh kernels" adds what the qemu guests of make test-kernels need (tests/kernels/).
set -euo pipefail

pkgs=(
	python3-yaml podman runc catatonit
	clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc
	libyaml-dev libuv1-dev libcriterion-dev libmicrohttpd-dev libssl-dev
	valgrind iproute2 iptables haproxy nginx-light wrk iperf3 sockperf util-linux procps
	gnuplot-nox python3 jq conntrack nftables prometheus
)
# kmod: depmod for the unpacked kernels, and the guests' modprobe (seen through the 9p root).
[ "${1:-}" = kernels ] && pkgs+=(qemu-system-x86 busybox-static kmod xz-utils debian-archive-keyring)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root, or: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the packaged nginx/haproxy services from starting on the host: the tests and
# the demo run their own instances inside their own network namespaces.
prc=/usr/sbin/policy-rc.d
made_prc=0
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$prc"
	chmod +x "$prc"
	made_prc=1
fi
trap '[ $made_prc = 1 ] && rm -f "$prc"' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}"
