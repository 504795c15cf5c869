#!/usr/bin/env bash
# make bench: every benchmark, a table, bench/results.md and one
# "metric NAME VALUE UNIT" line per figure. Figures are ratios taken in the
# same run, or counts; never absolute speed goals.
#
# Environment: BUILD (default build), BENCH_REPEATS (in-process repeats,
# default 9), BENCH_VM_REPEATS (memvisor/QEMU side-by-side pairs at most,
# default 3; fewer run when they would not fit), BENCH_BUDGET_S (seconds the
# whole run may take, default 900), BENCH_SKIP_VM=1 (leave out the nested
# comparison), BENCH_SKIP_SNAP=1 (leave out the snapshot/restore figures),
# BENCH_RESULTS (default bench/results.md), BENCH_SKIP_AUTOSCALE=1 (leave out
# the autoscale figures, about 8 minutes; their picture lands beside RESULTS),
# BENCH_SKIP_IO=1 (leave out the disk and network throughput, figure 9),
# BENCH_SKIP_VU=1 (leave out the vhost-user throughput, figure 10).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cd "$repo"
BUILD=${BUILD:-build}
REPEATS=${BENCH_REPEATS:-9}
VM_REPEATS=${BENCH_VM_REPEATS:-3}
BENCH_BUDGET_S=${BENCH_BUDGET_S:-900}
# The DIMM figures (figure 7) come after the budget above, with this much more.
BENCH_DIMM_S=${BENCH_DIMM_S:-420}
# The disk and network figures (figure 9), after the autoscale ones, with this much more.
BENCH_IO_S=${BENCH_IO_S:-600}
# The vhost-user figures (figure 10), after those, with this much more.
BENCH_VU_S=${BENCH_VU_S:-600}
RESULTS=${BENCH_RESULTS:-bench/results.md}
start=$(date +%s)

"$repo/scripts/setup.sh"

# The benchmarks link the same library the unit tests do, plus the unit
# tests' fakes (fake guest memory, fake PCI host, virtqueue driver).
CFLAGS="-O2 -g -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	-Wmissing-prototypes -Wstrict-prototypes -fno-strict-aliasing -D_GNU_SOURCE \
	-Isrc -Itests/unit -pthread"
mkdir -p "$BUILD/bench"
for b in idle ops; do
	# shellcheck disable=SC2086
	${CC:-cc} $CFLAGS -o "$BUILD/bench/$b" "bench/$b.c" tests/unit/fakes.c \
		"$BUILD/libmemvisor.a" -ljson-c -lnuma -lpthread
done

raw="$BUILD/bench/raw.txt"
: >"$raw"
echo "bench: idle cost of 16/64/256 GiB regions (fresh process each)" >&2
for g in 16 64 256; do
	"$BUILD/bench/idle" "$g" 4 | sed "s/^/idle_${g}g_/" >>"$raw"
done
# The slot count of a 1 TiB region half plugged (not populated: slots only).
"$BUILD/bench/idle" 1024 512 count | sed "s/^/idle_1024g_/" >>"$raw"
echo "bench: plug/unplug/request rate in process, $REPEATS repeats" >&2
"$BUILD/bench/ops" "$REPEATS" >>"$raw"
if [ "${BENCH_SKIP_VM:-0}" != 1 ]; then
	echo "bench: memvisor vs QEMU in the nested rig, $VM_REPEATS repeats (minutes)" >&2
	# Whatever is left of the 15 minutes make bench may take, less a margin
	# and what the snapshot figures need.
	reserve=420
	[ "${BENCH_SKIP_SNAP:-0}" != 1 ] || reserve=0
	budget=$((BENCH_BUDGET_S - ($(date +%s) - start) - 45 - reserve))
	if ! python3 bench/compare.py --budget "$budget" "$VM_REPEATS" >>"$raw"; then
		echo "bench: the nested comparison failed (see above); its figures are missing" >&2
		echo "vm_failed 1" >>"$raw"
	fi
fi
if [ "${BENCH_SKIP_VM:-0}" != 1 ] && [ "${BENCH_SKIP_SNAP:-0}" != 1 ]; then
	echo "bench: snapshot size, pause and restore vs QEMU in the nested rig (minutes)" >&2
	budget=$((BENCH_BUDGET_S - ($(date +%s) - start) - 30))
	if ! python3 bench/snapshot.py --budget "$budget" "$VM_REPEATS" >>"$raw"; then
		echo "bench: the snapshot figures failed (see above); they are missing" >&2
		echo "snap_failed 1" >>"$raw"
	fi
fi
if [ "${BENCH_SKIP_VM:-0}" != 1 ] && [ "${BENCH_SKIP_DIMM:-0}" != 1 ]; then
	echo "bench: DIMM grow and shrink vs QEMU pc-dimm in the nested rig (minutes)" >&2
	budget=$((BENCH_BUDGET_S + BENCH_DIMM_S - ($(date +%s) - start) - 30))
	if ! python3 bench/dimm.py --budget "$budget" "$VM_REPEATS" >>"$raw"; then
		echo "bench: the DIMM figures failed (see above); they are missing" >&2
		echo "dimm_failed 1" >>"$raw"
	fi
fi
if [ "${BENCH_SKIP_VM:-0}" != 1 ] && [ "${BENCH_SKIP_AUTOSCALE:-0}" != 1 ]; then
	echo "bench: --autoscale against a static VM sized for the peak, nested (minutes)" >&2
	# The picture needs gnuplot (Debian's gnuplot-nox); without it, the figures only.
	command -v gnuplot >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq gnuplot-nox >/dev/null 2>&1; } || true
	if ! python3 bench/autoscale.py "$(dirname "$RESULTS")" >>"$raw"; then
		echo "bench: the autoscale figures failed (see above); they are missing" >&2
		echo "as_failed 1" >>"$raw"
	fi
fi
if [ "${BENCH_SKIP_VM:-0}" != 1 ] && [ "${BENCH_SKIP_IO:-0}" != 1 ]; then
	echo "bench: disk and network throughput vs QEMU in the nested rig (minutes)" >&2
	budget=$((BENCH_BUDGET_S + BENCH_DIMM_S + BENCH_IO_S - ($(date +%s) - start) - 30))
	if ! python3 bench/io.py --budget "$budget" "$VM_REPEATS" >>"$raw"; then
		echo "bench: the disk and network figures failed (see above); they are missing" >&2
		echo "io_failed 1" >>"$raw"
	fi
fi
if [ "${BENCH_SKIP_VM:-0}" != 1 ] && [ "${BENCH_SKIP_VU:-0}" != 1 ]; then
	echo "bench: vhost-user throughput vs QEMU in the nested rig (minutes)" >&2
	budget=$((BENCH_BUDGET_S + BENCH_DIMM_S + BENCH_IO_S + BENCH_VU_S - ($(date +%s) - start) - 30))
	if ! python3 bench/vhost_user.py --budget "$budget" "$VM_REPEATS" >>"$raw"; then
		echo "bench: the vhost-user figures failed (see above); they are missing" >&2
		echo "vu_failed 1" >>"$raw"
	fi
fi
end=$(date +%s)
echo "elapsed_s $((end - start))" >>"$raw"
python3 bench/report.py "$raw" "$RESULTS" "$REPEATS" "$VM_REPEATS"
