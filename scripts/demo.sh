#!/usr/bin/env bash
# The demo pod: an app in its own network namespace and cgroup connects to a "remote" service;
# the interceptor sends the connection through proxy-stub (the sidecar, uid 1337) with no
# iptables rule anywhere. Everything it creates is removed on every exit path.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates namespaces and attaches BPF programs)"; exit 1; }

B=build
POD=scdemo-pod
REM=scdemo-remote
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG2" ] || { echo "demo: no cgroup2 mount (mount -t cgroup2 none /sys/fs/cgroup)"; exit 1; }
CG=$CG2/sidecap-demo
WORK=$(mktemp -d /tmp/sidecap-demo.XXXXXX)
CONF=$WORK/mesh.yaml
PIN=/sys/fs/bpf/sidecap/demo
pids=()
daemon=

cleanup() {
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
		kill -TERM "$daemon"; wait "$daemon" 2>/dev/null
	fi
	[ -e "$PIN" ] && $B/interceptor cleanup --config "$CONF" >/dev/null
	rmdir /sys/fs/bpf/sidecap 2>/dev/null
	wait 2>/dev/null
	if [ -d "$CG" ]; then echo 1 >"$CG/cgroup.kill"; sleep 0.2; rmdir "$CG"; fi
	ip netns del $POD 2>/dev/null
	ip netns del $REM 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Run a command as a process of the pod: in its cgroup first, then in its network namespace.
in_pod() { sh -c 'echo $$ > "$0/cgroup.procs" && exec nsenter --net=/run/netns/'$POD' "$@"' "$CG" "$@"; }
# exec: started in the background, the PID in $! is the command's own, which cleanup ends (the
# remote host's processes are in no cgroup of ours).
in_remote() { exec nsenter --net=/run/netns/$REM "$@"; }

say "pod: netns $POD (10.98.0.1) + cgroup $CG; remote host: netns $REM (10.98.0.2)"
ip netns add $POD
ip netns add $REM
ip -n $POD link set lo up
ip -n $REM link set lo up
ip link add demo0 netns $POD type veth peer name demo1 netns $REM
ip -n $POD addr add 10.98.0.1/24 dev demo0 && ip -n $POD link set demo0 up
ip -n $REM addr add 10.98.0.2/24 dev demo1 && ip -n $REM link set demo1 up
mkdir -p "$CG"

cat >"$CONF" <<YAML
cgroup: $CG
pinPath: $PIN
proxy:
  uid: 1337
outbound:
  includeIPRanges: ["*"]
  excludePorts: [9090]
acceleration: true
dns:
  capture: true
YAML
say "policy ($CONF)"
cat "$CONF"
$B/interceptor validate "$CONF"

say "remote service: tcptool echo server on 10.98.0.2:8080 and :9090"
(in_remote $B/tcptool server 10.98.0.2 8080 --mode echo --ready-file "$WORK/s1" >/dev/null 2>&1) &
pids+=($!)
(in_remote $B/tcptool server 10.98.0.2 9090 --mode echo --ready-file "$WORK/s2" >/dev/null 2>&1) &
pids+=($!)

say "interceptor run"
$B/interceptor run --config "$CONF" --ready-file "$WORK/daemon.ready" 2>"$WORK/daemon.log" &
daemon=$!
for _ in $(seq 100); do [ -e "$WORK/daemon.ready" ] && break; sleep 0.05; done
cat "$WORK/daemon.log"
[ -e "$WORK/daemon.ready" ] || { echo "demo: the interceptor did not start"; exit 1; }

say "sidecar: proxy-stub as uid 1337 in the pod"
in_pod $B/proxy-stub --user 1337 --log --ready-file "$WORK/proxy.ready" >"$WORK/proxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -e "$WORK/proxy.ready" ] && [ -e "$WORK/s1" ] && [ -e "$WORK/s2" ] && break; sleep 0.05; done
chmod 1777 "$WORK"

say "the app connects to 10.98.0.2:8080 and sends 1 MiB (echoed back)"
in_pod $B/tcptool client 10.98.0.2 8080 --send 1M
echo "-> peer= is what the app's getpeername() says: the original destination, as under iptables"

say "the app connects to 10.98.0.2:9090 (excluded port: goes direct)"
in_pod $B/tcptool client 10.98.0.2 9090 --send 64

say "the sidecar's DNS server on 127.0.0.1:15053 (uid 1337) answers 10.98.0.53; nothing answers on 10.98.0.2:53"
in_pod setpriv --reuid 1337 --regid 1337 --clear-groups $B/dnsload server 127.0.0.1 15053 --answer 10.98.0.53 \
	--seconds 60 >"$WORK/dns.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q ready "$WORK/dns.log" 2>/dev/null && break; sleep 0.05; done
say "the app looks up db.mesh.test with getaddrinfo, its resolv.conf naming 10.98.0.2"
echo "nameserver 10.98.0.2" >"$WORK/resolv.conf"
in_pod unshare --mount sh -c "mount --bind $WORK/resolv.conf /etc/resolv.conf && getent ahostsv4 db.mesh.test | head -n 1"
say "the same query sent with sendto() to 10.98.0.2:53: answered by the sidecar, read as from 10.98.0.2:53"
in_pod $B/dnsload client 10.98.0.2 53 --queries 1

say "1000 short request/response connections from the app"
in_pod $B/tcptool client 10.98.0.2 8080 --repeat 1000 --send 64

sleep 0.3
say "proxy-stub's log (first 3 of $(grep -c '^conn ' "$WORK/proxy.log") connections)"
grep '^conn ' "$WORK/proxy.log" | sed -n 1,3p

say "interceptor status (read from the pins alone)"
$B/interceptor status --config "$CONF" | grep -v ' 0$'

say "stopping: SIGTERM detaches and unpins"
kill -TERM $daemon; wait $daemon || true; daemon=
tail -n 1 "$WORK/daemon.log"
[ -e "$PIN" ] && { echo "demo: $PIN still pinned"; exit 1; }
echo "demo: done"
