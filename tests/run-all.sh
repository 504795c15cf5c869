#!/usr/bin/env bash
# Runs every test suite and ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
passed=0 failed=0 skipped=0

count() { # suite-name, log: adds the suite's summary line to the totals
	local line p f s
	line=$(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed' "$2" | tail -n1)
	if [ -z "$line" ]; then
		# pytest: "3 passed, 1 failed, 2 skipped, 1 error in 60.1s" (any subset, any order)
		local py
		py=$(grep -E '^=*[ ]*[0-9]+ (passed|failed|skipped|error|errors|xfailed|xpassed|deselected)' "$2" | tail -n1)
		if [ -n "$py" ]; then
			p=$(grep -oE '[0-9]+ (passed|xpassed)' <<<"$py" | awk '{s+=$1} END {print s+0}')
			f=$(grep -oE '[0-9]+ (failed|errors?)' <<<"$py" | awk '{s+=$1} END {print s+0}')
			s=$(grep -oE '[0-9]+ (skipped|xfailed)' <<<"$py" | awk '{s+=$1} END {print s+0}')
			line="$1: $p passed, $f failed, $s skipped"
		fi
	fi
	if [ -z "$line" ]; then
		echo "== $1: no summary (counted as one failure)"
		failed=$((failed + 1))
		return
	fi
	p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
}

run() { # name, command...
	local name=$1 log=build/test-$1.log
	shift
	echo "== $name"
	"$@" 2>&1 | tee "$log" | grep -E '^rig: (L1 died|rerun of)|^\[  (FAILED|ERROR)|FAIL|Error|^[a-z0-9-]+: [0-9]+ passed|^=*[ ]*[0-9]+ (passed|failed)' || true
	local before=$failed
	count "$name" "$log"
	[ "$failed" -eq "$before" ] || failure_details "$name" "$log"
}

failure_details() { # name, log: why a suite failed, so a CI excerpt shows it
	echo "== $1: failure details (all of it in $2)"
	# pytest's failure reports (the assertion, then each VM's console tail),
	# else the last lines of the suite's output.
	if grep -q '^=* FAILURES =*$' "$2"; then
		sed -n '/^=* FAILURES =*$/,/^=* short test summary/p' "$2" |
			grep -vE '^(    |E  +  )?\s*$' | tail -n 120 | cut -c1-400
	else
		tail -n 40 "$2" | cut -c1-400
	fi
}

run layers make --no-print-directory check-layers
run unit make --no-print-directory unit
run unit-asan make --no-print-directory unit-asan
run unit-tsan make --no-print-directory unit-tsan
if [ -x fuzz/run.sh ]; then
	run fuzz env FUZZ_SECONDS="${FUZZ_SECONDS:-10}" fuzz/run.sh
fi
if [ -d tests/e2e ] && ls tests/e2e/test_*.py >/dev/null 2>&1; then
	# The full hostile-guest campaign (4096 pages) and the QEMU comparison are
	# figures for the README: MEMVISOR_E2E_MEASURE=1 runs them. CI writes 512
	# pages, still 4x what the RSS bound needs to catch a guest gaining memory.
	if [ "${MEMVISOR_E2E_MEASURE:-0}" = 1 ]; then
		run e2e tests/e2e/run.sh
	else
		MEMVISOR_E2E_HOSTILE_PAGES=${MEMVISOR_E2E_HOSTILE_PAGES:-512} \
			run e2e tests/e2e/run.sh -m "not measure and not soak"
	fi
fi
# The VMM itself built with ASan+UBSan, driving real guests: memory errors,
# undefined behaviour and leaks at exit fail these scenarios.
if [ -d tests/e2e ] && [ "${MEMVISOR_E2E_ASAN:-1}" = 1 ]; then
	if ! make --no-print-directory vmm-asan >build/test-vmm-asan-build.log 2>&1; then
		echo "== vmm-asan: build failed (build/test-vmm-asan-build.log)"
		failed=$((failed + 1))
	fi
	MEMVISOR_BUILD=build/asan-vmm MEMVISOR_E2E_WORK=build/e2e-asan \
		run e2e-asan tests/e2e/run.sh -k "test_boots_to_userspace or grow_and_shrink or resize_under_load or test_nvdimm_root or test_root_on_pmem"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
