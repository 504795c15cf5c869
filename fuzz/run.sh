#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for
# ${FUZZ_SECONDS:-60} s from its seed corpus; fails on any crash, leak or timeout.
# FUZZ_TARGETS="fuzz_qmp fuzz_config" runs a subset.
set -eu
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
out=${FUZZ_BUILD:-build/fuzz}
targets=${FUZZ_TARGETS:-fuzz_virtq fuzz_vmem fuzz_balloon fuzz_vpci fuzz_blk fuzz_net fuzz_vsock fuzz_config fuzz_qmp fuzz_state fuzz_framer fuzz_server fuzz_ctl}
mkdir -p "$out"
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# The project's library (every src/**/*.c but main.c and log.c, as the
# Makefile finds them) built once, incrementally, with the fuzz flags and
# the Makefile's warnings (-Werror), less clang's note that a GNU extension
# is one (cpu.c puts a struct ending in a flexible array inside another).
lib="$out/lib"
make --no-print-directory -s -j"${FUZZ_JOBS:-2}" BUILD="$lib" CC=clang LDSTATIC= \
	OPT="-g -O1 -fsanitize=fuzzer-no-link $san -Wno-gnu-variable-sized-type-not-at-end" \
	"$lib/libmemvisor-nolog.a"
cflags="-g -O1 -std=gnu11 -D_GNU_SOURCE -Isrc -Itests/unit -pthread -fsanitize=fuzzer $san
	-Wall -Wextra -Wno-unused-parameter -Werror"
# Every target: its own file, the unit tests' fakes, silent logging, the library.
# shellcheck disable=SC2086
clang $cflags -c -o "$out/fakes.o" tests/unit/fakes.c
# shellcheck disable=SC2086
clang $cflags -c -o "$out/log_stub.o" fuzz/log_stub.c
status=0 passed=0 failed=0
for t in $targets; do
	# shellcheck disable=SC2086
	if ! clang $cflags -o "$out/$t" "fuzz/$t.c" "$out/fakes.o" "$out/log_stub.o" \
		"$lib/libmemvisor-nolog.a" -ljson-c -lnuma; then
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
