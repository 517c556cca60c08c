#!/usr/bin/env bash
# The whole test suite, as CI runs it (`make test`, .ci/run): every stage below, one after the
# other, then one line "N passed, N failed" summed over them. Budget: 30 minutes on 2 cores.
#
#   tests/ci.sh [STAGE...]      (default: all of them, in this order)
#
#   native     unit tests, manifest checks and the integration suite on this machine's kernel
#   pod        the example pod played for real with podman (tests/pod/run.sh)
#   kernel-6.1 the integration suite inside Debian 12's 6.1 under qemu, load counts scaled to a
#              quarter (emulation is ~20x slower; tests/kernels/run.sh)
#   kernel-5.10, kernel-6.12
#              `interceptor check` (load and attach everything `run` would, in a throwaway cgroup
#              and netns), then on 5.10 the outbound and SO_ORIGINAL_DST suites: the whole suite
#              under a second and third emulated kernel would not fit the budget
#   sanitize   unit tests and a subset of the integration suite built with ASan + UBSan
#              (make test-sanitize-ci; the whole suite is `make test SANITIZE=1`)
#   fuzz       each libFuzzer target for 20 s on its seed corpus (make fuzz-ci)
#
# A stage whose output ends with "N passed, N failed" (after a "name: " maybe) adds its figures; any other stage counts
# as one test, passed when it exits 0. Kernel tests are required (REQUIRE_BPF=1): one that
# cannot run fails.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export REQUIRE_BPF=1

all=(native pod kernel-6.1 kernel-5.10 kernel-6.12 sanitize fuzz)
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=("${all[@]}")

mkdir -p build/ci
passed=0
failed=0
report=()

run_stage() {
	local name=$1 t0 t1 rc last p f
	shift
	echo "=== $name: $*"
	t0=$SECONDS
	"$@" 2>&1 | tee "build/ci/$name.log"
	rc=${PIPESTATUS[0]}
	t1=$SECONDS
	last=$(grep -av '^[[:space:]]*$' "build/ci/$name.log" | tail -n 1)
	if [[ $last =~ ^([a-z0-9.-]+:\ )?([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		p=${BASH_REMATCH[2]}
		f=${BASH_REMATCH[3]}
		# A stage that failed without counting a failure (a crash after its summary) counts one.
		[ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
	elif [ "$rc" = 0 ]; then
		p=1 f=0
	else
		p=0 f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	report+=("$(printf '%-12s %5d s  %s' "$name" $((t1 - t0)) "${last:-(no output)}")")
}

kcheck() { # KERNEL [CMD]: interceptor check, then CMD, in one guest
	local k=$1 cmd="build/interceptor check"
	[ -n "${2:-}" ] && cmd="$cmd && $2"
	tests/kernels/run.sh --kernels "$k" --timeout 900 -- sh -c "$cmd"
}

for s in "${stages[@]}"; do
	case $s in
	native) run_stage native tests/run ;;
	pod) run_stage pod tests/pod/run.sh ;;
	kernel-6.1)
		run_stage kernel-6.1 tests/kernels/run.sh --kernels 6.1 --timeout 1500 -- \
			tests/run --integration-only ;;
	kernel-5.10)
		run_stage kernel-5.10 kcheck 5.10 \
			"tests/run --integration-only --filter '@(outbound|sockopt)/*'" ;;
	kernel-6.12) run_stage kernel-6.12 kcheck 6.12 ;;
	sanitize) run_stage sanitize make --no-print-directory test-sanitize-ci ;;
	fuzz) run_stage fuzz make --no-print-directory fuzz-ci ;;
	*) echo "ci.sh: no stage '$s' (stages: ${all[*]})" >&2; exit 2 ;;
	esac
done

echo "=== summary (logs in build/ci/)"
printf '%s\n' "${report[@]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
