#!/usr/bin/env bash
# The side-by-side benchmark: an app's traffic through its sidecar with no interception
# ("direct"), with Istio's iptables REDIRECT rules, and with sidecap's BPF programs with and
# without the sk_msg acceleration. Two topologies (one pod and a remote host; two pods on one
# node), four workloads (64 B request/response, one bulk stream, new connections, HTTP) and the
# cost of policy size (extra nat rules against services in the BPF maps).
#
# Everything runs in network namespaces and child cgroups that this script creates, and is
# removed on every exit path: nothing is attached to the root cgroup, linked into the root netns,
# or added to the root netns' iptables. Raw figures go to build/bench/raw.jsonl; bench/report.py
# turns them into results.md, results.json and PNG plots.
#
# Environment: BENCH_QUICK=1 (one repetition, short runs: under 3 minutes), BENCH_REPS, BENCH_T
# (seconds per sockperf/iperf3/wrk run), BENCH_CONNS (connections per tcptool run),
# BENCH_SCALE (policy sizes, e.g. "10 1000 10000"), BENCH_SCALE_REPS (repetitions of the policy
# scale points, at most BENCH_REPS), BENCH_ONLY (space-separated subset of
# "pod two scale profile dns"), BENCH_WORKLOADS (subset of "rr bulk conn mixed http", the
# workloads of pod and two), BENCH_DNS_QUERIES (queries per DNS run), BENCH_PROF_CONNS / BENCH_PROF_REPS / BENCH_PROF_HZ /
# BENCH_PROF_RR_T / BENCH_PROF_KEEP (the profile pass: connections per run, repetitions, perf
# samples per second, seconds of ping-pong and of bulk, 1 to keep perf's data files), BENCH_PIN
# (below), BENCH_OUT (where the figures go, default build/bench). `make bench` runs this twice,
# pinned and with BENCH_PIN=none, and bench/targets.py compares both with the targets.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "bench: run as root (namespaces, cgroups, BPF)" >&2; exit 1; }

# Every tool is needed: a missing conntrack or nft would silently skip the hygiene between modes
# (and leave conntrack active after the iptables mode), a missing jq would lose the bulk figures.
missing=()
for t in sockperf:sockperf iperf3:iperf3 wrk:wrk nginx:nginx-light haproxy:haproxy \
	iptables:iptables nft:nftables conntrack:conntrack jq:jq gnuplot:gnuplot-nox \
	python3:python3 taskset:util-linux nsenter:util-linux ss:iproute2 perf:linux-perf bpftool:bpftool; do
	command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
