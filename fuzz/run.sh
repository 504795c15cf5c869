#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for
# ${FUZZ_SECONDS:-60} s from its seed corpus; fails on any crash, leak or timeout.
set -eu
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
out=${FUZZ_BUILD:-build/fuzz}
mkdir -p "$out"
cflags="-g -O1 -std=gnu11 -D_GNU_SOURCE -Isrc -Itests/unit -pthread
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# Everything the targets reach, with silent logging instead of core/log.c.
srcs="src/virtio/virtq.c src/virtio/virtio.c src/virtio/pci.c src/virtio/mem.c
	src/virtio/mem_state.c src/mem/guest.c src/devices/pci.c src/core/bus.c
	src/core/loop.c tests/unit/fakes.c fuzz/log_stub.c"
status=0 passed=0 failed=0
for t in fuzz_virtq fuzz_vmem fuzz_vpci; do
	# shellcheck disable=SC2086
	clang $cflags -o "$out/$t" "fuzz/$t.c" $srcs
	corpus="$out/corpus-$t"
	mkdir -p "$corpus"
	echo "fuzz: $t for ${secs}s"
	if ! "$out/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/$t-" \
		"$corpus" "fuzz/corpus/$t" >"$out/$t.log" 2>&1; then
		echo "fuzz: $t FAILED (log: $out/$t.log)" >&2
		tail -n 40 "$out/$t.log" >&2
		status=1
		failed=$((failed + 1))
	else
		grep -E 'stat::number_of_executed_units|cov:' "$out/$t.log" | tail -n 2
		passed=$((passed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
exit $status
