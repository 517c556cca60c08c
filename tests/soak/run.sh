#!/usr/bin/env bash
# The soak (make soak; docs/reliability.md): one pod (its own network namespace and child
# cgroup) under mixed traffic for SOAK_SECONDS (default 600) while the sidecar is restarted every
# SOAK_PROXY_EVERY seconds, the policy file is edited every second, and the interceptor daemon is
# killed with SIGKILL and replaced by a new `interceptor run` (which adopts its pins) every
# SOAK_KILL_EVERY seconds. The traffic (build/soakload) checks every byte it moves. One sample a
# second goes to build/soak/samples.csv; tests/soak/report.py writes build/soak/report.md and the
# plots, and decides pass or fail. Exit status: 0 when every criterion passes, 1 otherwise.
#
# Environment: SOAK_SECONDS (600), SOAK_SHORT (short connections over the run; 1,000,000 per 600
# s by default, scaled with SOAK_SECONDS), SOAK_SHORT_CONC (16), SOAK_STREAMS (4),
# SOAK_BULK_BYTES (32 MiB per upload and per download), SOAK_BULK_RATE (bytes/s each way,
# 16 MiB/s), SOAK_PROXY_EVERY (60), SOAK_KILL_EVERY (180).
#
# Everything runs in namespaces and a cgroup this script creates and removes on every exit path
# (trap): nothing is attached to the root cgroup or linked into the root netns. Processes are
# ended by their PID.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "$(id -u)" = 0 ] || { echo "soak: run as root (namespaces, cgroups, BPF)" >&2; exit 1; }
missing=()
for t in jq:jq gnuplot:gnuplot-nox python3:python3 nsenter:util-linux ip:iproute2 dmesg:util-linux; do
	command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