done
[ ${#missing[@]} -eq 0 ] || { echo "bench: missing: apt-get install ${missing[*]}" >&2; exit 1; }

# One run at a time: a second one would take the first's namespaces for stale leftovers and
# remove them. Taken before the cleanup trap, so a refused run touches nothing.
exec 9>/run/lock/sidecap-bench.lock
flock -n 9 || { echo "bench: another bench/run.sh is running (/run/lock/sidecap-bench.lock)" >&2; exit 1; }

B=$PWD/build
OUT=${BENCH_OUT:-$B/bench}
QUICK=${BENCH_QUICK:-0}
# Five short repetitions rather than three long ones: on these machines a single run of any mode
# can land 10-20% off the others (a slow few seconds of the VM), and a median of five still
# ignores two such runs where a median of three is moved by one.
if [ "$QUICK" = 1 ]; then
	REPS=${BENCH_REPS:-1} T=${BENCH_T:-2} CONNS=${BENCH_CONNS:-300} SCALE=${BENCH_SCALE:-"10 1000 10000"}
	SCALE_REPS=${BENCH_SCALE_REPS:-1}
else
	REPS=${BENCH_REPS:-5} T=${BENCH_T:-2} CONNS=${BENCH_CONNS:-5000} SCALE=${BENCH_SCALE:-"10 1000 10000"}
	SCALE_REPS=${BENCH_SCALE_REPS:-3}
fi
ONLY=${BENCH_ONLY:-"pod two scale profile dns"}
# The workloads of pod and two (a subset, to look at one of them more closely).
WORKLOADS=${BENCH_WORKLOADS:-"rr bulk conn mixed http"}
# The mixed workload (90% short connections, 10% long ones, at once) runs with pod and two.
MIXED=${BENCH_MIXED:-1}
DNS_QUERIES=${BENCH_DNS_QUERIES:-1000000} # a bound: each run stops after T seconds
DNS_CONF=0 # 1 while a DNS run writes its config: dns.capture on
if [ "$QUICK" = 1 ]; then
	PROF_CONNS=${BENCH_PROF_CONNS:-2000} PROF_REPS=${BENCH_PROF_REPS:-1}
else
	# As many connections as a main-table run, so that the profile explains that table. Twice
	# as many measured another regime: under iptables the app's and the sidecar's sockets both
	# connect from the pod's address to the remote one, two TIME_WAIT sockets per connection to
	# one destination (none reusable in its first second), and 13% of iptables' CPU went to
	# the ephemeral port search (docs/benchmarks.md).
	PROF_CONNS=${BENCH_PROF_CONNS:-$CONNS} PROF_REPS=${BENCH_PROF_REPS:-1}
fi
PROF_HZ=${BENCH_PROF_HZ:-2000}
PROF_KEEP=${BENCH_PROF_KEEP:-0} # 1: keep perf's data files (build/bench/profile/*.data)
PROF_RR_T=${BENCH_PROF_RR_T:-$([ "$QUICK" = 1 ] && echo 1 || echo 2)}
MODES=(direct iptables ebpf ebpf-noaccel)
# The quick run profiles only the comparison the targets are about, to stay within its bound.
PROF_MODES=("${MODES[@]}")
[ "$QUICK" = 1 ] && PROF_MODES=(iptables ebpf)
# Every process of the benchmark (apps, sidecars, servers) runs on one CPU by default: on a small
# VM a wake-up across vCPUs costs tens of µs and lands at random, which buries the differences
# between modes (64 B round trips measured 7 µs or 100 µs from one run to the next). The figures
# then show the CPU work per request. BENCH_PIN=none leaves the scheduler free; BENCH_PIN=LIST
# pins to that CPU list.
PIN=${BENCH_PIN:-$(($(nproc) - 1))}
PINCMD=()
[ "$PIN" = none ] || PINCMD=(taskset -c "$PIN")
SVC_PORT=80            # the port of the scale services and rules: never the one we connect to
P_RR=11111 P_BULK=5201 P_CONN=8080 P_HTTP=8081 P_LONG=8082
WRK_CONNS=16
# Each tool has its own bound (-t, -d, --max-seconds); timeout(1) is a backstop for hangs.
BOUND=$((T + 30))

CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG2" ] || { echo "bench: no cgroup2 mount" >&2; exit 1; }
CGP=$CG2/sidecap-bench
PINBASE=/sys/fs/bpf/sidecap
NSS=(bench-pod bench-remote bench-cli bench-srv)
CGS=(pod remote cli srv)
WORK=$(mktemp -d /tmp/sidecap-bench.XXXXXX)
chmod 755 "$WORK"
pids=()     # long-lived servers
mpids=()    # this mode's sidecars
daemons=()  # this mode's interceptor daemons
confs=()    # configs of the daemons started (for `interceptor cleanup`)
T0=$(date +%s)

log() { printf '[bench %4ds] %s\n' $(($(date +%s) - T0)) "$*" >&2; }

stop_pid() {
	local p=$1
	kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

stop_mode() { # [LABEL]
	local p c
	for p in "${mpids[@]}"; do stop_pid "$p"; done
	mpids=()
	for p in "${daemons[@]}"; do stop_pid "$p"; done
	daemons=()
	for c in "${confs[@]}"; do
		[ -e "$(awk '$1 == "pinPath:" { print $2 }' "$c")" ] && $B/interceptor cleanup --config "$c" >/dev/null 2>&1
	done
	confs=()
	for ns in "${NSS[@]}"; do
		[ -e /run/netns/$ns ] || continue
		# These namespaces are ours alone: empty their whole netfilter ruleset. Flushing the nat
		# rules (iptables -F/-X) would leave the nft table "ip nat" and its base chains, whose
		# hooks keep conntrack and NAT lookups on every packet of the modes that follow.
		in_ns "$ns" nft flush ruleset 2>/dev/null || true
		in_ns "$ns" iptables -t nat -F 2>/dev/null || true
		in_ns "$ns" iptables -t nat -X 2>/dev/null || true
		in_ns "$ns" conntrack -F >/dev/null 2>&1 || true
		# TIME_WAIT sockets of this mode's connections would make the next mode's connects
		# search for ports and take over TIME_WAIT sockets (TcpExtTWRecycled), a cost that
		# depends on the order of the modes: every mode starts without any.
		in_ns "$ns" ss -K state time-wait >/dev/null 2>&1 || true
		if [ -n "$(in_ns "$ns" ss -Htan state time-wait 2>/dev/null | head -1)" ]; then
			log "WARNING: TIME_WAIT sockets left in $ns after ${1:-setup} (ss -K refused: no CONFIG_INET_DIAG_DESTROY?)"
		fi
		if [ -n "$(in_ns "$ns" nft list tables 2>/dev/null)" ]; then
			log "WARNING: netfilter tables left in $ns after ${1:-setup}: $(in_ns "$ns" nft list tables | tr '\n' ' ')"
		fi
	done
	return 0
}

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	stop_mode
	for p in "${pids[@]}"; do stop_pid "$p"; done
	for c in "${CGS[@]}"; do
		[ -d "$CGP/$c" ] || continue
		echo 1 >"$CGP/$c/cgroup.kill"
		for _ in $(seq 50); do [ -s "$CGP/$c/cgroup.procs" ] || break; sleep 0.1; done
		rmdir "$CGP/$c"
	done
	[ -d "$CGP" ] && rmdir "$CGP"
	for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null; done
	for n in "${NSS[@]}"; do rm -rf "${PINBASE:?}/$n"; done
	# The node's shared pins go with the last pod (interceptor cleanup does it); after a crash,
	# only when no other pod is pinned beside them.
	[ -z "$(ls -A "$PINBASE" 2>/dev/null | grep -v '^_node')" ] && rm -rf "${PINBASE:?}"/_node*
	rmdir "$PINBASE" 2>/dev/null
	rm -rf "$WORK"
	log "cleaned up"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run a command as a process of pod CG in netns NS: join the cgroup first, then the netns.
in_cg() {
	local cg=$1 ns=$2
	shift 2
	sh -c 'echo $$ > "$0/cgroup.procs" && exec nsenter --net=/run/netns/'"$ns"' "$@"' "$CGP/$cg" \
		"${PINCMD[@]}" "$@"
}
# Start a command of pod CG in netns NS in the background; BGPID is its pid. The sh execs
# nsenter, which execs the command, so BGPID is the command itself (a shell function run with &
# would leave a subshell between us and it, and killing the subshell would orphan the command).
bg_cg() {
	local cg=$1 ns=$2
	shift 2
	sh -c 'echo $$ > "$0/cgroup.procs" && exec nsenter --net=/run/netns/'"$ns"' "$@"' "$CGP/$cg" \
		"${PINCMD[@]}" "$@" &
	BGPID=$!
}
in_ns() {
	local ns=$1
	shift
	nsenter --net=/run/netns/$ns "$@"
}

wait_listen() { # NS PORT
	for _ in $(seq 100); do
		[ -n "$(in_ns "$1" ss -Hltn "sport = :$2")" ] && return 0
		sleep 0.05
	done
	log "nothing listens on port $2 in $1"
	return 1
}

cpu_usec() { # CG... -> sum of usage_usec
	local s=0 c u
	for c in "$@"; do
		u=$(awk '$1 == "usage_usec" { print $2 }' "$CGP/$c/cpu.stat")
		s=$((s + u))
	done
	echo $s
}
now_ns() { date +%s%N; }
# Arithmetic for the JSON records (bc would print ".5", which JSON refuses).
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }

# Leftovers of an earlier, killed run of this script carry our names: remove them first.
for n in "${NSS[@]}"; do
	[ -e /run/netns/$n ] && { log "removing stale netns $n"; ip netns del "$n"; }
done
for n in "${NSS[@]}"; do [ -d "$PINBASE/$n" ] && rm -rf "${PINBASE:?}/$n"; done

mkdir -p "$OUT" "$CGP"
for c in "${CGS[@]}"; do mkdir -p "$CGP/$c"; done
RAW=$OUT/raw.jsonl
: >"$RAW"
rm -rf "$OUT/status" "$OUT/plots" "$OUT/profile"

# Topologies. one pod: bench-pod (10.201.1.1, cgroup pod) -- veth -- bench-remote (10.201.1.2).
# two pods: bench-cli (10.201.2.1, cgroup cli) -- veth -- bench-srv (10.201.2.2, cgroup srv).
mk_link() { # NS_A ADDR_A NS_B ADDR_B IFNAME
	ip -n "$1" link add "$5a" type veth peer name "$5b" netns "$3"
	ip -n "$1" addr add "$2/24" dev "$5a"
	ip -n "$3" addr add "$4/24" dev "$5b"
	ip -n "$1" link set "$5a" up
	ip -n "$3" link set "$5b" up
}
for n in "${NSS[@]}"; do
	ip netns add "$n"
	ip -n "$n" link set lo up
	# Hygiene: TIME_WAIT reuse inside the benchmark namespaces only.
	in_ns "$n" sysctl -qw net.ipv4.tcp_tw_reuse=1
done
mk_link bench-pod 10.201.1.1 bench-remote 10.201.1.2 bp
mk_link bench-cli 10.201.2.1 bench-srv 10.201.2.2 bc
# Istio's pods keep IPv6 off in these tests: the sidecars' [::1]:15001 default still binds.

start_servers() { # CG NS: sockperf, iperf3, tcptool echo, nginx on 0.0.0.0
	local cg=$1 ns=$2 d=$WORK/$2
	mkdir -p "$d"
	bg_cg "$cg" "$ns" sockperf server --tcp -i 0.0.0.0 -p $P_RR >"$d/sockperf.log" 2>&1
	pids+=($BGPID)
	bg_cg "$cg" "$ns" iperf3 -s -p $P_BULK >"$d/iperf3.log" 2>&1
	pids+=($BGPID)
	bg_cg "$cg" "$ns" $B/tcptool server 0.0.0.0 $P_CONN --mode echo --max-seconds 86400 \
		>"$d/tcptool.log" 2>&1
	pids+=($BGPID)
	# The long-lived destination of the mixed workload: another port, so another destination.
	bg_cg "$cg" "$ns" $B/tcptool server 0.0.0.0 $P_LONG --mode echo --max-seconds 86400 \
		>"$d/tcptool-long.log" 2>&1
	pids+=($BGPID)
	mkdir -p "$d/nginx"
	cat >"$d/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $d/nginx/nginx.pid;
error_log $d/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $d/nginx/body;
	proxy_temp_path $d/nginx/proxy;
	fastcgi_temp_path $d/nginx/fastcgi;
	uwsgi_temp_path $d/nginx/uwsgi;
	scgi_temp_path $d/nginx/scgi;
	keepalive_requests 1000000;
	server {
		listen 0.0.0.0:$P_HTTP;
		location / { default_type text/plain; return 200 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n"; }
	}
}
EOF
	bg_cg "$cg" "$ns" nginx -p "$d/nginx" -c "$d/nginx/nginx.conf" >"$d/nginx.out" 2>&1
	pids+=($BGPID)
	for p in $P_RR $P_BULK $P_CONN $P_HTTP $P_LONG; do wait_listen "$ns" $p; done
}

# iptables: Istio's REDIRECT rules (istio-iptables defaults, IPv4), or the daemon's own rules.
IPT_DAEMON=0 IPT_RULES_CMD=0
probe_iptables_mode() {
	printf 'cgroup: %s\nmode: iptables\nnetns: /run/netns/bench-pod\n' "$CGP/pod" >"$WORK/probe.yaml"
	if $B/interceptor validate "$WORK/probe.yaml" >/dev/null 2>&1; then IPT_DAEMON=1; fi
	if $B/interceptor iptables-rules --config "$WORK/probe.yaml" --family 4 >/dev/null 2>&1; then
		IPT_RULES_CMD=1
	fi
}
istio_rules() {
	cat <<'EOF'
*nat
:ISTIO_INBOUND - [0:0]
:ISTIO_IN_REDIRECT - [0:0]
:ISTIO_OUTPUT - [0:0]
:ISTIO_REDIRECT - [0:0]
-A PREROUTING -p tcp -j ISTIO_INBOUND
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_INBOUND -p tcp -m tcp --dport 15008 -j RETURN
-A ISTIO_INBOUND -p tcp -m tcp --dport 15090 -j RETURN
-A ISTIO_INBOUND -p tcp -m tcp --dport 15021 -j RETURN
-A ISTIO_INBOUND -p tcp -m tcp --dport 15020 -j RETURN
-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT
-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN
-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -p tcp -m tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -p tcp -m tcp ! --dport 15008 -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
-A ISTIO_OUTPUT -j ISTIO_REDIRECT
-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001
COMMIT
EOF
}
# N non-matching rules walked by every new connection, as kube-proxy's service rules are: one
# per service VIP:port in a chain (its KUBE-SERVICES) jumped to from the head of the pod's nat
# OUTPUT chain, none of which we connect to. One chain of appended rules, not N inserts at the
# head of OUTPUT: the same walk per packet, installed in a second instead of ten.
vip() { echo "10.96.$(($1 / 250)).$(($1 % 250 + 1))"; }
scale_rules() {
	local n=$1 i
	echo '*nat'
	echo ':BENCH-SVC - [0:0]'
	echo ':BENCH-SERVICES - [0:0]'
	echo '-I OUTPUT 1 -j BENCH-SERVICES'
	for ((i = 0; i < n; i++)); do
		echo "-A BENCH-SERVICES -d $(vip $i)/32 -p tcp -m tcp --dport $SVC_PORT -j BENCH-SVC"
	done
	echo 'COMMIT'
}

write_conf() { # NAME CG NS ACCEL NSVC [MODE] -> path
	local f=$WORK/$1.yaml i
	{
		echo "cgroup: $CGP/$2"
		echo "pinPath: $PINBASE/$3"
		echo "netns: /run/netns/$3"
		[ -n "${6:-}" ] && echo "mode: $6"
		echo "proxy:"
		echo "  uid: 1337"
		echo "acceleration: $4"
		[ "$DNS_CONF" = 1 ] && printf 'dns:\n  capture: true\n'
		if [ "$5" -gt 0 ]; then
			echo "services:"
			for ((i = 0; i < $5; i++)); do
				echo "  - {name: svc-$i, vip: $(vip $i), port: $SVC_PORT, endpoints: [{address: 10.97.$((i / 250)).$((i % 250 + 1)), port: 8080}]}"
			done
		fi
	} >"$f"
	echo "$f"
}

start_daemon() { # CONF
	local c=$1 rf=$WORK/daemon.$RANDOM.ready t0
	t0=$(now_ns)
	$B/interceptor run --config "$c" --ready-file "$rf" >>"$WORK/daemon.log" 2>&1 &
	daemons+=($!)
	confs+=("$c")
	for _ in $(seq 600); do [ -e "$rf" ] && break; sleep 0.05; done
	[ -e "$rf" ] || { log "interceptor did not start ($c)"; tail -5 "$WORK/daemon.log" >&2; return 1; }
	SETUP_S=$(calc "($(now_ns) - $t0) / 1000000000")
}

# Install interception for MODE in pod CG/NS with NSVC services (ebpf) or extra rules (iptables).
intercept() { # MODE CG NS NSVC
	local mode=$1 cg=$2 ns=$3 n=$4 c t0
	SETUP_S=0
	case $mode in
	direct) ;;
	iptables)
		t0=$(now_ns)
		if [ $IPT_DAEMON = 1 ]; then
			start_daemon "$(write_conf "$ns-ipt" "$cg" "$ns" true 0 iptables)"
		elif [ $IPT_RULES_CMD = 1 ]; then
			c=$(write_conf "$ns-ipt" "$cg" "$ns" true 0 iptables)
			$B/interceptor iptables-rules --config "$c" --family 4 | in_ns "$ns" iptables-restore --noflush
		else
			istio_rules | in_ns "$ns" iptables-restore --noflush
		fi
		# Whoever installed them, the REDIRECT rules must be there, or this is "direct" again.
		if ! in_ns "$ns" iptables -t nat -S | grep -q -- '--to-ports 15001'; then
			log "iptables: no REDIRECT rule in $ns after setup ($IPT_HOW); installing Istio's rules here"
			istio_rules | in_ns "$ns" iptables-restore --noflush
		fi
		if [ "$n" -gt 0 ]; then
			scale_rules "$n" | in_ns "$ns" iptables-restore --noflush
			local have
			have=$(in_ns "$ns" iptables -t nat -S BENCH-SERVICES | grep -c -- '-j BENCH-SVC' || true)
			[ "$have" = "$n" ] || log "iptables: $have extra rules in $ns BENCH-SERVICES, wanted $n"
			in_ns "$ns" iptables -t nat -S OUTPUT | sed -n 2p | grep -q -- '-j BENCH-SERVICES' ||
				log "iptables: BENCH-SERVICES is not the first rule of $ns OUTPUT"
		fi
		SETUP_S=$(calc "($(now_ns) - $t0) / 1000000000")
		;;
	ebpf) start_daemon "$(write_conf "$ns-ebpf" "$cg" "$ns" adaptive "$n")" ;;
	ebpf-noaccel) start_daemon "$(write_conf "$ns-ebpf" "$cg" "$ns" never "$n")" ;;
	esac
}

