#!/usr/bin/env bash
# Runs each cmocka unit-test binary given and prints one summary line over all.
set -u
passed=0 failed=0 broken=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	# A binary that crashed or printed no summary counts as one failure.
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		echo "unit: $t exited with status $rc" >&2
		broken=$((broken + 1))
	fi
done
failed=$((failed + broken))
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
