#!/usr/bin/env bash
# Fetches Debian's own kernel packages and unpacks each into build/kernels/<release>/, ready to be
# booted by tests/kernels/run.sh. Never installs them: nothing goes to /boot or to dpkg's database.
#
#   tests/kernels/fetch.sh [--update] [FAMILY...]     (default families: 5.10 6.1 6.12)
#
# A family is a kernel series: "6.1" picks the newest linux-image-6.1.0-N-amd64 that the private
# sources list offers (bookworm and its security suite), "5.10" the newest of bullseye, "6.12" the
# newest deb12 build (bookworm-backports, and bookworm-security once Debian ships 6.12 there).
# A family already unpacked is reused as it is, with no network access; --update looks for a
# newer package first. Prints one line per family: "<family> <release>".
set -euo pipefail
cd "$(dirname "$0")/../.."

kdir=build/kernels
apt_dir=$PWD/$kdir/apt
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

update=0
families=()
for a in "$@"; do
	case $a in
	--update) update=1 ;;
	-*) echo "fetch.sh: unknown option $a (use --update or kernel families like 6.1)" >&2; exit 2 ;;
	*) families+=("$a") ;;
	esac
done
[ ${#families[@]} -gt 0 ] || families=(5.10 6.1 6.12)

# The apt of this machine must not see these suites (it would offer their packages for install),
# so everything apt reads or writes for them lives under build/kernels/apt.
apt_opts=(
	-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
	-o APT::Architecture=amd64 -o Acquire::Languages=none
	# The private directories belong to root; apt's _apt sandbox user could not write them.
	-o APT::Sandbox::User=root
)

# Package names of a family: the generic flavour only (no -cloud, -rt, -unsigned or -dbg). Old
# series carry an ABI number (5.10.0-46), new ones a build tag (6.12.118+deb12).
family_re() {
	local esc=${1//./\\.}
	echo "^linux-image-${esc}(\\.[0-9]+)*(-[0-9]+|\\+[a-z0-9.]+)-amd64\$"
}

# The newest release of a family already unpacked here, or nothing.
unpacked_release() {
	local re d
	re=$(family_re "$1")
	for d in "$kdir"/*/boot; do
		[ -d "$d" ] || continue
		d=${d%/boot}
		d=${d##*/}
		if grep -qE "$re" <<<"linux-image-$d"; then echo "$d"; fi
	done | sort -V | tail -n 1
}

lists_ready=0
apt_update() {
	[ $lists_ready = 1 ] && return 0
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
	local keys=/usr/share/keyrings/debian-archive-keyring.gpg
	cat >"$apt_dir/sources.list" <<EOF
deb [signed-by=$keys] $mirror bookworm main
deb [signed-by=$keys] $security bookworm-security main
deb [signed-by=$keys] $mirror bookworm-backports main
deb [signed-by=$keys] $mirror bullseye main
deb [signed-by=$keys] $security bullseye-security main
EOF
	echo "fetch.sh: updating the package lists of the private apt directory $apt_dir" >&2
	apt-get "${apt_opts[@]}" -qq update >&2
	lists_ready=1
}

# Downloads and unpacks the newest package of a family; sets rel to its release.
fetch_family() {
	local fam=$1 pkg deb tmp
	apt_update
	pkg=$(apt-cache "${apt_opts[@]}" pkgnames linux-image- | { grep -E "$(family_re "$fam")" || :; } |
		sort -V | tail -n 1)
	if [ -z "$pkg" ]; then
		echo "fetch.sh: no linux-image package of series $fam in $apt_dir/sources.list;" \
			"known series: 5.10 (bullseye), 6.1 (bookworm), 6.12 (bookworm-backports)" >&2
		return 1
	fi
	rel=${pkg#linux-image-}
	[ -f "$kdir/$rel/.unpacked" ] && return 0
	mkdir -p "$kdir/debs"
	local debs=("$kdir/debs/${pkg}_"*.deb)
	if [ ! -f "${debs[0]}" ]; then
		echo "fetch.sh: downloading $pkg" >&2
		(cd "$kdir/debs" && apt-get "${apt_opts[@]}" -qq download "$pkg" >&2)
		debs=("$kdir/debs/${pkg}_"*.deb)
	fi
	deb=${debs[-1]}
	# Unpack beside the final place and rename, so an interrupted run leaves no half tree that
	# a later run would take for a complete one.
	tmp=$kdir/.unpack-$rel
	rm -rf "$tmp"
	dpkg-deb -x "$deb" "$tmp"
	# Debian generates modules.dep at install time (postinst); the guest's modprobe and our
	# initramfs builder need it. Newer packages put modules under usr/lib: give them the
	# lib/modules path that "modprobe -d" expects.
	[ -e "$tmp/lib" ] || ln -s usr/lib "$tmp/lib"
	depmod -b "$tmp" "$rel"
	touch "$tmp/.unpacked"
	rm -rf "${kdir:?}/$rel"
	mv "$tmp" "$kdir/$rel"
	# The unpacked tree is what later runs reuse; the package itself is not needed again.
	rm -f "$deb"
}

for fam in "${families[@]}"; do
	rel=""
	[ $update = 1 ] || rel=$(unpacked_release "$fam")
	if [ -z "$rel" ] || [ ! -f "$kdir/$rel/.unpacked" ]; then
		fetch_family "$fam"
	fi
	echo "$fam $rel"
done
