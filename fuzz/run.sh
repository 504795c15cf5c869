#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for
# ${FUZZ_SECONDS:-60} s from its seed corpus; fails on any crash, leak or timeout.
# FUZZ_TARGETS="fuzz_qmp fuzz_config" runs a subset.
set -eu
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
out=${FUZZ_BUILD:-build/fuzz}
targets=${FUZZ_TARGETS:-fuzz_virtq fuzz_vmem fuzz_vpci fuzz_config fuzz_qmp}
mkdir -p "$out"
cflags="-g -O1 -std=gnu11 -D_GNU_SOURCE -Isrc -Itests/unit -pthread
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# Everything each target reaches, with silent logging instead of core/log.c.
virtio_srcs="src/virtio/virtq.c src/virtio/virtio.c src/virtio/pci.c src/virtio/mem.c
	src/virtio/mem_state.c src/mem/guest.c src/devices/pci.c src/core/bus.c
	src/core/loop.c tests/unit/fakes.c src/core/errbuf.c fuzz/log_stub.c"
config_srcs="src/config/config.c src/config/kv.c src/config/options.c
	src/config/validate.c src/config/host.c src/core/errbuf.c fuzz/log_stub.c"
qmp_srcs="src/api/qmp.c src/api/buf.c src/api/api.c src/api/commands.c src/api/hmp.c
	src/core/loop.c src/core/errbuf.c fuzz/log_stub.c"
status=0 passed=0 failed=0
for t in $targets; do
	case $t in
	fuzz_config) srcs=$config_srcs libs= ;;
	fuzz_qmp) srcs=$qmp_srcs libs=-ljson-c ;;
	*) srcs=$virtio_srcs libs= ;;
	esac
	# shellcheck disable=SC2086
	if ! clang $cflags -o "$out/$t" "fuzz/$t.c" $srcs $libs; then
		echo "fuzz: $t FAILED to build" >&2
		status=1
		failed=$((failed + 1))
		continue
	fi
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
