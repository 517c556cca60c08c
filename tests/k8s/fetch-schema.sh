#!/usr/bin/env bash
# Fetches Kubernetes' API models for the offline manifest checks: Debian trixie's
# python3-kubernetes (30.1, the Kubernetes 1.30 API: native sidecars included; bookworm's is too
# old), with apt-get download through a private apt configuration under build/ (its own sources
# list, lists and cache; the machine's apt state is not touched), unpacked with dpkg-deb -x.
# Only the model files are read (tests/k8s/validate.py parses them), so none of the package's
# Python dependencies is needed. Prints the models directory.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=$PWD/build/k8s-schema
models=$dir/root/usr/lib/python3/dist-packages/kubernetes/client/models
if [ -f "$models/v1_container.py" ]; then
	echo "$models"
	exit 0
fi
apt_dir=$dir/apt
rm -rf "$dir"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dir/deb"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
	>"$apt_dir/sources.list"
apt_opts=(-q -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
	-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update >"$dir/apt.log" 2>&1 || {
	cat "$dir/apt.log" >&2
	echo "fetch-schema: apt-get update of the trixie lists failed" >&2
	exit 1
}
(cd "$dir/deb" && apt-get "${apt_opts[@]}" download python3-kubernetes >>"$dir/apt.log" 2>&1) || {
	cat "$dir/apt.log" >&2
	echo "fetch-schema: apt-get download python3-kubernetes failed" >&2
	exit 1
}
dpkg-deb -x "$dir"/deb/python3-kubernetes_*.deb "$dir/root"
rm -rf "$apt_dir"
[ -f "$models/v1_container.py" ] || { echo "fetch-schema: no models in the package" >&2; exit 1; }
echo "$models"
