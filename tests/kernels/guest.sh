#!/bin/bash
# Stage 2 of a test guest, PID 1 in the new root (this machine's / over 9p): mount what a node
# has (cgroup2, bpffs, devpts), make the kernel's module loader use the modules of the booted
# kernel, bring lo up, run the job that run.sh wrote to the results share, record its output and
# exit code there, and power off.
#
# Files of the results share: env (read: KREL, KMODDIR, KMODULES), job (read: the command),
# booted, out, rc (written).
#
# Writable here: /tmp, /run, /var/tmp and /root (tmpfs from stage 1), /dev/shm (below). The suite
# writes only to /run and /tmp; a whole tests/run on 6.1 and 6.12 hit no read-only path.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
res=/run/kguest/results

poweroff_now() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 60
}
fail() {
	echo "sidecap-guest: $*"
	poweroff_now
}
# Said on the console and at the top of CMD's output, where run.sh's caller reads.
warn() {
	echo "sidecap-guest: $*" | tee -a "$res/out"
}

# shellcheck source=/dev/null
. "$res/env" || fail "cannot read $res/env"

mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts || fail "cannot mount devpts"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || fail "cannot mount /dev/shm"
mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "cannot mount cgroup2 on /sys/fs/cgroup"
mount -t bpf bpf /sys/fs/bpf || fail "cannot mount bpffs on /sys/fs/bpf"

# The host has no /lib/modules for this kernel (and the 9p root cannot take one), so the kernel's
# own requests (iptables' extensions, veth by its link kind) go through this wrapper to the
# unpacked package's tree.
cat >/run/kguest/modprobe <<EOF
#!/bin/sh
exec /sbin/modprobe -d '$KMODDIR' "\$@"
EOF
chmod 0755 /run/kguest/modprobe
echo /run/kguest/modprobe >/proc/sys/kernel/modprobe
# One modprobe for all: under emulation every exec from the 9p root costs. On failure, one by one
# to name the module that is missing; CMD still runs (a test that needs it fails and says so).
# shellcheck disable=SC2086
if ! /run/kguest/modprobe -a $KMODULES 2>/dev/null; then
	for m in $KMODULES; do
		/run/kguest/modprobe "$m" 2>/dev/null || warn "modprobe $m failed (kernel $KREL)"
	done
fi

ip link set lo up || fail "cannot bring lo up"
hostname kguest

cut -d' ' -f1 /proc/uptime >"$res/booted"

# The job runs as a child so that this shell, PID 1, reaps the orphans that daemons of the tests
# leave behind while it waits; a zombie would still answer kill(pid, 0).
bash "$res/job" >>"$res/out" 2>&1 </dev/null &
wait $!
echo $? >"$res/rc"
poweroff_now
