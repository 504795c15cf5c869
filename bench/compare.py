#!/usr/bin/env python3
"""memvisor and QEMU side by side in the same nested machine (bench/run.sh).

Both VMMs run inside the same L1 (tests/e2e/rig.py), one after the other,
with the same kernel, initramfs, 1 vCPU, 512M boot RAM and a 4G virtio-mem
region starting at 256M requested. Measured per VMM:

  boot    wall time from starting the VMM to the guest's ready marker
  grow    requested-size 256M -> 2G until the device reports 2G plugged
  shrink  after the guest touched 1.2G in tmpfs and freed it: 2G -> 256M
          until the device reports 256M plugged
  rss     the VMM's VmRSS after the boot plug, when full, after the shrink

grow/shrink are timed inside L1 by one shell loop that sets requested-size
and polls qom-get size over QMP with memvisor-ctl --json (it speaks QMP to
QEMU as well), so both VMMs are polled the same way at the same rate.
Repeats alternate the order (memvisor first, then QEMU first, ...).

Prints "key value" lines (medians over the repeats); progress on stderr.
Usage: compare.py [--budget SECONDS] [REPEATS [EXTRA-KIND...]]; EXTRA-KIND
memvisor-bs128m runs memvisor once more with block_size=128M (a diagnostic
for grow/shrink). With --budget, batches (a memvisor+QEMU pair, the extras)
that would not fit are skipped, the first pair never; vm_repeats says how
many pairs ran.
"""

import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import rig  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
BOOT_RAM = "512M"
REGION = "4G"
START = 256 * MiB
GROWN = 2 * GiB
TOUCH_MIB = 1200


def log(msg):
    sys.stderr.write("[compare] %s\n" % msg)
    sys.stderr.flush()


def qmp_json(execute, **arguments):
    msg = {"execute": execute}
    if arguments:
        msg["arguments"] = arguments
    return json.dumps(msg, separators=(",", ":"))


