#!/usr/bin/env bash
# make test-pod: deploy/kubernetes/sidecap-example.yaml played for real by `podman kube play`
# with the image `make image` built, as root, under the machine lock. Ends with "N passed, N
# failed".
#
# The played variant differs from the Kubernetes one where podman differs from a kubelet:
#   - podman 4.3 runs an initContainer with restartPolicy: Always to completion (it has no native
#     sidecars), so the interceptor is moved to the pod's containers, first; its startupProbe
#     then gates nothing, and this script waits for `interceptor ready` itself;
#   - the hostPath volumes point at a bpffs mounted for this run (so nothing of the node's is
#     touched) and at the node's cgroup2 mount (/sys/fs/cgroup/unified on a hybrid machine);
#   - --network none, and a veth moved into the pod's network namespace (through the infra
#     container's pid) to a "remote" namespace made here, for traffic in both directions.
#
# It proves: the privileges the interceptor needs (capprobe in containers with each set of
# capabilities); outbound connections through the proxy with the right original destination
# (proxy-stub's log); an excluded port reached directly; inbound connections through the proxy;
# a ConfigMap edit applied live; the interceptor container killed and restarted in the middle
# of a transfer with no byte lost and interception going on; pod removal leaving no pins,
# cgroups or network namespaces behind.
set -u
cd "$(dirname "$0")/../.."

export CONTAINERS_CONF=$PWD/deploy/containers.conf
PODMAN=(podman --runtime runc)
IMAGE=${SIDECAP_IMAGE:-localhost/sidecap:latest}
POD=sidecap-testpod
RUN=/run/sidecap-testpod
REMOTE=sctp-remote
POD_IP=10.250.0.1
REMOTE_IP=10.250.0.2
POLICY=/etc/sidecap/policy.yaml

passed=0
failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
check() { # check NAME COMMAND...: one test, by the command's exit code
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}
die() {
	echo "test-pod: $*" >&2
	exit 1
}

cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ "$(id -u)" = 0 ] || die "needs root"
[ -n "$cg2" ] || die "no cgroup2 mount"
command -v podman >/dev/null || die "podman is missing (scripts/deps.sh installs it)"
"${PODMAN[@]}" image exists "$IMAGE" || die "$IMAGE is missing: run make image"

pod_id=
infra_pid=
# What is pinned in this run's bpffs (pinned objects are regular files there), less maps.debug
# and progs.debug, which the kernel's bpf_preload puts in every bpffs it mounts. Directories are
# not objects: the interceptor keeps its pin root (sidecap/) for the pods to come.
pins() { find "$RUN/bpf" -mindepth 1 -type f ! -name maps.debug ! -name progs.debug; }
remote_pids=()

cleanup() {
	local p
	for p in "${remote_pids[@]}"; do kill "$p" 2>/dev/null; done
	"${PODMAN[@]}" pod rm -f -t 2 "$POD" >/dev/null 2>&1
	for c in $("${PODMAN[@]}" ps -a --filter label=sidecap-testpod -q 2>/dev/null); do
		"${PODMAN[@]}" rm -f "$c" >/dev/null 2>&1
	done
	"${PODMAN[@]}" pod rm -f -t 2 sidecap-capprobe >/dev/null 2>&1
	"${PODMAN[@]}" volume rm -f web-sidecap >/dev/null 2>&1
	ip netns del "$REMOTE" 2>/dev/null
	# podman's parent of pod cgroups in the cgroup2 tree, when no pod is left in it.
	rmdir "$cg2/libpod_parent" 2>/dev/null
	if mountpoint -q "$RUN/bpf"; then umount "$RUN/bpf"; fi
	rm -rf "$RUN"
}
trap cleanup EXIT INT TERM
cleanup
mkdir -p "$RUN/bpf"
# A bpffs of this run's own: everything pinned in the test is there, and only there.
mount -t bpf bpf "$RUN/bpf" || die "cannot mount a bpffs at $RUN/bpf"