start_stub() { # CG NS [inbound]
	local rf=$WORK/stub.$2.ready args=(--user 1337 --ready-file "$WORK/stub.$2.ready")
	rm -f "$rf"
	[ "${3:-}" = inbound ] && args+=(--inbound 0.0.0.0:15006)
	bg_cg "$1" "$2" $B/proxy-stub "${args[@]}" >>"$WORK/stub.$2.log" 2>&1
	mpids+=($BGPID)
	for _ in $(seq 100); do [ -e "$rf" ] && break; sleep 0.05; done
	wait_listen "$2" 15001
	[ "${3:-}" = inbound ] && wait_listen "$2" 15006
	return 0
}

# HAProxy as the sidecar, uid 1337, foreground, ended by PID. Outbound: 127.0.0.1:15001 forwards
# to the original destination ("server s 0.0.0.0:0"). Inbound (the server pod): 0.0.0.0:15006
# forwards to the app on 127.0.0.1 from 127.0.0.6, as Istio's inbound passthrough does.
start_haproxy() { # CG NS [inbound]
	local f=$WORK/haproxy.$2.cfg
	cat >"$f" <<EOF
global
	maxconn 2000
	uid 1337
	gid 1337
	nbthread 1
defaults
	mode http
	timeout connect 5s
	timeout client 60s
	timeout server 60s
frontend out
	bind 127.0.0.1:15001
	default_backend orig
backend orig
	server s 0.0.0.0:0
EOF
	if [ "${3:-}" = inbound ]; then
		cat >>"$f" <<EOF
frontend in
	bind 0.0.0.0:15006
	default_backend app
backend app
	server s 127.0.0.1:$P_HTTP source 127.0.0.6
EOF
	fi
	bg_cg "$1" "$2" haproxy -f "$f" -db >>"$WORK/haproxy.$2.log" 2>&1
	mpids+=($BGPID)
	wait_listen "$2" 15001
	[ "${3:-}" = inbound ] && wait_listen "$2" 15006
	return 0
}
stop_sidecars() {
	local p
	for p in "${mpids[@]}"; do stop_pid "$p"; done
	mpids=()
}