done
[ ${#missing[@]} -eq 0 ] || { echo "soak: missing: apt-get install ${missing[*]}" >&2; exit 1; }
for b in interceptor proxy-stub soakload; do
	[ -x build/$b ] || { echo "soak: build/$b is missing: run make first" >&2; exit 1; }
done

# One soak at a time: a second one would share the namespace names. Taken before the trap.
exec 9>/run/lock/sidecap-soak.lock
flock -n 9 || { echo "soak: another soak is running (/run/lock/sidecap-soak.lock)" >&2; exit 1; }

SECONDS_TOTAL=${SOAK_SECONDS:-600}
SHORT=${SOAK_SHORT:-$((1000000 * SECONDS_TOTAL / 600))}
SHORT_CONC=${SOAK_SHORT_CONC:-16}
STREAMS=${SOAK_STREAMS:-4}
BULK_BYTES=${SOAK_BULK_BYTES:-$((32 << 20))}
BULK_RATE=${SOAK_BULK_RATE:-$((16 << 20))}
PROXY_EVERY=${SOAK_PROXY_EVERY:-60}
KILL_EVERY=${SOAK_KILL_EVERY:-180}
for v in SECONDS_TOTAL SHORT SHORT_CONC STREAMS BULK_BYTES BULK_RATE PROXY_EVERY KILL_EVERY; do
	[[ ${!v} =~ ^[0-9]+$ ]] || { echo "soak: $v=${!v}: not a whole number" >&2; exit 2; }
done
[ "$SECONDS_TOTAL" -ge 30 ] || { echo "soak: SOAK_SECONDS=$SECONDS_TOTAL: at least 30" >&2; exit 2; }

B=$PWD/build
OUT=$B/soak
POD=soak-pod
REM=soak-remote
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG2" ] || { echo "soak: no cgroup2 mount" >&2; exit 1; }
CG=$CG2/sidecap-soak
PIN=/sys/fs/bpf/sidecap/soak
WORK=$(mktemp -d /tmp/sidecap-soak.XXXXXX)
chmod 755 "$WORK"
CONF=$WORK/mesh.yaml
SERVER=10.97.0.2
PORT=8080
daemon='' proxy='' client='' server=''
T0=$(date +%s)

log() { printf '[soak %4ds] %s\n' $(($(date +%s) - T0)) "$*" >&2; }

stop_pid() { # PID [SIGNAL]
	local p=$1
	[ -n "$p" ] || return 0
	kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }
	kill "-${2:-TERM}" "$p" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	stop_pid "$client"
	stop_pid "$proxy"
	stop_pid "$daemon"
	[ -e "$PIN" ] && $B/interceptor cleanup --config "$CONF" >/dev/null 2>&1
	stop_pid "$server"
	if [ -d "$CG" ]; then
		echo 1 >"$CG/cgroup.kill"
		for _ in $(seq 50); do [ -s "$CG/cgroup.procs" ] || break; sleep 0.1; done
		rmdir "$CG"
	fi
	ip netns del $POD 2>/dev/null
	ip netns del $REM 2>/dev/null
	rm -rf "${PIN:?}"
	# The node's shared pins go with the last pod (interceptor cleanup does it).
	[ -z "$(ls -A /sys/fs/bpf/sidecap 2>/dev/null | grep -v '^_node')" ] &&
		rm -rf /sys/fs/bpf/sidecap/_node*
	rmdir /sys/fs/bpf/sidecap 2>/dev/null
	rm -rf "$WORK"
	log "cleaned up"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Start a command as a process of the pod: its cgroup first, then its netns. BGPID is the
# command itself (sh and nsenter exec it).
bg_pod() {
	sh -c 'echo $$ > "$0/cgroup.procs" && exec nsenter --net=/run/netns/'$POD' "$@"' "$CG" "$@" &
	BGPID=$!
}
wait_file() { # FILE PID WHAT
	for _ in $(seq 600); do
		[ -s "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	log "$3 did not start"
	return 1
}

write_policy() { # EXTRA_EXCLUDED_PORT ("" for none)
	cat >"$CONF.tmp" <<YAML
cgroup: $CG
pinPath: $PIN
netns: /run/netns/$POD
proxy:
  uid: 1337
  failOpen: true
outbound:
  includeIPRanges: ["*"]
  excludePorts: [9090${1:+, $1}]
inbound:
  includePorts: ["*"]
acceleration: true
YAML
	mv "$CONF.tmp" "$CONF"
}

ndaemon=0
start_daemon() {
	ndaemon=$((ndaemon + 1))
	local ready=$WORK/daemon$ndaemon.ready
	echo "--- daemon $ndaemon at $(($(date +%s) - T0)) s" >>"$OUT/daemon.log"
	$B/interceptor run --config "$CONF" --ready-file "$ready" 2>>"$OUT/daemon.log" &
	daemon=$!
	wait_file "$ready" "$daemon" "interceptor run ($ndaemon)"
}
nproxy=0
start_proxy() {
	nproxy=$((nproxy + 1))
	local ready=$WORK/proxy$nproxy.ready
	bg_pod $B/proxy-stub --user 1337 --inbound 0.0.0.0:15006 --ready-file "$ready" \
		>>"$OUT/proxy.log" 2>&1
	proxy=$BGPID
	wait_file "$ready" "$proxy" "proxy-stub ($nproxy)"
}

rm -rf "$OUT"
mkdir -p "$OUT"
log "pod: netns $POD + cgroup $CG; server: netns $REM ($SERVER:$PORT); ${SECONDS_TOTAL} s, $SHORT short connections"
for ns in $POD $REM; do
	[ -e /run/netns/$ns ] && { log "$ns exists: a soak left it? removing"; ip netns del $ns; }
done
ip netns add $POD
ip netns add $REM
ip -n $POD link set lo up
ip -n $REM link set lo up
ip link add soak0 netns $POD type veth peer name soak1 netns $REM
ip -n $POD addr add 10.97.0.1/24 dev soak0 && ip -n $POD link set soak0 up
ip -n $REM addr add $SERVER/24 dev soak1 && ip -n $REM link set soak1 up
# The client closes first, so its TIME_WAIT sockets stay in the pod: at ~1,700 connections a
# second (two sockets each, the app's and the proxy's upstream one) they need reuse and ports.
nsenter --net=/run/netns/$POD sysctl -qw net.ipv4.tcp_tw_reuse=1 \
	net.ipv4.ip_local_port_range="10000 65000"
mkdir -p "$CG"
write_policy ""
$B/interceptor validate "$CONF" >/dev/null

# Kernel messages from now on: lines stamped after this uptime.
DMESG_FROM=$(awk '{ print $1 }' /proc/uptime)
dmesg >"$OUT/dmesg-before.txt" 2>/dev/null || true

nsenter --net=/run/netns/$REM $B/soakload server $SERVER $PORT --stats "$OUT/server.stats" \
	--ready-file "$WORK/server.ready" --max-seconds $((SECONDS_TOTAL + 600)) \
	>"$OUT/server.log" 2>&1 &
server=$!
wait_file "$WORK/server.ready" $server "soakload server"
start_daemon
start_proxy

# The maps' idle sizes: proxy up, daemon up, no traffic.
status_json() { $B/interceptor status --config "$CONF" --json 2>/dev/null; }
MAPS="sc_sockhash sc_flows sc_handover sc_listeners sc_xsocks sc_xpairs"
MAPS_JQ="[.maps | to_entries[] | select(.key | IN($(printf '"%s",' $MAPS | sed 's/,$//'))) | {(.key): .value.entries}] | add"
idle_json() { status_json | jq -c "$MAPS_JQ"; }
status_json >"$OUT/status-idle.json"
jq -c "$MAPS_JQ" "$OUT/status-idle.json" >"$OUT/maps-idle.json"
gen_start=$(jq -r .policy.generation "$OUT/status-idle.json")
nsenter --net=/run/netns/$POD cat /proc/net/sockstat >"$OUT/sockstat-idle.txt" 2>/dev/null || true
log "idle maps: $(cat "$OUT/maps-idle.json")"

bg_pod $B/soakload client $SERVER $PORT --seconds "$SECONDS_TOTAL" --short "$SHORT" \
	--short-conc "$SHORT_CONC" --streams "$STREAMS" --bulk-bytes "$BULK_BYTES" \
	--bulk-rate "$BULK_RATE" --stats "$OUT/client.stats" >"$OUT/client.log" 2>&1
client=$BGPID

# Reads soakload's --stats FILE into the associative array named by the second argument.
read_stats() { # FILE ARRAY
	local -n a=$2
	local kv
	a=()
	for kv in $(cat "$1" 2>/dev/null); do a[${kv%%=*}]=${kv#*=}; done
}

CSV=$OUT/samples.csv
echo "t,client_t,conns_per_s,short_ok,short_failed,short_cut,stream_rounds,stream_failed,stream_cut,upload_bytes,download_bytes,bulk_failed,bulk_cut,corrupt,open,$(echo $MAPS | tr ' ' ','),generation,daemon_pid,rss_kb,fds,event" >"$CSV"
JQ_ROW="[$(for m in $MAPS; do printf '.maps.%s.entries, ' "$m"; done).policy.generation] | map(tostring) | join(\",\")"
event=
prev_ok=0
prev_ct=0
edit=0
declare -A cs ss
sample() { # T
	local t=$1 row ok ct
	read_stats "$OUT/client.stats" cs
	read_stats "$OUT/server.stats" ss
	ok=${cs[short_ok]:-0}
	# The rate over the client's own clock (t= of its stats, in seconds with one decimal).
	ct=${cs[t]:-0}
	ct=$((10#${ct/./}))
	row="$t,${cs[t]:-0},$(((ok - prev_ok) * 10 / (ct - prev_ct > 0 ? ct - prev_ct : 10))),$ok"
	row+=",${cs[short_failed]:-0},${cs[short_cut]:-0},${cs[stream_rounds]:-0}"
	row+=",${cs[stream_failed]:-0},${cs[stream_cut]:-0},${cs[upload_bytes]:-0}"
	row+=",${cs[download_bytes]:-0}"
	row+=",$((${cs[upload_failed]:-0} + ${cs[download_failed]:-0}))"
	row+=",$((${cs[upload_cut]:-0} + ${cs[download_cut]:-0}))"
	row+=",$((${cs[corrupt]:-0} + ${ss[corrupt]:-0})),${cs[open]:-0}"
	row+=",$(status_json | jq -r "$JQ_ROW" 2>/dev/null || echo ",,,,,,")"
	if kill -0 "$daemon" 2>/dev/null; then
		row+=",$daemon,$(awk '$1 == "VmRSS:" { print $2 }' /proc/$daemon/status)"
		row+=",$(ls /proc/$daemon/fd | wc -l)"
	else
		row+=",,,"
	fi
	echo "$row,$event" >>"$CSV"
	event=
	prev_ok=$ok
	prev_ct=$ct
}

# The run: once a second, a sample and a policy edit; the proxy restarts at PROXY_EVERY/2 (a
# third of a shorter run) and every PROXY_EVERY after; the daemon dies at KILL_EVERY*(k - 1/6),
# never within the first or the last minute (their RSS and fds are the ones compared) unless the
# run is too short for that.
next_proxy=$((PROXY_EVERY / 2 < SECONDS_TOTAL / 3 ? PROXY_EVERY / 2 : SECONDS_TOTAL / 3))
kill_at=()
for ((k = KILL_EVERY - KILL_EVERY / 6; k < SECONDS_TOTAL; k += KILL_EVERY)); do
	if [ "$SECONDS_TOTAL" -lt 180 ] || { [ $k -ge 60 ] && [ $k -le $((SECONDS_TOTAL - 60)) ]; }; then
		kill_at+=("$k")
	fi
done
[ ${#kill_at[@]} -gt 0 ] || kill_at=($((SECONDS_TOTAL / 2)))
log "daemon kills at ${kill_at[*]} s; proxy restarts every $PROXY_EVERY s from $next_proxy s"
START=$(date +%s.%N)
restarts=0 kills=0 edits=0
deadline=$((SECONDS_TOTAL + 60))
for ((s = 1; ; s++)); do
	# Sleep to the next whole second of the run.
	now=$(date +%s.%N)
	left=$(awk -v a="$START" -v b="$now" -v s=$s 'BEGIN { d = a + s - b; print (d > 0 ? d : 0) }')
	sleep "$left"
	kill -0 $client 2>/dev/null || break
	[ $s -le $deadline ] || { log "the client did not end by $deadline s"; break; }
	sample $s
	[ $s -ge "$SECONDS_TOTAL" ] && continue # draining: sample only
	edit=$((1 - edit))
	write_policy "$([ $edit = 1 ] && echo 9091)"
	edits=$((edits + 1))
	if [ $s -ge $next_proxy ] && [ $s -lt $((SECONDS_TOTAL - 5)) ]; then
		kill -USR1 $client
		stop_pid "$proxy" TERM
		start_proxy
		kill -USR2 $client
		restarts=$((restarts + 1))
		event+="proxy_restart "
		next_proxy=$((next_proxy + PROXY_EVERY))
	fi
	if [ ${#kill_at[@]} -gt 0 ] && [ $s -ge "${kill_at[0]}" ]; then
		kill -KILL "$daemon"
		wait "$daemon" 2>/dev/null || true
		start_daemon
		kill_at=("${kill_at[@]:1}")
		kills=$((kills + 1))
		event+="daemon_kill9 "
	fi
	[ $((s % 60)) = 0 ] && log "$s s: $(tail -n 1 "$CSV")"
done
client_rc=0
wait $client || client_rc=$?
client=
log "client done (exit $client_rc): $(tail -n 1 "$OUT/client.log")"

# Every per-connection map back to its idle size: the sockets are closed, so within seconds.
for _ in $(seq 30); do
	idle_json >"$OUT/maps-end.json"
	jq -e -n --slurpfile a "$OUT/maps-idle.json" --slurpfile b "$OUT/maps-end.json" \
		'$a[0] == $b[0]' >/dev/null && break
	sleep 1
done
# One last sample once drained, so the plots end on the maps' final state.
event="drained "
sample "$s"
gen_end=$(status_json | jq -r .policy.generation)
status_json >"$OUT/status-end.json"
nsenter --net=/run/netns/$POD cat /proc/net/sockstat >"$OUT/sockstat-end.txt" 2>/dev/null || true

# Kernel warnings since the start.
dmesg 2>/dev/null | awk -v from="$DMESG_FROM" '
	match($0, /^\[ *[0-9]+\.[0-9]+\]/) {
		t = substr($0, RSTART + 1, RLENGTH - 2) + 0
		if (t > from) print
	}' >"$OUT/dmesg-new.txt" || true

stop_pid "$proxy" TERM
proxy=
stop_pid "$server" TERM
server=
cat >"$OUT/meta.json" <<JSON
{"seconds": $SECONDS_TOTAL, "short_target": $SHORT, "short_conc": $SHORT_CONC,
 "streams": $STREAMS, "bulk_bytes": $BULK_BYTES, "bulk_rate": $BULK_RATE,
 "proxy_every": $PROXY_EVERY, "kill_every": $KILL_EVERY, "proxy_restarts": $restarts,
 "daemon_kills": $kills, "policy_edits": $edits, "generation_start": ${gen_start:-0},
 "generation_end": ${gen_end:-0},
 "client_exit": $client_rc, "kernel": "$(uname -r)", "cpus": $(nproc),
 "started": "$(date -u -d @"$T0" +%FT%TZ)", "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo -)"}
JSON
log "report: $OUT/report.md"
python3 tests/soak/report.py "$OUT"
