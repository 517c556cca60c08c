#!/usr/bin/env bash
# Runs one command inside a qemu guest per Debian kernel, to test sidecap on the kernels our users'
# nodes run (Debian 11's 5.10, Debian 12's 6.1, the 6.12 of bookworm-backports) without touching
# this machine's kernel.
#
#   tests/kernels/run.sh [--kernels "5.10 6.1 6.12"] [--env K=V]... [--timeout SECONDS]
#                        [--accel auto|kvm|tcg] [--append KERNEL_ARGS] [--modules "M..."]
#                        -- CMD [ARG...]
#
# Each guest boots the kernel unpacked by fetch.sh with the initramfs of initramfs.sh; its root is
# this machine's / (read-only, over 9p), so CMD runs in this repository, at the same path, with the
# binaries of its build/ (build them on the host first). CMD runs as root with REQUIRE_BPF=1 and
# every --env variable. Printed per kernel: release, boot time (qemu start to userspace), wall time,
# exit code and the last line of CMD's output; the whole output is in
# build/kernels/results/<release>.log, the guest's console in <release>.console. When CMD is a
# test runner that ends with "N passed, N failed" (tests/run), a last line sums them over kernels.
# Exits 1 if CMD failed, or the guest panicked, hung or timed out, on any kernel.
#
# Run it under the machine lock (flock /tmp/sidecap-heavy.lock): a guest keeps both cores busy.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
repo=$(pwd -P)

kernels="5.10 6.1 6.12"
# The whole suite takes 12-14 min on 6.1 under emulation (KERNEL-NOTES.md); 5.10 is slower.
timeout=3600
boot_timeout=180
accel=auto
append=""
envs=(REQUIRE_BPF=1)
# Loaded in every guest before CMD: what the tests need as modules on Debian's kernels (veth for
# pods, nf_tables and the xtables extensions for the iptables mode); --modules replaces the list.
# Others load on demand.
modules="veth nf_tables nft_compat nft_chain_nat xt_owner xt_REDIRECT xt_tcpudp"

usage() {
	sed -n '/^#   tests/,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--kernels) kernels=${2:?--kernels needs a list like "5.10 6.1"}; shift 2 ;;
	--env)
		[[ ${2:-} == [A-Za-z_]*=* ]] || { echo "run.sh: --env needs K=V, got '${2:-}'" >&2; exit 2; }
		envs+=("$2"); shift 2 ;;
	--timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
	--accel) accel=${2:?--accel needs auto, kvm or tcg}; shift 2 ;;
	--append) append=${2?--append needs kernel arguments}; shift 2 ;;
	--modules) modules=${2?--modules needs a list of module names}; shift 2 ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
[ $# -gt 0 ] || usage
case $accel in auto | kvm | tcg) ;; *) usage ;; esac
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "run.sh: qemu-system-x86_64 is missing; run scripts/deps.sh" >&2; exit 1; }

results=$repo/build/kernels/results
mkdir -p "$results"

# Only what this script started is ended: the qemu PID of the current guest, then its temp dir.
qemu_pid=""
share=""
cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill -9 "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null
	fi
	[ -n "$share" ] && rm -rf "$share"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Times in microseconds from bash itself (EPOCHREALTIME without its decimal point): the wait loop
# below forks nothing but sleep, so as not to take CPU from the emulator.
secs() { printf '%d.%d' $((($2 - $1) / 1000000)) $((($2 - $1) / 100000 % 10)); }