# Whether this build finds the pod's cgroup itself (cgroup: auto): a policy without cgroup
# validates. Until it does, the played policy names the pod's cgroup, and says so.
printf 'proxy:\n  uid: 1337\n' >"$RUN/probe.yaml"
if build/interceptor validate "$RUN/probe.yaml" >/dev/null 2>&1; then
	auto=1
else
	auto=0
	echo "note: this interceptor has no cgroup: auto yet; the played policy names the pod's cgroup"
fi

# --- privileges: capprobe in containers of a pod of its own, with each set of capabilities.
cc -O2 -Wall -Werror -D_GNU_SOURCE -o build/capprobe tests/pod/capprobe.c -lbpf ||
	die "cannot build capprobe"
"${PODMAN[@]}" pod create --name sidecap-capprobe --network none --label sidecap-testpod >/dev/null
"${PODMAN[@]}" pod start sidecap-capprobe >/dev/null
probe_infra=$("${PODMAN[@]}" pod inspect sidecap-capprobe --format '{{.InfraContainerID}}')
probe_pid=$("${PODMAN[@]}" inspect --format '{{.State.Pid}}' "$probe_infra")
probe_cg=$(awk -F: '$1 == "0" { print $3 }' "/proc/$probe_pid/cgroup")
probe_cg=${probe_cg%/*} # the pod's cgroup: the parent of the infra container's
[ -n "$probe_cg" ] && [ "$probe_cg" != / ] || die "cannot find the capprobe pod's cgroup"
capprobe() { # capprobe SECCOMP CAPS...: capprobe's output in a container with CAPS
	local seccomp=$1 caps=("${@:2}") args=()
	for c in "${caps[@]}"; do args+=(--cap-add "$c"); done
	[ "$seccomp" = default ] || args+=(--security-opt "seccomp=$seccomp")
	"${PODMAN[@]}" run --rm --pod sidecap-capprobe --label sidecap-testpod --user 0 \
		--cap-drop all "${args[@]}" --read-only --security-opt no-new-privileges \
		-v "$PWD/build:/probe:ro" -v "$RUN/bpf:/sys/fs/bpf" -v "$cg2:/host/sys/fs/cgroup:ro" \
		--entrypoint /probe/capprobe "$IMAGE" /probe/sidecap.bpf.o \
		"/host/sys/fs/cgroup$probe_cg" /sys/fs/bpf 2>&1
}
summary() { # the steps that failed, or "all ok"
	local bad
	bad=$(grep -v -e ' ok$' -e ' skipped ' <<<"$1" | tr '\n' ' ')
	echo "${bad:-all ok}"
}
probe() { # probe NAME SECCOMP CAPS...: capprobe's steps that failed, printed and kept in $got
	got=$(summary "$(capprobe "${@:2}")")
	echo "  $1: $got"
}
probe "BPF NET_ADMIN SYS_ADMIN, default seccomp" default BPF NET_ADMIN SYS_ADMIN
check "privileges: BPF, NET_ADMIN and SYS_ADMIN load, pin and attach every program" \
	test "$got" = "all ok"
probe "BPF NET_ADMIN, default seccomp" default BPF NET_ADMIN
check "privileges: without SYS_ADMIN the runtime's seccomp profile refuses bpf()" \
	test "$got" = "load EPERM "
probe "BPF NET_ADMIN, seccomp unconfined" unconfined BPF NET_ADMIN
check "privileges: without SYS_ADMIN or PERFMON the verifier refuses the programs" \
	test "$got" = "load EACCES "
probe "BPF NET_ADMIN PERFMON, seccomp unconfined" unconfined BPF NET_ADMIN PERFMON
check "privileges: with seccomp unconfined, BPF, NET_ADMIN and PERFMON are enough" \
	test "$got" = "all ok"
probe "BPF SYS_ADMIN, default seccomp" default BPF SYS_ADMIN
probe "SYS_ADMIN, default seccomp" default SYS_ADMIN
probe "BPF PERFMON SYS_ADMIN, default seccomp" default BPF PERFMON SYS_ADMIN
"${PODMAN[@]}" pod rm -f -t 2 sidecap-capprobe >/dev/null
# podman (cgroupfs manager on a hybrid machine) removes the pod's v1 cgroups but not the cgroup2
# directory runc made for it; it is empty, and ours.
rmdir "$cg2$probe_cg" 2>/dev/null
check "privileges: capprobe left nothing pinned" test -z "$(pins)"
pins | sed 's/^/  left in the bpffs: /' | head -5

# --- the pod: the example, as podman can play it.
/usr/bin/python3 - "$RUN" "$cg2" "$IMAGE" <<'EOF' || die "cannot make the played variant"
import sys, yaml
run, cg2, image = sys.argv[1:]
docs = list(yaml.safe_load_all(open("deploy/kubernetes/sidecap-example.yaml")))
cm = [d for d in docs if d["kind"] == "ConfigMap"][0]
dep = [d for d in docs if d["kind"] == "Deployment"][0]
tmpl = dep["spec"]["template"]
spec = tmpl["spec"]
# podman runs an initContainer to completion: the interceptor becomes the first container.
ic = spec.pop("initContainers")[0]
ic.pop("restartPolicy")
# Its startupProbe would gate nothing there (podman's probes are timers of systemd, which this
# machine does not run as PID 1); the script waits for `interceptor ready` itself.
ic.pop("startupProbe")
spec["containers"].insert(0, ic)
for v in spec["volumes"]:
    if v["name"] == "sidecap-bpffs":
        v["hostPath"]["path"] = run + "/bpf"
    if v["name"] == "sidecap-cgroup":
        v["hostPath"]["path"] = cg2
for c in spec["containers"]:
    c["image"] = image
    # podman takes ports for host port mappings, which --network none cannot have.
    c.pop("ports", None)
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "sidecap-testpod", "labels": tmpl["metadata"]["labels"]},
       "spec": spec}
yaml.safe_dump(pod, open(run + "/pod.yaml", "w"), sort_keys=False)
yaml.safe_dump(cm, open(run + "/configmap.yaml", "w"), sort_keys=False)
EOF
"${PODMAN[@]}" kube play --network none --configmap "$RUN/configmap.yaml" "$RUN/pod.yaml" \
	>"$RUN/play.log" 2>&1 || {
	cat "$RUN/play.log"
	die "podman kube play failed"
}
pod_id=$("${PODMAN[@]}" pod inspect "$POD" --format '{{.Id}}')
infra=$("${PODMAN[@]}" pod inspect "$POD" --format '{{.InfraContainerID}}')
infra_pid=$("${PODMAN[@]}" inspect --format '{{.State.Pid}}' "$infra")
pod_cg=$(awk -F: '$1 == "0" { print $3 }' "/proc/$infra_pid/cgroup")
pod_cg=${pod_cg%/*}
ictr=$POD-sidecap-interceptor
check "kube play: the pod runs, in a cgroup of its own named for its id" \
	grep -q "$pod_id" <<<"$pod_cg"

# The policy as podman materialised it (a volume holding the ConfigMap's keys).
policy_file=$("${PODMAN[@]}" volume inspect web-sidecap --format '{{.Mountpoint}}' 2>/dev/null)
policy_file=${policy_file:+$policy_file/policy.yaml}
if [ -z "$policy_file" ] || [ ! -f "$policy_file" ]; then
	policy_file=$(find /var/lib/containers/storage/volumes -path '*web-sidecap*' \
		-name policy.yaml 2>/dev/null | head -n 1)
fi
check "kube play: the ConfigMap is the interceptor's $POLICY" test -f "$policy_file"
if [ "$auto" = 0 ] && [ -f "$policy_file" ]; then
	{ echo "cgroup: /host/sys/fs/cgroup$pod_cg"; cat "$policy_file"; } >"$RUN/policy.tmp"
	cat "$RUN/policy.tmp" >"$policy_file"
	"${PODMAN[@]}" restart -t 2 "$ictr" >/dev/null 2>&1
fi

# The remote host: a namespace of ours, joined to the pod's by a veth.
ip netns add "$REMOTE"
ip link add sctp-pod type veth peer name sctp-rem
ip link set sctp-rem netns "$REMOTE"
ip link set sctp-pod netns "/proc/$infra_pid/ns/net"
nsenter --net="/proc/$infra_pid/ns/net" ip addr add "$POD_IP/24" dev sctp-pod
nsenter --net="/proc/$infra_pid/ns/net" ip link set sctp-pod up
ip -n "$REMOTE" addr add "$REMOTE_IP/24" dev sctp-rem
ip -n "$REMOTE" link set sctp-rem up
ip -n "$REMOTE" link set lo up
ready() { # the interceptor reports every program attached
	local i
	for i in $(seq 1 100); do
		if "${PODMAN[@]}" exec "$ictr" /interceptor ready --config "$POLICY" >/dev/null 2>&1; then
			return 0
		fi
		# Before `interceptor ready` exists: its links on the pod's cgroup.
		if bpftool cgroup show "$cg2$pod_cg" 2>/dev/null | grep -q connect4 &&
			bpftool cgroup show "$cg2$pod_cg" 2>/dev/null | grep -q sock_ops; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
remote_server() { # remote_server PORT [ARGS...]: a tcptool server in the remote namespace
	ip netns exec "$REMOTE" build/tcptool server "$REMOTE_IP" "$1" --report --max-seconds 120 \
		"${@:2}" >>"$RUN/remote-$1.log" 2>&1 &
	remote_pids+=($!)
	ip netns exec "$REMOTE" build/tcptool wait-port "$REMOTE_IP" "$1" --timeout-ms 3000 >/dev/null
}
app() { "${PODMAN[@]}" exec "$POD-app" /tcptool "$@"; }
proxy_log() { "${PODMAN[@]}" logs "$POD-proxy" 2>/dev/null; }

remote_server 9000 --mode echo
remote_server 22 --mode echo
# The app in the pod, on 9090, excluded inbound: reached directly from the remote.
"${PODMAN[@]}" exec -d "$POD-app" /tcptool server 0.0.0.0 9090 --mode echo --max-seconds 120 \
	>/dev/null
sleep 0.3
direct_9090() {
	ip netns exec "$REMOTE" build/tcptool client "$POD_IP" 9090 --send 1K \
		--connect-timeout-ms 2000 | grep -q 'result=ok'
}
check "veth: the remote namespace reaches the pod (port 9090, excluded inbound)" direct_9090

if ! ready; then
	fail "interceptor: ready (programs attached to the pod's cgroup)"
	"${PODMAN[@]}" logs --tail 20 "$ictr" 2>&1 | sed 's/^/  interceptor: /'
	echo "test-pod: the interceptor is not running; the interception checks cannot run"
	echo "$passed passed, $failed failed"
	exit 1
fi
ok "interceptor: ready (programs attached to the pod's cgroup)"

# Outbound: through the proxy, with the right original destination.
app client "$REMOTE_IP" 9000 --send 64K >"$RUN/out.txt" 2>&1
sleep 0.3
check "outbound: intercepted, proxy-stub logs orig=$REMOTE_IP:9000 dir=out" \
	grep -q "orig=$REMOTE_IP:9000 dir=out up=65536 down=65536 .*result=ok" <<<"$(proxy_log)"
# An excluded port (22): direct, the proxy logs nothing for it.
app client "$REMOTE_IP" 22 --send 1K >/dev/null 2>&1
sleep 0.3
direct_22() { grep -q 'result=ok' "$RUN/remote-22.log" && ! proxy_log | grep -q "orig=$REMOTE_IP:22 "; }
check "outbound: excluded port 22 goes direct (reached, not in proxy-stub's log)" direct_22
# Inbound: through the proxy to the app's 8080.
ip netns exec "$REMOTE" build/tcptool client "$POD_IP" 8080 --send 8K >/dev/null 2>&1
sleep 0.3
check "inbound: to 8080 through the proxy (proxy-stub logs dir=in)" \
	grep -q "orig=$POD_IP:8080 dir=in .*result=ok" <<<"$(proxy_log)"

# A ConfigMap edit, live: port 9000 excluded, then a connection to it goes direct.
sed -i 's/excludePorts: \[22\]/excludePorts: [22, 9000]/' "$policy_file"
sleep 2
n_before=$(proxy_log | grep -c "orig=$REMOTE_IP:9000")
app client "$REMOTE_IP" 9000 --send 1K >/dev/null 2>&1
sleep 0.3
check "policy: a ConfigMap edit applies live (9000 now direct)" \
	test "$(proxy_log | grep -c "orig=$REMOTE_IP:9000")" = "$n_before"
sed -i 's/excludePorts: \[22, 9000\]/excludePorts: [22]/' "$policy_file"
sleep 2

# Kill and restart the interceptor in the middle of a transfer: no byte lost, still captured.
remote_server 9001 --mode echo --slow-read-us 2000 --chunk 16384
app client "$REMOTE_IP" 9001 --send 32M >"$RUN/bulk.txt" 2>&1 &
bulk=$!
sleep 1
"${PODMAN[@]}" kill -s KILL "$ictr" >/dev/null
sleep 0.5
"${PODMAN[@]}" start "$ictr" >/dev/null
wait "$bulk"
bulk_rc=$?
sent_sha=$(sed -n 's/.*sha_out=\([0-9a-f]*\).*/\1/p' "$RUN/bulk.txt")
recv_sha=$(sed -n 's/.*sha_in=\([0-9a-f]*\).*/\1/p' "$RUN/bulk.txt")
bulk_ok() { [ "$bulk_rc" = 0 ] && [ -n "$sent_sha" ] && [ "$sent_sha" = "$recv_sha" ]; }
check "restart: a 32 MiB echo through the proxy survives the interceptor's kill -9 + start" \
	bulk_ok
check "restart: the interceptor is ready again" ready
n_before=$(proxy_log | grep -c "orig=$REMOTE_IP:9000")
app client "$REMOTE_IP" 9000 --send 1K >/dev/null 2>&1
sleep 0.3
check "restart: new connections are still intercepted" \
	test "$(proxy_log | grep -c "orig=$REMOTE_IP:9000")" -gt "$n_before"

# Pod removal: no pins, no cgroup, no network namespace left.
pod_ns=$(readlink "/proc/$infra_pid/ns/net")
pod_ns_ino=$(stat -L -c %i "/proc/$infra_pid/ns/net")
pod_ns_file=$(find /run/netns -maxdepth 1 -type f -inum "$pod_ns_ino" 2>/dev/null | head -n 1)
echo "  the pod's network namespace: $pod_ns, file ${pod_ns_file:-none}"
"${PODMAN[@]}" pod rm -f -t 5 "$POD" >/dev/null
ns_gone() {
	! find /proc/[0-9]*/ns/net -lname "$pod_ns" 2>/dev/null | grep -q . &&
		{ [ -z "$pod_ns_file" ] || [ ! -e "$pod_ns_file" ]; }
}
for i in $(seq 1 50); do
	[ -z "$(pins)" ] && [ ! -d "$cg2$pod_cg" ] && ns_gone && break
	sleep 0.1
done
check "removal: no pins left in the bpffs" test -z "$(pins)"
pins | sed 's/^/  left in the bpffs: /' | head -5
# As for the capprobe pod, podman may leave the pod's cgroup2 directory; the check is that no
# process and no sidecap program is left in it.
cg_clean() {
	[ ! -d "$cg2$pod_cg" ] && return 0
	[ -z "$(find "$cg2$pod_cg" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] &&
		! bpftool cgroup tree "$cg2$pod_cg" 2>/dev/null | grep -q sc_
}
check "removal: no process or program left in the pod's cgroup" cg_clean
if [ -d "$cg2$pod_cg" ]; then
	echo "  podman left $cg2$pod_cg (empty); removed"
	rmdir "$cg2$pod_cg" 2>/dev/null
fi
check "removal: the pod's network namespace is gone (no process in it, no file for it)" ns_gone

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