class Target:
    """One VMM under test: how to start it and where its QMP is."""

    def __init__(self, kind, l1):
        self.kind = kind
        self.l1 = l1
        self.vm = None

    def start(self):
        if self.kind.startswith("memvisor"):
            # memvisor-bs128m: a diagnostic, 128M blocks, so one memory slot
            # per 128M instead of per 2M (see results.md on grow/shrink).
            extra = ",block_size=128M" if self.kind == "memvisor-bs128m" else ""
            # The slot trace (one write(2) per slot change) times each
            # KVM_SET_USER_MEMORY_REGION and each vCPU hold.
            self.trace = "%s/slot-trace.txt" % self.l1.vm_dir
            self.l1.run("rm -f %s" % self.trace)
            self.vm = self.l1.start_vm(
                memory="size=%s,hotplug_method=virtio-mem,hotplug_size=%s,hotplugged_size=%dM%s"
                % (BOOT_RAM, REGION, START // MiB, extra),
                cpus=1,
                api_socket=True,
                env={"MEMVISOR_TRACE": "slot", "MEMVISOR_TRACE_FILE": self.trace},
            )
            self.sock, self.dev = self.vm.api_socket, "mem0"
        else:
            # As rig's virtio_mem=, plus reserve=off (MAP_NORESERVE, as
            # memvisor's region): without it L1 (3G, heuristic overcommit)
            # refuses QEMU's 4G mapping. maxmem covers boot RAM plus region.
            self.vm = self.l1.start_qemu(
                memory=BOOT_RAM + ",maxmem=4608M",
                cpus=1,
                args=[
                    "-object", "memory-backend-ram,id=m0,reserve=off,size=" + REGION,
                    "-device", "virtio-mem-pci,id=vm0,memdev=m0,requested-size=%dM" % (START // MiB),
                ],
            )  # fmt: skip
            self.sock, self.dev = self.vm.qmp_socket, "vm0"
        return self.vm

    def size(self):
        cmd = "memvisor-ctl --socket %s --json '%s'" % (
            self.sock,
            qmp_json("qom-get", path=self.dev, property="size"),
        )
        rc, out = self.l1.run(cmd, timeout=30)
        for line in out.splitlines():
            if line.startswith("{"):
                reply = json.loads(line)
                if "return" in reply:
                    return reply["return"]
        return None

    def slot_stats(self):
        """memvisor's slot counters for the device ({} for QEMU)."""
        if not self.kind.startswith("memvisor"):
            return {}
        cmd = "memvisor-ctl --socket %s --json '%s'" % (self.sock, qmp_json("query-memory-devices"))
        rc, out = self.l1.run(cmd, timeout=30)
        for line in out.splitlines():
            if line.startswith("{"):
                for d in json.loads(line).get("return", []):
                    if d["data"].get("id") == self.dev:
                        return {k: d["data"].get(k, 0) for k in ("x-slot-changes", "x-slot-holds", "x-slots")}
        return {}

    def slot_times(self):
        """Median microseconds of a slot map, a slot unmap and a vCPU hold
        in memvisor's slot trace ({} for QEMU, or without a trace)."""
        if not self.kind.startswith("memvisor"):
            return {}
        rc, out = self.l1.run("cat %s" % self.trace, timeout=30)
        got = {"map": [], "unmap": [], "hold": [], "discard": []}
        for line in out.splitlines():
            f = line.split()
            if len(f) > 3 and f[2] == "slot" and f[3] in got:
                us = [x for x in f if x.startswith("us=")]
                if us:
                    got[f[3]].append(int(us[0][3:]))
        return {"slot_%s_us" % k: statistics.median(v) for k, v in got.items() if v}

    def resize_timed(self, target, limit):
        """Set requested-size and poll the plugged size inside L1; seconds taken."""
        get = qmp_json("qom-get", path=self.dev, property="size")
        put = qmp_json("qom-set", path=self.dev, property="requested-size", value=target)
        script = r"""
q() { memvisor-ctl --socket %(sock)s --json "$1"; }
t0=$(cut -d' ' -f1 /proc/uptime)
q '%(put)s' >/dev/null || { echo "SETFAIL"; exit 1; }
end=$(( $(cut -d. -f1 /proc/uptime) + %(limit)d ))
while [ $(cut -d. -f1 /proc/uptime) -le $end ]; do
	out=$(q '%(get)s')
	case "$out" in *'"return": %(n)d}'*|*'"return":%(n)d}'*)
		echo "ELAPSED $t0 $(cut -d' ' -f1 /proc/uptime)"; exit 0;;
	esac
	usleep 50000
done
echo "TIMEOUT last: $out"; exit 1
""" % {"sock": self.sock, "put": put, "get": get, "n": target, "limit": limit}
        rc, out = self.l1.run(script, timeout=limit + 60)
        for line in out.splitlines():
            if line.startswith("ELAPSED"):
                _, t0, t1 = line.split()
                return float(t1) - float(t0)
        raise rig.RigError("%s: resize to %d not reached: %s" % (self.kind, target, out.strip()))


def wait_size(t, want, timeout=120):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = t.size()
        if last == want:
            return
        time.sleep(0.5)
    raise rig.RigTimeout("%s: plugged size %r, want %d" % (t.kind, last, want))


def one_run(l1, kind, kill_l1=False):
    t = Target(kind, l1)
    t0 = time.time()
    vm = t.start()
    try:
        vm.wait_ready(timeout=rig.scaled(180))
        boot = time.time() - t0
        wait_size(t, START)
        if kill_l1:
            l1.send("echo c > /proc/sysrq-trigger")
        rss_boot = vm.rss_kib()
        s0 = t.slot_stats()
        grow = t.resize_timed(GROWN, 240)
        s1 = t.slot_stats()
        rc, out = vm.run(
            "mkdir -p /mnt/t && mount -t tmpfs -o size=%dM t /mnt/t && "
            "dd if=/dev/zero of=/mnt/t/f bs=1M count=%d 2>&1 | tail -n1" % (TOUCH_MIB + 100, TOUCH_MIB),
            timeout=300,
        )
        if rc != 0:
            raise rig.RigError("%s: touching memory failed: %s" % (kind, out))
        rss_full = vm.rss_kib()
        vm.run("rm /mnt/t/f && umount /mnt/t && echo 3 > /proc/sys/vm/drop_caches", check=True)
        shrink = t.resize_timed(START, 300)
        s2 = t.slot_stats()
        times = t.slot_times()
        time.sleep(1)
        rss_after = vm.rss_kib()
        vm.poweroff()
        vm.wait_exit()
    finally:
        try:
            vm.kill()
        except (rig.RigError, OSError):
            pass  # a dead L1: run_surviving_l1 finds out why
    r = {
        "boot_s": boot,
        "grow_s": grow,
        "shrink_s": shrink,
        "rss_boot_kib": rss_boot,
        "rss_full_kib": rss_full,
        "rss_after_shrink_kib": rss_after,
    }
    if s0 and s1 and s2:
        grown_gib = (GROWN - START) / GiB
        r["slot_changes_per_gib_grown"] = (s1["x-slot-changes"] - s0["x-slot-changes"]) / grown_gib
        r["slot_changes_per_gib_shrunk"] = (s2["x-slot-changes"] - s1["x-slot-changes"]) / grown_gib
        r["slot_holds_shrink"] = s2["x-slot-holds"] - s1["x-slot-holds"]
        r["slots_grown"] = s1["x-slots"]
        r.update(times)
    log("%s: %s" % (kind, " ".join("%s=%s" % (k, round(v, 2)) for k, v in r.items())))
    return r


def warm_l1(l1, mib=4000):
    """Touch and free most of a fresh L1's memory once. The host backs L1's
    RAM on first touch, so without this the first VMM to run in a new L1
    pays for it (its first shrink measured 25% slower than the rest)."""
    if not isinstance(l1, rig.L1):
        return
    t0 = time.time()
    l1.run("mkdir -p /tmp/warm && mount -t tmpfs -o size=%dM warm /tmp/warm && "
           "dd if=/dev/zero of=/tmp/warm/f bs=1M count=%d 2>/dev/null; "
           "rm -f /tmp/warm/f; umount /tmp/warm" % (mib + 16, mib), timeout=300)
    log("L1 memory warmed (%d MiB) in %.1fs" % (mib, time.time() - t0))


def run_surviving_l1(l1, art, kind, restarts, one=None, what="run"):
    """one_run, once more on a new L1 when L1 died under it (the emulated
    SVM rarely kills L1's kernel; see tests/e2e/conftest.py). A failure with
    a live L1, or a second death, is raised. Returns (l1, result): the L1
    may be a new one. MEMVISOR_BENCH_KILL_L1=1 (a test of this path) kills
    the first L1 in the middle of the first run. one: the run to make
    (default one_run; bench/dimm.py passes its own), what: its name in logs."""
    one = one or one_run
    mark = l1.console_offset()
    try:
        if os.environ.get("MEMVISOR_BENCH_KILL_L1") == "1" and not restarts and isinstance(l1, rig.L1):
            return l1, one(l1, kind, kill_l1=True)
        return l1, one(l1, kind)
    except rig.RigError:
        why = l1.death(mark)
        if not why:
            raise
    line = "rig: L1 died during the %s %s (%s); restarted, run repeated" % (kind, what, why)
    restarts.append(line)
    log(line)
    l1.kill(keep_console=os.path.join(l1.workdir, "l1-console.dead-%s%d.log"
                                      % ("" if what == "run" else what.split()[0] + "-", len(restarts))))
    l1 = rig.L1.boot(art)
    warm_l1(l1)
    return l1, one(l1, kind)


def side_by_side(argv, one, what, log):
    """The run shared by bench/dimm.py and bench/io.py: argv is
    [--budget SECONDS] [PAIRS] (default 3); the rig is built and one L1
    booted and warmed, then one(l1, kind) runs for memvisor and QEMU, pair
    by pair, alternating which goes first, each through run_surviving_l1.
    A pair that would not fit in the budget is skipped (the first never).
    Returns ({"memvisor": [...], "qemu": [...]}, restarts, skipped)."""
    budget = None
    if argv[:1] == ["--budget"]:
        budget = float(argv[1])
        argv = argv[2:]
    pairs = int(argv[0]) if argv else 3
    start_t = time.time()
    nested, why = rig.use_nested()
    log("%s: %s" % (why, "VMs in the nested rig (L1 under TCG)" if nested else "VMs on this machine's /dev/kvm"))
    art = rig.build(with_qemu=True, l1=nested)
    l1 = rig.L1.boot(art) if nested else rig.Local(art)
    warm_l1(l1)
    results = {"memvisor": [], "qemu": []}
    longest, skipped, restarts = 0.0, 0, []
    try:
        for i in range(pairs):
            order = ("memvisor", "qemu") if i % 2 == 0 else ("qemu", "memvisor")
            if budget is not None and i and time.time() - start_t + 1.2 * longest > budget:
                skipped += 1
                continue
            t0 = time.time()
            got = {}
            for kind in order:
                l1, got[kind] = run_surviving_l1(l1, art, kind, restarts, one, what)
            for kind in order:
                results[kind].append(got[kind])
            longest = max(longest, time.time() - t0)
    finally:
        l1.shutdown()
    return results, restarts, skipped


def print_pairs(prefix, keys, results, restarts, skipped):
    """The "key value" lines of a side_by_side throughput run (bench/io.py,
    bench/vhost_user.py): counts, each VMM's medians and every value, and
    memvisor/QEMU per figure (median of the pairs' ratios, and each)."""
    print("%s_l1_restarts %d" % (prefix, len(restarts)))
    print("%s_pairs %d" % (prefix, len(results["qemu"])))
    print("%s_skipped %d" % (prefix, skipped))
    for kind, runs in results.items():
        for key in keys:
            print("%s_%s_%s %.3f" % (prefix, kind, key, statistics.median(r[key] for r in runs)))
            print("%s_%s_%s_all %s" % (prefix, kind, key, ",".join("%.3f" % r[key] for r in runs)))
    for key in keys:
        ratios = [m[key] / q[key] for m, q in zip(results["memvisor"], results["qemu"])]
        print("%s_%s_vs_qemu %.3f" % (prefix, key, statistics.median(ratios)))
        print("%s_%s_vs_qemu_all %s" % (prefix, key, ",".join("%.3f" % v for v in ratios)))


def plan(reps, extra):
    """Batches in priority order: the first pair, a second pair, the extra
    kinds, then further pairs. A batch runs whole or not at all."""
    pairs = [("memvisor", "qemu") if i % 2 == 0 else ("qemu", "memvisor") for i in range(reps)]
    return pairs[:2] + [tuple(extra)] * bool(extra) + pairs[2:]


def main():
    args = sys.argv[1:]
    budget = None
    if args[:1] == ["--budget"]:
        budget = float(args[1])
        args = args[2:]
    reps = int(args[0]) if args else 2
    # Extra kinds run once each, e.g. memvisor-bs128m.
    extra = args[1:]
    start = time.time()
    nested, why = rig.use_nested()
    log("%s: %s" % (why, "VMs in the nested rig (L1 under TCG)" if nested else "VMs on this machine's /dev/kvm"))
    t0 = time.time()
    art = rig.build(with_qemu=True, l1=nested)
    log("rig built in %.1fs" % (time.time() - t0))
    l1 = rig.L1.boot(art) if nested else rig.Local(art)
    warm_l1(l1)
    results = {"memvisor": [], "qemu": []}
    longest, skipped, restarts = 0.0, [], []
    try:
        log("L1 up")
        for batch in plan(reps, extra):
            # Bounded: make bench must finish in its time; later batches yield.
            need = 1.2 * longest * len(batch)
            if budget is not None and results["qemu"] and time.time() - start + need > budget:
                skipped.append(batch)
                continue
            for kind in batch:
                t0 = time.time()
                l1, r = run_surviving_l1(l1, art, kind, restarts)
                results.setdefault(kind, []).append(r)
                longest = max(longest, time.time() - t0)
    finally:
        l1.shutdown()
    for line in restarts:
        log(line)
    print("vm_l1_restarts %d" % len(restarts))
    for batch in skipped:
        log("skipped %s: not enough of the %ds budget left" % ("+".join(batch), budget))
    print("vm_repeats %d" % len(results["qemu"]))
    print("vm_skipped %d" % sum(len(b) for b in skipped))
    print("vm_nested %d" % int(nested))
    for kind, runs in results.items():
        keys = sorted({k for r in runs for k in r}, key=lambda k: min(list(r).index(k) for r in runs if k in r))
        for key in keys:
            vals = [r[key] for r in runs if key in r]  # a run without holds has no hold time
            print("vm_%s_%s %.3f" % (kind.replace("-", "_"), key, statistics.median(vals)))
            print("vm_%s_%s_all %s" % (kind.replace("-", "_"), key, ",".join("%.3f" % v for v in vals)))


if __name__ == "__main__":
    main()