# Proof that the traffic went where the mode says: how many connections each proxy-stub
# accepted (its exit line), and the interceptor's counters (status --json, kept as files).
check_stubs() { # TOPO MODE REP OUT_NS [IN_NS]
	local out=0 in=0 l
	if [ "$2" != direct ]; then
		l=$(grep 'exiting:' "$WORK/stub.$4.log" | tail -1 || true)
		out=$(sed -n 's/.* accepted=\([0-9]*\).*/\1/p' <<<"$l")
		if [ -n "${5:-}" ]; then
			l=$(grep 'exiting:' "$WORK/stub.$5.log" | tail -1 || true)
			in=$(sed -n 's/.* accepted=\([0-9]*\).*/\1/p' <<<"$l")
		fi
		[ "${out:-0}" -gt 0 ] || log "WARNING: $1/$2: the sidecar accepted no connection: nothing was intercepted"
	fi
	emit "$1" "$2" "$3" check "$(printf '"ok":true,"stub_out_accepted":%s,"stub_in_accepted":%s' "${out:-0}" "${in:-0}")"
}
save_status() { # TOPO MODE REP
	local c i=0
	mkdir -p "$OUT/status"
	for c in "${confs[@]}"; do
		$B/interceptor status --config "$c" --json >"$OUT/status/$1-$2-$3-$i.json" 2>/dev/null || true
		i=$((i + 1))
	done
}

emit() { # TOPO MODE REP WORKLOAD JSON-OBJECT-BODY
	printf '{"topo":"%s","mode":"%s","rep":%d,"workload":"%s",%s}\n' "$1" "$2" "$3" "$4" "$5" >>"$RAW"
}
num() { [[ $1 =~ ^-?[0-9.]+([eE][-+]?[0-9]+)?$ ]] && echo "$1" || echo null; }

# 64 B ping-pong on one persistent connection.
w_rr() { # TOPO MODE REP ACG ANS DST CPU_CGS...
	local topo=$1 mode=$2 rep=$3 acg=$4 ans=$5 dst=$6
	shift 6
	local f=$WORK/rr.out c0 c1 rt rx
	c0=$(cpu_usec "$@")
	in_cg "$acg" "$ans" timeout -k 5 $BOUND sockperf ping-pong --tcp -i "$dst" -p $P_RR -t "$T" \
		-m 64 --full-rtt 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$f" || true
	c1=$(cpu_usec "$@")
	rt=$(sed -n 's/.*\[Valid Duration\] RunTime=\([0-9.]*\) sec.*/\1/p' "$f")
	rx=$(sed -n 's/.*\[Valid Duration\].*ReceivedMessages=\([0-9]*\).*/\1/p' "$f")
	# The CPU window is the whole run (warm-up included): divide by every message sent.
	local all=$(sed -n 's/.*\[Total Run\].*ReceivedMessages=\([0-9]*\).*/\1/p' "$f")
	pct() { num "$(sed -n "s/.*percentile $1 = *\([0-9.]*\).*/\1/p" "$f")"; }
	if [ -z "$rx" ] || [ "${all:-0}" = 0 ]; then
		log "rr $topo/$mode: sockperf failed: $(tail -2 "$f" | tr '\n' ' ')"
		emit "$topo" "$mode" "$rep" rr '"ok":false'
		return 0
	fi
	emit "$topo" "$mode" "$rep" rr "$(printf '"ok":true,"p50_us":%s,"p90_us":%s,"p99_us":%s,"p999_us":%s,"rr_per_s":%s,"cpu_us_per_req":%s,"msgs":%s' \
		"$(pct 50.000)" "$(pct 90.000)" "$(pct 99.000)" "$(pct 99.900)" \
		"$(calc "$rx / $rt")" "$(calc "($c1 - $c0) / $all")" "$rx")"
}

