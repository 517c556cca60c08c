#!/usr/bin/env bash
# Builds the small initramfs that boots one unpacked Debian kernel of build/kernels/ and mounts this
# machine's / over virtio-9p as its root (tests/kernels/init says what happens then).
#
#   tests/kernels/initramfs.sh RELEASE      -> build/kernels/RELEASE/sidecap-initramfs.cpio.gz
#
# It holds busybox-static, the two init stages and the kernel's own modules needed before the root
# is mounted (virtio PCI transport, 9p over virtio), with their dependencies from modules.dep,
# decompressed here so that busybox's insmod needs no decompressor. Every other module the tests
# need is loaded in the guest from the unpacked tree, seen through the 9p root.
set -euo pipefail
cd "$(dirname "$0")/../.."

rel=${1:?usage: tests/kernels/initramfs.sh RELEASE (a directory of build/kernels/)}
tree=build/kernels/$rel
mods=$tree/lib/modules/$rel
out=$tree/sidecap-initramfs.cpio.gz
busybox=/bin/busybox
boot_modules=(virtio_pci 9pnet_virtio 9p)

if [ ! -f "$mods/modules.dep" ]; then
	echo "initramfs.sh: $mods/modules.dep is missing; run tests/kernels/fetch.sh first" >&2
	exit 1
fi
# The initramfs has no libc: a dynamically linked busybox would not start there.
if [ ! -x "$busybox" ] || readelf -d "$busybox" 2>/dev/null | grep -q '(NEEDED)'; then
	echo "initramfs.sh: $busybox is not a static busybox; install busybox-static (scripts/deps.sh)" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,newroot,modules}
cp "$busybox" "$root/bin/busybox"
install -m 0755 tests/kernels/init "$root/init"
install -m 0755 tests/kernels/guest.sh "$root/guest.sh"

# modules.dep lists every module's dependencies, transitive ones included; a depth-first walk
# that emits a module after everything it needs gives a valid insmod order.
declare -A dep_of=() path_of=() done_mod=()
while IFS= read -r line; do
	file=${line%%:*}
	name=${file##*/}
	name=${name%%.ko*}
	name=${name//-/_}
	path_of[$name]=$file
	dep_of[$name]=${line#*:}
done <"$mods/modules.dep"

order=()
visit() {
	local name=$1 d dn
	[ -n "${done_mod[$name]:-}" ] && return 0
	done_mod[$name]=1
	for d in ${dep_of[$name]}; do
		dn=${d##*/}
		dn=${dn%%.ko*}
		visit "${dn//-/_}"
	done
	order+=("$name")
}

for m in "${boot_modules[@]}"; do
	if [ -n "${path_of[$m]:-}" ]; then
		visit "$m"
	elif grep -qE "/${m}\\.ko" "$mods/modules.builtin"; then
		: # built into this kernel: nothing to load
	else
		echo "initramfs.sh: $rel has no module $m (neither in modules.dep nor built in)" >&2
		exit 1
	fi
done

for name in "${order[@]}"; do
	src=$mods/${path_of[$name]}
	case $src in
	*.ko.xz) xz -dc "$src" >"$root/modules/$name.ko" ;;
	*.ko.zst) zstd -qdc "$src" >"$root/modules/$name.ko" ;;
	*.ko.gz) gzip -dc "$src" >"$root/modules/$name.ko" ;;
	*) cp "$src" "$root/modules/$name.ko" ;;
	esac
	echo "$name" >>"$root/modules/order"
done
touch "$root/modules/order"

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
