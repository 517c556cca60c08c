#!/usr/bin/env bash
# Builds the OCI image localhost/sidecap:VERSION (and :latest) with podman, offline: FROM scratch
# with build/interceptor, build/proxy-stub and build/tcptool, stripped, and the shared libraries
# ldd lists for them (with the dynamic loader), at the paths ldd gives.
#   deploy/image.sh VERSION
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:?usage: deploy/image.sh VERSION}
ctx=build/image
bins=(build/interceptor build/proxy-stub build/tcptool)

for b in "${bins[@]}"; do
	[ -x "$b" ] || { echo "image: $b is missing; run make first" >&2; exit 1; }
done
command -v podman >/dev/null || { echo "image: podman is missing (scripts/deps.sh installs it)" >&2; exit 1; }

rm -rf "$ctx"
mkdir -p "$ctx/rootfs"
cp deploy/Containerfile "$ctx/Containerfile"
# Mount points for the pod's volumes, so a read-only root file system needs none made.
mkdir -p "$ctx"/rootfs/{etc/sidecap,sys/fs/bpf,host/sys/fs/cgroup,proc,dev,tmp}
chmod 1777 "$ctx/rootfs/tmp"

# Every library of every binary, once, at the path the loader looks for it (ldd's "=> PATH"),
# and the loader itself (ldd's line without "=>").
libs=$(for b in "${bins[@]}"; do
	ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done | sort -u)
for l in $libs; do
	mkdir -p "$ctx/rootfs$(dirname "$l")"
	cp -L "$l" "$ctx/rootfs$l"
done
for b in "${bins[@]}"; do
	strip --strip-unneeded -o "$ctx/rootfs/$(basename "$b")" "$b"
done
# A passwd and group naming root and the proxy's 1337, for tools that look names up.
printf 'root:x:0:0:root:/:/interceptor\nproxy:x:1337:1337:sidecar proxy:/:/interceptor\n' \
	>"$ctx/rootfs/etc/passwd"
printf 'root:x:0:\nproxy:x:1337:\n' >"$ctx/rootfs/etc/group"

podman build --network=none --pull=never -q -f "$ctx/Containerfile" \
	-t "localhost/sidecap:$version" -t localhost/sidecap:latest "$ctx" >/dev/null
size=$(podman image inspect --format '{{.Size}}' "localhost/sidecap:$version")
echo "image: localhost/sidecap:$version (also :latest), $((size / 1024)) KiB," \
	"$(echo "$libs" | wc -l) libraries"
