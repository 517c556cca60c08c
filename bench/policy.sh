#!/usr/bin/env bash
# Policy scale: how the interceptor's cost grows with the number of services.
#  - apply time: from writing the file to the new policy live, for loading N services at once and
#    for editing one service among N (the control plane's usual change);
#  - per-connect cost: connect() to a service VIP (balanced straight to an endpoint) and to a plain
#    destination redirected to the proxy, with N services loaded;
#  - kernel memory of the maps (bpftool's memlock) with 10,000 services.
# Writes build/bench/policy.md and build/bench/policy.json. Everything it creates is removed on
# every exit path.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-policy: run as root"; exit 1; }

B=build
OUT=$B/bench
POD=scbp-pod
REM=scbp-rem
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CG=$CG2/sidecap-bench-policy
WORK=$(mktemp -d /tmp/sidecap-bench-policy.XXXXXX)
PIN=/sys/fs/bpf/sidecap/bench-policy
SIZES=${BENCH_SIZES:-"10 1000 10000"}
ROUNDS=${BENCH_ROUNDS:-3}
CONNECTS=${BENCH_CONNECTS:-5000}
pids=()
daemon=

cleanup() {
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	stop_daemon
	[ -e "$PIN" ] && $B/interceptor cleanup --config "$WORK/cfg.yaml" >/dev/null 2>&1
	rmdir /sys/fs/bpf/sidecap 2>/dev/null
	wait 2>/dev/null
	if [ -d "$CG" ]; then echo 1 >"$CG/cgroup.kill"; sleep 0.2; rmdir "$CG"; fi
	ip netns del $POD 2>/dev/null
	ip netns del $REM 2>/dev/null
	# The daemon's own timings (parse, apply) of every reload, for the record.
	[ -f "$WORK/daemon.log" ] && cp "$WORK/daemon.log" "$OUT/policy-daemon.log"
	rm -rf "$WORK"
}
stop_daemon() {
	if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
		kill -TERM "$daemon"; wait "$daemon" 2>/dev/null
	fi
	daemon=
}
trap cleanup EXIT INT TERM

in_pod() { sh -c 'echo $$ > "$0/cgroup.procs" && exec nsenter --net=/run/netns/'$POD' "$@"' "$CG" "$@"; }

ip netns add $POD
ip netns add $REM
ip -n $POD link set lo up
ip -n $REM link set lo up
ip link add bp0 netns $POD type veth peer name bp1 netns $REM
ip -n $POD addr add 10.97.0.1/24 dev bp0 && ip -n $POD link set bp0 up
ip -n $REM addr add 10.97.0.2/24 dev bp1 && ip -n $REM link set bp1 up
# Every VIP and endpoint address is routed to the remote host.
ip -n $POD route add 10.96.0.0/16 via 10.97.0.2
ip -n $POD route add 10.100.0.0/16 via 10.97.0.2
mkdir -p "$CG" "$OUT"
nsenter --net=/run/netns/$POD sysctl -qw net.ipv4.tcp_tw_reuse=1
nsenter --net=/run/netns/$POD sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
nsenter --net=/run/netns/$REM sysctl -qw net.ipv4.tcp_tw_reuse=1

for port in 9001 8080; do
	nsenter --net=/run/netns/$REM $B/tcptool server 10.97.0.2 $port --mode echo \
		--ready-file "$WORK/s$port" >/dev/null 2>&1 &
	pids+=($!)
done

# Config with N services of 10 endpoints. Service 0 (VIP 10.96.0.1:9080) balances to the echo
# server on 10.97.0.2:9001 (its other nine endpoints are drained); the others point at
# unreachable addresses nothing connects to. EDIT=1 changes one weight of the last service.
gen_config() {
	local n=$1 edit=$2
	{
		printf 'cgroup: %s\npinPath: %s\nnetns: /run/netns/%s\n' "$CG" "$PIN" "$POD"
		awk -v n="$n" -v edit="$edit" 'BEGIN {
			print "services:"
			for (i = 0; i < n; i++) {
				printf "  - name: s%d\n    vip: 10.96.%d.%d\n    port: 9080\n", i, int((i + 1) / 256), (i + 1) % 256
				print "    sidecar: bypass\n    endpoints:"
				for (e = 0; e < 10; e++) {
					if (i == 0)
						printf "      - {address: 10.97.0.2, port: %d, weight: %d}\n", 9001 + e, e == 0
					else
						printf "      - {address: 10.100.%d.%d, port: %d, weight: %d}\n", int(i / 256) % 256, i % 256, 8000 + e, (edit && i == n - 1 && e == 0) ? 7 : 1 + e
				}
			}
		}'
	} >"$3"
}