# One unthrottled stream, app -> server.
w_bulk() { # TOPO MODE REP ACG ANS DST CPU_CGS...
	local topo=$1 mode=$2 rep=$3 acg=$4 ans=$5 dst=$6
	shift 6
	local f=$WORK/bulk.json c0 c1 rc=0 bps bytes err retr enomem
	c0=$(cpu_usec "$@")
	in_cg "$acg" "$ans" timeout -k 5 $BOUND iperf3 -c "$dst" -p $P_BULK -t "$T" -J >"$f" 2>"$f.err" || rc=$?
	c1=$(cpu_usec "$@")
	bps=$(jq -r '.end.sum_received.bits_per_second // empty' "$f" 2>/dev/null || true)
	bytes=$(jq -r '.end.sum_received.bytes // empty' "$f" 2>/dev/null || true)
	retr=$(jq -r '.end.sum_sent.retransmits // empty' "$f" 2>/dev/null || true)
	err=$(jq -r '.error // empty' "$f" 2>/dev/null || true)
	err="$err$(cat "$f.err")"
	enomem=0
	grep -qi 'cannot allocate memory\|ENOMEM' <<<"$err" && enomem=1
	[ $rc = 0 ] && [ -z "$err" ] || log "bulk $topo/$mode: iperf3 rc=$rc ${err:0:200}"
	if [ -z "$bytes" ] || [ "$bytes" = 0 ]; then
		emit "$topo" "$mode" "$rep" bulk "$(printf '"ok":false,"errors":1,"enomem":%d' $enomem)"
		return 0
	fi
	emit "$topo" "$mode" "$rep" bulk "$(printf '"ok":%s,"gbit_per_s":%s,"bytes":%s,"retransmits":%s,"errors":%d,"enomem":%d,"cpu_s_per_gb":%s' \
		"$([ $rc = 0 ] && [ -z "$err" ] && echo true || echo false)" \
		"$(calc "$bps / 1000000000")" "$bytes" "$(num "$retr")" \
		"$([ $rc = 0 ] && [ -z "$err" ] && echo 0 || echo 1)" $enomem \
		"$(calc "($c1 - $c0) / 1000000 / ($bytes / 1000000000)")")"
}

# New connections: connect, 64 B echoed, client closes first. conns/s is over the client's loop;
# CPU per connection is the cgroups' over the whole run.
w_conn() { # TOPO MODE REP ACG ANS DST CPU_CGS...
	local topo=$1 mode=$2 rep=$3 acg=$4 ans=$5 dst=$6
	shift 6
	local f=$WORK/conn.out c0 c1 t0 t1 line ok failed el
	c0=$(cpu_usec "$@")
	t0=$(now_ns)
	in_cg "$acg" "$ans" timeout -k 5 $((BOUND + 60)) $B/tcptool client "$dst" $P_CONN --send 64 \
		--repeat "$CONNS" --max-seconds $((T * 4 + 60)) >"$f" 2>"$f.err" || true
	t1=$(now_ns)
	c1=$(cpu_usec "$@")
	line=$(grep '^summary ' "$f" || true)
	if [ -z "$line" ]; then
		log "conn $topo/$mode: tcptool failed: $(tail -2 "$f.err" | tr '\n' ' ')"
		emit "$topo" "$mode" "$rep" conn '"ok":false'
		return 0
	fi
	kv() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$line"; }
	ok=$(kv ok)
	# The rate of the client's loop: the start of nsenter, timeout and the client is no
	# connection's time, and would weigh the same in every mode.
	el=$(kv elapsed_us)
	[ -n "$el" ] && [ "$el" -gt 0 ] && t1=$((t0 + el * 1000))
	failed=$(kv failed)
	[ "$failed" = 0 ] || log "conn $topo/$mode: $failed failed: $(head -2 "$f.err" | tr '\n' ' ')"
	emit "$topo" "$mode" "$rep" conn "$(printf '"ok":%s,"conns_per_s":%s,"connect_p50_us":%s,"connect_p99_us":%s,"total_p50_us":%s,"total_p99_us":%s,"failed":%s,"cpu_us_per_conn":%s%s' \
		"$([ "$failed" = 0 ] && echo true || echo false)" \
		"$(calc "$ok / (($t1 - $t0) / 1000000000)")" "$(kv connect_p50_us)" "$(kv connect_p99_us)" \
		"$(kv total_p50_us)" "$(kv total_p99_us)" "$failed" \
		"$(calc "($c1 - $c0) / ($ok + ($ok == 0))")" "${EXTRA:-}")"
}