# boot RELEASE ACCEL LIMIT CMD...: boots one guest and waits for it to power off, at most LIMIT
# seconds (and boot_timeout to reach userspace). Sets g_boot, g_wall, g_rc ("" when the guest
# never wrote one) and g_why (why it was cut short, or "").
boot() {
	local rel=$1 acc=$2 limit=$3 tree
	shift 3
	tree=$repo/build/kernels/$rel
	share=$(mktemp -d "$repo/build/kernels/.guest-XXXXXX")
	{
		printf 'KREL=%q\nKMODDIR=%q\nKMODULES=%q\n' "$rel" "$tree" "$modules"
	} >"$share/env"
	{
		printf 'cd %q || exit 125\n' "$repo"
		printf 'export HOME=/root TERM=dumb'
		printf ' %q' "${envs[@]}"
		# Emulated, a guest is ~20x slower than the host: the heavy tests' load counts are
		# scaled to a quarter (tests/integration/harness.h, t_scaled), unless --env says.
		[ "$acc" = tcg ] && [[ " ${envs[*]} " != *" SIDECAP_TEST_SCALE="* ]] &&
			printf ' SIDECAP_TEST_SCALE=25'
		printf '\nexec'
		printf ' %q' "$@"
		printf '\n'
	} >"$share/job"

	local accel_opts
	if [ "$acc" = kvm ]; then
		accel_opts=(-accel kvm -cpu host)
	else
		accel_opts=(-accel "tcg,thread=multi" -cpu max)
	fi
	# panic=-1 with -no-reboot: a panicking guest ends qemu at once. tsc=reliable: the emulated
	# vCPUs read one TSC derived from the host's clock, but the kernel's sync check sees them
	# skew and falls back to the emulated HPET, which makes every clock read exit to the device
	# model (the unit tests ran 10-15% faster on TSC).
	local t0 t_boot="" t_end
	t0=${EPOCHREALTIME//[.,]/}
	qemu-system-x86_64 -name "sidecap-$rel" "${accel_opts[@]}" -m 4G -smp 2 \
		-kernel "$tree/boot/vmlinuz-$rel" -initrd "$tree/sidecap-initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 loglevel=4 tsc=reliable $append" \
		-nic none -nographic -monitor none -no-reboot -serial "file:$share/console" \
		-virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$share,mount_tag=results,security_model=none" \
		</dev/null >"$share/qemu.out" 2>&1 &
	qemu_pid=$!

	g_why=""
	local elapsed
	while kill -0 "$qemu_pid" 2>/dev/null; do
		sleep 0.2
		[ -z "$t_boot" ] && [ -f "$share/booted" ] && t_boot=${EPOCHREALTIME//[.,]/}
		elapsed=$(((${EPOCHREALTIME//[.,]/} - t0) / 1000000))
		if [ -z "$t_boot" ] && [ "$elapsed" -ge "$boot_timeout" ]; then
			g_why="did not reach userspace in ${boot_timeout} s"
		elif [ "$elapsed" -ge "$limit" ]; then
			g_why="still running after ${limit} s"
		fi
		if [ -n "$g_why" ]; then
			kill -9 "$qemu_pid" 2>/dev/null
			break
		fi
	done
	wait "$qemu_pid" 2>/dev/null
	qemu_pid=""
	t_end=${EPOCHREALTIME//[.,]/}
	g_boot=$([ -n "$t_boot" ] && secs "$t0" "$t_boot" || echo "-")
	g_wall=$(secs "$t0" "$t_end")
	g_rc=$(cat "$share/rc" 2>/dev/null)
}

# KVM only where the CPU offers it and a stock kernel really boots with it: some hosts expose a
# /dev/kvm (a paravirtual one, here) on which Debian's kernels hang. A 20 s probe decides.
# Sets chosen.
pick_accel() {
	local rel=$1 saved_boot=$boot_timeout
	chosen=tcg
	if [ "$accel" != auto ]; then
		chosen=$accel
		return
	fi
	grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ] || return 0
	boot_timeout=20
	boot "$rel" kvm 20 true
	boot_timeout=$saved_boot
	rm -rf "$share"
	share=""
	[ "$g_rc" = 0 ] && chosen=kvm
	echo "run.sh: KVM probe boot ${g_rc:+reached userspace}${g_why}: using $chosen" >&2
}

failed=0
chosen=""
# Sums of the kernels whose output ends with the test runner's "N passed, N failed"; a kernel
# without that line (its guest died, or CMD is no test runner) counts as one failure, as
# tests/run counts a suite that printed no summary.
sum_pass=0
sum_fail=0
tallied=0
for fam in $kernels; do
	line=$(tests/kernels/fetch.sh "$fam") || { echo "run.sh: cannot fetch kernel $fam" >&2; failed=1; continue; }
	rel=${line#* }
	tests/kernels/initramfs.sh "$rel" >/dev/null || { failed=1; continue; }
	[ -n "$chosen" ] || pick_accel "$rel"

	boot "$rel" "$chosen" "$timeout" "$@"
	log=$results/$rel.log
	cp "$share/console" "$results/$rel.console" 2>/dev/null
	if [ -f "$share/out" ]; then cp "$share/out" "$log"; else : >"$log"; fi
	last=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
	if [ -n "$g_why" ] || [ -z "$g_rc" ]; then
		failed=1
		echo "$rel: FAILED (${g_why:-the guest stopped before the command finished}), boot ${g_boot} s, wall ${g_wall} s; last console lines:"
		# The firmware's terminal escapes and CRs would garble the report.
		tr -d '\r' <"$share/console" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' |
			grep -av '^[[:space:]]*$' | tail -n 15 | sed 's/^/    /'
		[ -s "$share/qemu.out" ] && sed 's/^/    qemu: /' "$share/qemu.out"
	else
		[ "$g_rc" = 0 ] || failed=1
		echo "$rel: boot ${g_boot} s, wall ${g_wall} s, exit ${g_rc} ($chosen): ${last:-(no output)}"
	fi
	if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		sum_pass=$((sum_pass + BASH_REMATCH[1]))
		sum_fail=$((sum_fail + BASH_REMATCH[2]))
		tallied=1
	else
		sum_fail=$((sum_fail + 1))
	fi
	rm -rf "$share"
	share=""
done
[ $tallied = 1 ] && echo "kernels: $sum_pass passed, $sum_fail failed"
exit $failed