start_daemon() {
	rm -f "$WORK/ready"
	$B/interceptor run --config "$WORK/cfg.yaml" --ready-file "$WORK/ready" 2>>"$WORK/daemon.log" &
	daemon=$!
	for _ in $(seq 600); do [ -e "$WORK/ready" ] && return 0; sleep 0.05; done
	echo "bench-policy: the interceptor did not start"; tail "$WORK/daemon.log"; exit 1
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "bench-policy: $(uname -r), $(nproc) CPUs, sizes: $SIZES, rounds: $ROUNDS"
for n in $SIZES; do
	gen_config "$n" 0 "$WORK/a$n.yaml"
	gen_config "$n" 1 "$WORK/b$n.yaml"
done
gen_config 1 0 "$WORK/small.yaml"
in_pod $B/proxy-stub --user 1337 --ready-file "$WORK/proxy.ready" >/dev/null 2>&1 &
pids+=($!)

declare -A load edit conn_svc_p50 conn_svc_p99 conn_red_p50 conn_red_p99
for round in $(seq "$ROUNDS"); do
	# Rotate the order of sizes each round: the machine is noisy.
	order=$(echo $SIZES | tr ' ' '\n' | awk -v r="$round" '{ a[NR] = $0 } END { for (i = 0; i < NR; i++) print a[(i + r) % NR + 1] }')
	for n in $order; do
		cp "$WORK/small.yaml" "$WORK/cfg.yaml"
		start_daemon
		# Load N services at once, then edit one of them, back and forth.
		load[$n]+="$($B/applytime $PIN "$WORK/cfg.yaml" "$WORK/a$n.yaml" | field apply_ms) "
		# Once live, the daemon writes the same services into the idle slot (so that edits are
		# diffs); a control plane's next write comes later than that, so wait for it.
		sleep 1
		for i in 1 2 3; do
			edit[$n]+="$($B/applytime $PIN "$WORK/cfg.yaml" "$WORK/b$n.yaml" | field apply_ms) "
			edit[$n]+="$($B/applytime $PIN "$WORK/cfg.yaml" "$WORK/a$n.yaml" | field apply_ms) "
		done
		s=$(in_pod $B/tcptool client 10.96.0.1 9080 --repeat "$CONNECTS" --max-seconds 120)
		conn_svc_p50[$n]+="$(echo "$s" | field connect_p50_us) "
		conn_svc_p99[$n]+="$(echo "$s" | field connect_p99_us) "
		s=$(in_pod $B/tcptool client 10.97.0.2 8080 --repeat "$CONNECTS" --max-seconds 120)
		conn_red_p50[$n]+="$(echo "$s" | field connect_p50_us) "
		conn_red_p99[$n]+="$(echo "$s" | field connect_p99_us) "
		if [ "$round" = 1 ] && [ "$n" = "$(echo $SIZES | awk '{ print $NF }')" ]; then
			mem=$(for m in "$PIN"/maps/*; do bpftool map show pinned "$m" | sed -n 's/.*memlock \([0-9]*\)B.*/\1/p'; done | awk '{ s += $1 } END { print s }')
			memrows=$(for m in "$PIN"/maps/*; do printf '| %s | %s |\n' "$(basename "$m")" "$(bpftool map show pinned "$m" | sed -n 's/.*memlock \([0-9]*\)B.*/\1/p')"; done)
		fi
		stop_daemon
		$B/interceptor cleanup --config "$WORK/cfg.yaml" >/dev/null
	done
done

med() { echo $1 | tr ' ' '\n' | grep . | median; }
mm() { echo $1 | tr ' ' '\n' | grep . | sort -n | awk 'NR == 1 { min = $1 } { max = $1 } END { printf "%s–%s", min, max }'; }
{
	echo "## Policy scale ($(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs, $ROUNDS rounds)"
	echo
	echo "Command: \`make bench-policy\`. Medians, min–max in brackets. Apply time runs from the end of"
	echo "the write to the new generation live, and includes the watcher's 20 ms debounce."
	echo
	echo "| services × 10 endpoints | load all (ms) | edit one (ms) | connect to a VIP p50 / p99 (µs) | redirected connect p50 / p99 (µs) |"
	echo "|---|---|---|---|---|"
	for n in $SIZES; do
		printf '| %s | %s (%s) | %s (%s) | %s / %s | %s / %s |\n' "$n" \
			"$(med "${load[$n]}")" "$(mm "${load[$n]}")" "$(med "${edit[$n]}")" "$(mm "${edit[$n]}")" \
			"$(med "${conn_svc_p50[$n]}")" "$(med "${conn_svc_p99[$n]}")" \
			"$(med "${conn_red_p50[$n]}")" "$(med "${conn_red_p99[$n]}")"
	done
	echo
	echo "Map memory (bpftool memlock) with $(echo $SIZES | awk '{ print $NF }') services: $mem bytes in all."
	echo "The per-connection maps (sc_sockhash, sc_flows, sc_handover) are preallocated at their"
	echo "65,536-entry capacity, so their figure holds at any number of connections up to it."
	echo
	echo "| map | memlock bytes |"
	echo "|---|---|"
	echo "$memrows"
} >"$OUT/policy.md"
{
	echo "{"
	echo "  \"kernel\": \"$(uname -r)\", \"cpus\": $(nproc), \"rounds\": $ROUNDS, \"connects\": $CONNECTS,"
	echo "  \"map_memlock_bytes\": ${mem:-0},"
	echo "  \"sizes\": {"
	first=1
	for n in $SIZES; do
		[ $first = 1 ] || echo ","
		first=0
		printf '    "%s": {"load_ms": [%s], "edit_ms": [%s], "vip_connect_p50_us": [%s], "vip_connect_p99_us": [%s], "redirect_connect_p50_us": [%s], "redirect_connect_p99_us": [%s]}' \
			"$n" "$(echo ${load[$n]} | tr ' ' ',')" "$(echo ${edit[$n]} | tr ' ' ',')" \
			"$(echo ${conn_svc_p50[$n]} | tr ' ' ',')" "$(echo ${conn_svc_p99[$n]} | tr ' ' ',')" \
			"$(echo ${conn_red_p50[$n]} | tr ' ' ',')" "$(echo ${conn_red_p99[$n]} | tr ' ' ',')"
	done
	echo
	echo "  }"
	echo "}"
} >"$OUT/policy.json"
cat "$OUT/policy.md"
