#!/usr/bin/env bash
# Runs each libFuzzer target of tests/fuzz/ for SECONDS: tests/fuzz/run.sh SECONDS TARGET...
# Seeds come from tests/fuzz/corpus/<target>/ (read only) and build/fuzz/corpus/<target>/ (what
# earlier runs found, and where this one adds). The log of each run is build/fuzz/<target>.log,
# a crash or leak input build/fuzz/crashes/<target>-*. Prints one line per target with
# libFuzzer's final figures; exits 1 when any target found a crash.
# FUZZ_BIN=DIR runs the binaries in DIR (a copy, for a long run while the tree is rebuilt);
# FUZZ_TAG=NAME names the logs build/fuzz/<target>-NAME.log.
set -u
cd "$(dirname "$0")/../.."

seconds=$1
shift
dir=build/fuzz
mkdir -p "$dir/crashes"
failed=0
for t in "$@"; do
	mkdir -p "$dir/corpus/$t"
	# The policy's keys and words for the targets that read a policy.
	dict=()
	[ "$t" != fuzz_inject ] && dict=(-dict=tests/fuzz/policy.dict)
	# -timeout: an input that takes seconds is a finding (the nesting blow-up of issue 17 took
	# 46 s); -max_len: policies past 64 KiB add length, not new paths.
	log="$dir/$t${FUZZ_TAG:+-$FUZZ_TAG}.log"
	"${FUZZ_BIN:-$dir}/$t" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$dir/crashes/$t-" "${dict[@]}" \
		"$dir/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	last=$(grep -a -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
	crashes=$(find "$dir/crashes" -name "$t-*" -newer "${FUZZ_BIN:-$dir}/$t" | wc -l)
	printf 'fuzz: %-17s %ss execs=%s cov=%s ft=%s corpus=%s crashes=%s rc=%s\n' "$t" \
		"$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes" "$rc"
	[ "$rc" = 0 ] || failed=1
done
exit $failed
