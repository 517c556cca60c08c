#!/usr/bin/env bash
# soakload's own checks, on loopback (no root, no BPF): a clean run counts no corruption and no
# failure; a run whose server spoils echoed and downloaded bytes, and one whose client spoils
# uploaded bytes, must count them, or the soak's "0 corrupted bytes" would prove nothing.
# Ends with "soakload: N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${BUILD:-build}/soakload
WORK=$(mktemp -d /tmp/sidecap-soakself.XXXXXX)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
passed=0 failed=0

check() { # NAME COND
	if eval "$2"; then
		passed=$((passed + 1))
	else
		echo "soakload selftest: FAIL: $1 ($2)" >&2
		echo "  server: $(cat "$WORK/srv" 2>/dev/null)" >&2
		echo "  client: $(cat "$WORK/cli" 2>/dev/null)" >&2
		grep -v 'corrupted bytes' "$WORK/srv.log" "$WORK/cli.log" | head -5 | sed 's/^/  /' >&2
		failed=$((failed + 1))
	fi
}
stat() { tr ' ' '\n' <"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

run() { # NAME SERVER_OPTS CLIENT_OPTS: a server on a free port, a 3 s client (NAME: for the reader)
	local port
	rm -f "$WORK"/*
	# Port 0: the server binds a port the kernel knows is free and says which in its ready
	# file (a random one can be held by the last run's TIME_WAIT sockets: bind() fails).
	$B server 127.0.0.1 0 --stats "$WORK/srv" --ready-file "$WORK/ready" --max-seconds 30 \
		$2 >"$WORK/srv.log" 2>&1 &
	server=$!
	for _ in $(seq 100); do [ -s "$WORK/ready" ] && break; sleep 0.05; done
	port=$(awk '{ print $2 }' "$WORK/ready" 2>/dev/null)
	if [ -z "$port" ]; then
		# No stats are written: every check of this run fails and says why.
		echo "soakload selftest: $1: the server did not start: $(cat "$WORK/srv.log")" >&2
		kill "$server" 2>/dev/null
		wait "$server" 2>/dev/null
		server= rc=1
		return
	fi
	$B client 127.0.0.1 $port --seconds 3 --short 3000 --bulk-bytes 4000000 \
		--stats "$WORK/cli" $3 >"$WORK/cli.log" 2>&1
	rc=$?
	# The server may still be reading the last upload: its stats, written as it goes, must be
	# newer than the client's end and show no connection open before it is stopped (at most
	# 5 s; sanitizer builds are slow to drain).
	touch "$WORK/client-done"
	for _ in $(seq 100); do
		[ "$WORK/srv" -nt "$WORK/client-done" ] && [ "$(stat "$WORK/srv" open)" = 0 ] && break
		sleep 0.05
	done
	kill "$server"
	wait "$server" 2>/dev/null
	server=
}

run clean "" ""
check "clean run exits 0" '[ $rc = 0 ]'
check "clean run: no corruption" '[ "$(stat "$WORK/cli" corrupt)" = 0 ] && [ "$(stat "$WORK/srv" corrupt)" = 0 ]'
check "clean run: short connections made" '[ "$(stat "$WORK/cli" short_ok)" -ge 1000 ]'
check "clean run: uploads, downloads, stream rounds" '[ "$(stat "$WORK/cli" upload_ok)" -ge 1 ] && [ "$(stat "$WORK/cli" download_ok)" -ge 1 ] && [ "$(stat "$WORK/cli" stream_rounds)" -ge 100 ]'

run spoiled-by-server "--corrupt-every 7" ""
check "server spoils: the client counts it" '[ "$(stat "$WORK/cli" corrupt)" -gt 0 ]'
check "server spoils: the client exits 1" '[ $rc = 1 ]'

run spoiled-by-client "" "--corrupt-every 1"
check "client spoils uploads: the server counts it" '[ "$(stat "$WORK/srv" corrupt)" -gt 0 ]'

echo "soakload: $passed passed, $failed failed"
[ "$failed" = 0 ]