# The mixed workload: at once, 90% short connections (1, 2 and 3 exchanges of 64 B, a third each)
# to one destination and 10% long ones (200 exchanges each) to another: where adaptive
# acceleration must tell them apart. conns/s is over all of them; CPU per connection too.
w_mixed() { # TOPO MODE REP ACG ANS DST CPU_CGS...
	local topo=$1 mode=$2 rep=$3 acg=$4 ans=$5 dst=$6
	shift 6
	local c0 c1 t0 t1 k n_short=$((CONNS * 3 / 10)) n_long=$((CONNS / 10)) bp=() ok=0 failed=0 l
	c0=$(cpu_usec "$@")
	t0=$(now_ns)
	for k in 1 2 3; do
		bg_cg "$acg" "$ans" timeout -k 5 $((BOUND + 120)) $B/tcptool client "$dst" $P_CONN --send 64 \
			--exchanges $k --repeat $n_short --max-seconds $((T * 8 + 60)) >"$WORK/mixed.$k.out" 2>&1
		bp+=($BGPID)
		mpids+=($BGPID) # an interrupted run stops them with the sidecars
	done
	bg_cg "$acg" "$ans" timeout -k 5 $((BOUND + 120)) $B/tcptool client "$dst" $P_LONG --send 64 \
		--exchanges 200 --repeat $n_long --max-seconds $((T * 8 + 60)) >"$WORK/mixed.long.out" 2>&1
	bp+=($BGPID)
	for k in "${bp[@]}"; do wait "$k" || true; done
	t1=$(now_ns)
	c1=$(cpu_usec "$@")
	for k in 1 2 3 long; do
		l=$(grep '^summary ' "$WORK/mixed.$k.out" || true)
		ok=$((ok + $(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$l" | grep . || echo 0)))
		failed=$((failed + $(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$l" | grep . || echo 1)))
	done
	kvf() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$WORK/mixed.$1.out" | head -1; }
	[ "$failed" = 0 ] || log "mixed $topo/$mode: $failed failed"
	emit "$topo" "$mode" "$rep" mixed "$(printf '"ok":%s,"conns_per_s":%s,"short_total_p50_us":%s,"short_total_p99_us":%s,"long_total_p50_us":%s,"failed":%s,"cpu_us_per_conn":%s' \
		"$([ "$failed" = 0 ] && [ "$ok" -gt 0 ] && echo true || echo false)" \
		"$(calc "$ok / (($t1 - $t0) / 1000000000)")" "$(num "$(kvf 2 total_p50_us)")" \
		"$(num "$(kvf 2 total_p99_us)")" "$(num "$(kvf long total_p50_us)")" "$failed" \
		"$(calc "($c1 - $c0) / ($ok + ($ok == 0))")")"
}

# HTTP/1.1 keep-alive through HAProxy sidecars to nginx.
w_http() { # TOPO MODE REP ACG ANS DST CPU_CGS...
	local topo=$1 mode=$2 rep=$3 acg=$4 ans=$5 dst=$6
	shift 6
	local f=$WORK/http.out c0 c1 rps reqs errs non2xx
	c0=$(cpu_usec "$@")
	in_cg "$acg" "$ans" timeout -k 5 $BOUND wrk -t1 -c$WRK_CONNS -d"${T}s" --latency \
		"http://$dst:$P_HTTP/" >"$f" 2>&1 || true
	c1=$(cpu_usec "$@")
	rps=$(awk '$1 == "Requests/sec:" { print $2 }' "$f")
	reqs=$(awk '/requests in/ { print $1 }' "$f")
	# wrk prints "50%  1.23ms"; convert to microseconds.
	lat() {
		awk -v p="$1%" '$1 == p {
			v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
			m = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1000000 : -1
			if (m > 0) printf "%.1f", v * m; exit }' "$f"
	}
	errs=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$f")
	non2xx=$(awk '/Non-2xx/ { print $NF }' "$f")
	if [ -z "$rps" ] || [ "${reqs:-0}" = 0 ]; then
		log "http $topo/$mode: wrk failed: $(tail -3 "$f" | tr '\n' ' ')"
		emit "$topo" "$mode" "$rep" http '"ok":false'
		return 0
	fi
	[ -z "$errs$non2xx" ] || log "http $topo/$mode: socket errors ${errs:-0}, non-2xx ${non2xx:-0}"
	emit "$topo" "$mode" "$rep" http "$(printf '"ok":%s,"req_per_s":%s,"p50_us":%s,"p99_us":%s,"socket_errors":%s,"non_2xx":%s,"cpu_us_per_req":%s' \
		"$([ -z "$errs$non2xx" ] && echo true || echo false)" "$rps" "$(num "$(lat 50)")" "$(num "$(lat 99)")" \
		"${errs:-0}" "${non2xx:-0}" "$(calc "($c1 - $c0) / $reqs")")"
}

# One mode of one topology: interception on, proxy-stub workloads, then HAProxy for HTTP.
# Interception of MODE and the proxy-stub sidecars in TOPO's pods. Sets DST (the server's
# address) and CGS (the pods' cgroups, the app's first; each pod's netns is bench-<cgroup>).
topo_up() { # TOPO MODE
	if [ "$1" = pod-remote ]; then
		DST=10.201.1.2 CGS_UP=(pod)
		intercept "$2" pod bench-pod 0
		[ "$2" = direct ] || start_stub pod bench-pod
	else
		DST=10.201.2.2 CGS_UP=(cli srv)
		intercept "$2" cli bench-cli 0
		intercept "$2" srv bench-srv 0
		if [ "$2" != direct ]; then
			start_stub cli bench-cli
			start_stub srv bench-srv inbound
		fi
	fi
}

wl() { [[ " $WORKLOADS " == *" $1 "* ]]; }
run_topo_mode() { # TOPO MODE REP
	local topo=$1 mode=$2 rep=$3 dst cgs
	topo_up "$topo" "$mode"
	dst=$DST cgs=("${CGS_UP[@]}")
	local acg=${cgs[0]} ans=bench-${cgs[0]}
	wl rr && w_rr "$topo" "$mode" "$rep" "$acg" "$ans" $dst "${cgs[@]}"
	wl bulk && w_bulk "$topo" "$mode" "$rep" "$acg" "$ans" $dst "${cgs[@]}"
	wl conn && w_conn "$topo" "$mode" "$rep" "$acg" "$ans" $dst "${cgs[@]}"
	[ "$MIXED" = 1 ] && wl mixed && w_mixed "$topo" "$mode" "$rep" "$acg" "$ans" $dst "${cgs[@]}"
	save_status "$topo" "$mode" "$rep"
	stop_sidecars
	check_stubs "$topo" "$mode" "$rep" "$ans" "$([ $topo = two-pod ] && echo bench-srv)"
	if [ "$mode" != direct ] && wl http; then
		if [ "$topo" = pod-remote ]; then
			start_haproxy pod bench-pod
		else
			start_haproxy cli bench-cli
			start_haproxy srv bench-srv inbound
		fi
	fi
	wl http && w_http "$topo" "$mode" "$rep" "$acg" "$ans" $dst "${cgs[@]}"
	[ "$mode" = direct ] || save_status "$topo-http" "$mode" "$rep"
	stop_mode "$topo/$mode"
}

# DNS capture: one query at a time from the app (pod cgroup) with sendto() to the remote host's
# port 53, where nothing listens: only a captured query is answered, by the sidecar's DNS server
# (dnsload, uid 1337) on 127.0.0.1:15053. direct: the app queries 127.0.0.1:15053 itself.
run_dns() { # MODE REP
	local mode=$1 rep=$2 f=$WORK/dns.out dst=10.201.1.2 port=53 c0 c1 ok n
	DNS_CONF=1
	intercept "$mode" pod bench-pod 0
	DNS_CONF=0
	[ "$mode" = direct ] && dst=127.0.0.1 port=15053
	if [ "$mode" = iptables ] && ! in_ns bench-pod iptables -t nat -S | grep -q -- '--to-ports 15053'; then
		log "iptables: no DNS REDIRECT rule in bench-pod ($IPT_HOW)"
	fi
	bg_cg pod bench-pod setpriv --reuid 1337 --regid 1337 --clear-groups \
		$B/dnsload server 127.0.0.1 15053 --seconds $((BOUND * 2))
	mpids+=("$BGPID")
	for _ in $(seq 100); do
		[ -n "$(in_ns bench-pod ss -Hlun 'sport = :15053')" ] && break
		sleep 0.05
	done
	c0=$(cpu_usec pod)
	in_cg pod bench-pod timeout $BOUND $B/dnsload client $dst $port --queries "$DNS_QUERIES" \
		--seconds "$T" >"$f" 2>&1 || true
	c1=$(cpu_usec pod)
	dkv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$f"; }
	n=$(dkv queries)
	ok=false
	[ "${n:-0}" -gt 0 ] && [ "$(dkv failed)" = 0 ] && ok=true
	emit pod-remote "$mode" "$rep" dns "$(printf '"ok":%s,"qps":%s,"p50_us":%s,"p99_us":%s,"failed":%s,"cpu_us_per_query":%s' \
		"$ok" "$(num "$(dkv qps)")" "$(num "$(dkv p50_us)")" "$(num "$(dkv p99_us)")" \
		"$(num "$(dkv failed)")" "$(calc "($c1 - $c0) / (${n:-0} + (${n:-0} == 0))")")"
	log "dns $mode: $(cat "$f")"
	[ "$mode" = direct ] || save_status dns "$mode" "$rep"
	stop_mode "dns/$mode"
}

# Policy scale: connection latency with N extra nat rules (iptables) or N services (ebpf).
run_scale_point() { # MODE N REP
	local mode=$1 n=$2 rep=$3
	intercept "$mode" pod bench-pod "$n"
	start_stub pod bench-pod
	EXTRA=$(printf ',"n":%d,"setup_s":%s' "$n" "$SETUP_S")
	# eBPF: BPF statistics on for the run, for the connect program's own time per run: the part
	# of a connect that the policy's size could change, apart from the machine's noise. (They cost
	# every program run some 20-40 ns, the same at every size.)
	local sp= ns runs
	if [ "$mode" = ebpf ]; then
		$B/bpfstats sleep 600 >/dev/null 2>&1 &
		sp=$!
		mpids+=("$sp")
	fi
	w_conn scale "$mode" "$rep" pod bench-pod 10.201.1.2 pod
	EXTRA=
	if [ -n "$sp" ]; then
		read -r runs ns < <(prog_stats bench-pod | jq -r '[.sc_connect4.runs // 0, .sc_connect4.ns // 0] | @tsv')
		stop_pid "$sp"
		emit scale "$mode" "$rep" connect_prog "$(printf '"ok":%s,"n":%d,"ns_per_run":%s' \
			"$([ "$runs" -gt 0 ] && echo true || echo false)" "$n" "$(calc "$ns / ($runs + ($runs == 0))")")"
	fi
	save_status "scale-$n" "$mode" "$rep"
	stop_sidecars
	check_stubs scale-$n "$mode" "$rep" bench-pod
	stop_mode
}

# Where a new connection's time goes (each topology): the connection workload again, recorded by perf
# on the benchmark's CPU(s) (apps, sidecar, server, softirqs and kworkers alike) with the kernel's
# BPF run-time statistics on. Its own pass: perf's call chains slow everything down, so its rates
# are never the main table's. Per connection: CPU by kernel subsystem (bench/perfgroups.py) and
# each of our programs' run time.
# Run count and run time of our programs ({name: {runs, ns}}, JSON): those of pod NS's pinned
# links and the node's sk_msg link. They count only while BPF statistics are on (build/bpfstats).
prog_stats() { # NS...
	local l ns links=()
	for ns in "$@"; do links+=("$PINBASE/$ns"/links/*); done
	# Summed by name: the two pods of the two-pod topology run programs of the same names.
	for l in "${links[@]}" "$PINBASE"/_node*/links/*; do
		[ -e "$l" ] || continue
		bpftool link show pinned "$l" -j 2>/dev/null || true
	done | jq -r '.prog_id // empty' | while read -r id; do
		bpftool prog show id "$id" -j 2>/dev/null || true
	done | jq -s -c 'group_by(.name) | map({key: .[0].name,
		value: {runs: (map(.run_cnt // 0) | add), ns: (map(.run_time_ns // 0) | add)}}) | from_entries'
}
json_or_null() { [ -s "$1" ] && jq -e . "$1" >/dev/null 2>&1 && jq -c . "$1" || echo null; }
# Run CMD as the app of pod ACG/ANS under perf (the benchmark's CPU) with BPF statistics on.
# Writes PREFIX.groups.json (samples by subsystem) and PREFIX.bpf.json (our programs' runs and
# ns during CMD alone: the difference of the counts before and after, so that one daemon can
# serve several recordings), from the links of the pods PROF_NSS (netns names); CMD's output
# goes to PREFIX.out; PROF_WALL is its wall time (s).
PROF_NSS=()
profiled() { # PREFIX ACG ANS CMD...
	local f=$1 acg=$2 ans=$3 ppid t0 t1 cpus=(-C "$PIN")
	shift 3
	[ "$PIN" = none ] && cpus=(-a)
	prog_stats "${PROF_NSS[@]}" >"$f.bpf0.json"
	$B/bpfstats perf record -q -e cpu-clock -F "$PROF_HZ" -g "${cpus[@]}" -o "$f.data" \
		>"$f.perf.log" 2>&1 &
	ppid=$!
	mpids+=("$ppid") # an interrupted run stops it with the sidecars
	sleep 0.5
	t0=$(now_ns)
	in_cg "$acg" "$ans" "$@" >"$f.out" 2>&1 || true
	t1=$(now_ns)
	kill -INT "$ppid" 2>/dev/null || true
	wait "$ppid" 2>/dev/null || true
	prog_stats "${PROF_NSS[@]}" | jq -c --slurpfile b "$f.bpf0.json" '($b[0] // {}) as $b |
		with_entries(.value = {runs: (.value.runs - ($b[.key].runs // 0)),
			ns: (.value.ns - ($b[.key].ns // 0))})' >"$f.bpf.json"
	rm -f "$f.bpf0.json"
	perf script -i "$f.data" -F comm,ip,sym 2>/dev/null | python3 bench/perfgroups.py >"$f.groups.json" ||
		log "profile $f: no perf samples: $(tail -2 "$f.perf.log" | tr '\n' ' ')"
	[ "$PROF_KEEP" = 1 ] || rm -f "$f.data"
	PROF_WALL=$(calc "($t1 - $t0) / 1000000000")
}
# The record of one profiled workload: COUNT units of work (KEY: conns, reqs or gbytes).
emit_profile() { # TOPO MODE REP WORKLOAD PREFIX KEY COUNT
	emit "$1" "$2" "$3" "$4" "$(printf '"ok":%s,"%s":%s,"wall_s":%s,"hz":%s,"perf":%s,"bpf":%s' \
		"$(awk -v c="${7:-0}" 'BEGIN { print (c > 0) ? "true" : "false" }')" "$6" "${7:-0}" \
		"$PROF_WALL" "$PROF_HZ" "$(json_or_null "$5.groups.json")" "$(json_or_null "$5.bpf.json")")"
}
run_profile() { # TOPO MODE REP
	local topo=$1 mode=$2 rep=$3 f=$OUT/profile/$1.$2.$3 c n
	mkdir -p "$OUT/profile"
	topo_up "$topo" "$mode"
	local dst=$DST acg=${CGS_UP[0]} ans=bench-${CGS_UP[0]}
	PROF_NSS=()
	for c in "${CGS_UP[@]}"; do PROF_NSS+=("bench-$c"); done
	in_cg $acg $ans $B/tcptool client $dst $P_CONN --send 64 --repeat 500 >/dev/null 2>&1 || true
	profiled "$f" $acg $ans timeout -k 5 $((BOUND + 120)) $B/tcptool client $dst $P_CONN \
		--send 64 --repeat "$PROF_CONNS" --max-seconds 120
	n=$(sed -n 's/^summary .* ok=\([0-9]*\).*/\1/p' "$f.out")
	emit_profile "$topo" "$mode" "$rep" profile "$f" conns "$n"
	# The same for a round trip: 64 B ping-pong on one connection.
	profiled "$f.rr" $acg $ans timeout -k 5 $BOUND sockperf ping-pong --tcp -i "$dst" \
		-p $P_RR -t "$PROF_RR_T" -m 64 --full-rtt
	n=$(sed 's/\x1b\[[0-9;]*m//g' "$f.rr.out" |
		sed -n 's/.*\[Total Run\].*ReceivedMessages=\([0-9]*\).*/\1/p')
	emit_profile "$topo" "$mode" "$rep" profile_rr "$f.rr" reqs "$n"
	# And a bulk stream: CPU per GB.
	profiled "$f.bulk" $acg $ans timeout -k 5 $BOUND iperf3 -c "$dst" -p $P_BULK \
		-t "$PROF_RR_T" -J
	n=$(jq -r '.end.sum_received.bytes // 0' "$f.bulk.out" 2>/dev/null || echo 0)
	emit_profile "$topo" "$mode" "$rep" profile_bulk "$f.bulk" gbytes "$(calc "${n:-0} / 1000000000")"
	stop_sidecars
	stop_mode "profile/$topo/$mode"
}

rotate() { # K ITEMS... -> ITEMS rotated left by K
	local k=$1
	shift
	local a=("$@") i n=$#
	for ((i = 0; i < n; i++)); do echo "${a[$(((i + k) % n))]}"; done
}

probe_iptables_mode
IPT_HOW=istio-rules-in-script
[ $IPT_RULES_CMD = 1 ] && IPT_HOW="interceptor iptables-rules"
[ $IPT_DAEMON = 1 ] && IPT_HOW="interceptor run (mode: iptables)"
log "kernel $(uname -r), $(nproc) CPUs; reps=$REPS t=${T}s conns=$CONNS; pinned to CPU(s): $PIN; iptables via: $IPT_HOW"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

start_servers remote bench-remote
start_servers srv bench-srv

for ((rep = 1; rep <= REPS; rep++)); do
	for topo in pod-remote two-pod; do
		case $topo in pod-remote) [[ " $ONLY " == *" pod "* ]] || continue ;; two-pod) [[ " $ONLY " == *" two "* ]] || continue ;; esac
		off=$((rep - 1))
		[ $topo = two-pod ] && off=$((off + 1))
		mapfile -t order < <(rotate $off "${MODES[@]}")
		for mode in "${order[@]}"; do
			log "rep $rep/$REPS $topo $mode"
			run_topo_mode "$topo" "$mode" "$rep"
		done
	done
	if [[ " $ONLY " == *" scale "* ]] && [ "$rep" -le "$SCALE_REPS" ]; then
		points=()
		for n in $SCALE; do points+=("iptables:$n" "ebpf:$n"); done
		mapfile -t order < <(rotate $((rep - 1)) "${points[@]}")
		for pt in "${order[@]}"; do
			log "rep $rep/$REPS scale ${pt%%:*} n=${pt#*:}"
			run_scale_point "${pt%%:*}" "${pt#*:}" "$rep"
		done
	fi
done

if [[ " $ONLY " == *" dns "* ]]; then
	for ((rep = 1; rep <= REPS; rep++)); do
		mapfile -t order < <(rotate $((rep - 1)) direct iptables ebpf)
		for mode in "${order[@]}"; do
			log "rep $rep/$REPS dns $mode"
			run_dns "$mode" "$rep"
		done
	done
fi

if [[ " $ONLY " == *" profile "* ]]; then
	for ((rep = 1; rep <= PROF_REPS; rep++)); do
		mapfile -t order < <(rotate $((rep - 1)) "${PROF_MODES[@]}")
		for topo in pod-remote two-pod; do
			for mode in "${order[@]}"; do
				log "profile $rep/$PROF_REPS $topo $mode"
				run_profile "$topo" "$mode" "$rep"
			done
		done
	done
fi

WALL=$(($(date +%s) - T0))
cat >"$OUT/meta.json" <<EOF
{"kernel":"$(uname -r)","cpus":$(nproc),"cpu_model":"$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)",
 "date":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","quick":$QUICK,"reps":$REPS,"scale_reps":$SCALE_REPS,"t_s":$T,"conns":$CONNS,
 "wrk_conns":$WRK_CONNS,"dns_queries":$DNS_QUERIES,"scale":"$SCALE","prof_conns":$PROF_CONNS,"prof_reps":$PROF_REPS,"prof_rr_t":$PROF_RR_T,"iptables":"$(iptables --version)","iptables_via":"$IPT_HOW",
 "sockperf":"$(sockperf --version 2>&1 | sed -n 's/.*version \([^ ]*\).*/\1/p' | head -1)",
 "pinned_cpus":"$PIN","mixed":$MIXED,"loadavg_start":"$LOAD0","loadavg_end":"$(cut -d' ' -f1-3 /proc/loadavg)",
 "iperf3":"$(iperf3 --version | head -1)","haproxy":"$(haproxy -v | head -1 | awk '{ print $3 }')",
 "nginx":"$(nginx -v 2>&1 | sed 's/.*nginx\///')","wall_s":$WALL,
 "command":"make bench$([ "$QUICK" = 1 ] && echo ' BENCH_QUICK=1')"}
EOF
python3 bench/report.py "$OUT" >/dev/null
log "report: $OUT/results.md"
log "done in ${WALL}s: $OUT/results.md"
