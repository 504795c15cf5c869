#!/usr/bin/env python3
"""DIMM hotplug figures, memvisor and QEMU 7.2 pc-dimm in the same nested
machine (bench/run.sh, figure 7).

Both VMMs run the same guest, one after the other in one L1: 1 vCPU, 512M
boot RAM, an ACPI hotplug area of 4G (memvisor: --memory
size=512M,hotplug_size=4G; QEMU: -m 512M,slots=8,maxmem=4608M), the
guest's memory onlined movable (memhp_default_state=online_movable). Then:

  grow    QMP object-add memory-backend-ram 1G + device_add pc-dimm, timed
          on the host from just before the object-add to the line a guest
          loop prints once its MemTotal has risen by 1000 MiB (the loop
          polls /proc/meminfo every 20 ms; the same console path for both)
  shrink  after the guest wrote 800 MiB into tmpfs and freed it: QMP
          device_del, timed inside L1 by one shell loop that polls
          query-memory-devices (memvisor-ctl --json, which speaks QMP to
          both) until the DIMM is gone, i.e. the guest ejected it and the
          VMM removed it (QEMU and memvisor both send DEVICE_DELETED then)
  rss     the VMM's VmRSS with the DIMM full, and after the shrink and an
          object-del of its backend (QEMU frees the memory only then;
          memvisor already at the eject)

Runs alternate the order (memvisor first, then QEMU first, ...). Prints
"key value" lines (medians) and "key_all v1,v2,..." lines; progress on
stderr. Usage: dimm.py [--budget SECONDS] [REPEATS]; with --budget, pairs
that would not fit are skipped (the first never). An L1 that dies under a
run is replaced and the run repeated once (compare.py's run_surviving_l1).
"""

import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import rig  # noqa: E402
from compare import qmp_json, side_by_side  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
TOUCH_MIB = 800


def log(msg):
    sys.stderr.write("[dimm] %s\n" % msg)
    sys.stderr.flush()


def qmp(l1, sock, execute, **arguments):
    rc, out = l1.run("memvisor-ctl --socket %s --json '%s'" % (sock, qmp_json(execute, **arguments)), timeout=60)
    for line in out.splitlines():
        if line.startswith("{"):
            reply = json.loads(line)
            if "return" in reply or "error" in reply:
                return reply
    raise rig.RigError("no QMP reply from %s: %r" % (sock, out))


def start(l1, kind):
    if kind == "memvisor":
        vm = l1.start_vm(memory="size=512M,hotplug_size=4G", cpus=1, api_socket=True)
        return vm, vm.api_socket
    vm = l1.start_qemu(memory="512M,slots=8,maxmem=4608M", cpus=1)
    return vm, vm.qmp_socket


def shrink_timed(l1, sock, limit=300):
    """device_del d1 and poll query-memory-devices inside L1 until d1 is gone; seconds."""
    put = qmp_json("device_del", id="d1")
    get = qmp_json("query-memory-devices")
    script = r"""
q() { memvisor-ctl --socket %(sock)s --json "$1"; }
t0=$(cut -d' ' -f1 /proc/uptime)
q '%(put)s' | grep -q '"return"' || { echo "DELFAIL"; exit 1; }
end=$(( $(cut -d. -f1 /proc/uptime) + %(limit)d ))
while [ $(cut -d. -f1 /proc/uptime) -le $end ]; do
	out=$(q '%(get)s')
	case "$out" in *'"d1"'*) ;; *'"return"'*) echo "ELAPSED $t0 $(cut -d' ' -f1 /proc/uptime)"; exit 0;; esac
	usleep 50000
done
echo "TIMEOUT last: $out"; exit 1
""" % {"sock": sock, "put": put, "get": get, "limit": limit}
    rc, out = l1.run(script, timeout=limit + 60)
    for line in out.splitlines():
        if line.startswith("ELAPSED"):
            _, t0, t1 = line.split()
            return float(t1) - float(t0)
    raise rig.RigError("DIMM d1 not removed: %s" % out.strip())


def one_run(l1, kind, kill_l1=False):
    vm, sock = start(l1, kind)
    try:
        vm.wait_ready(timeout=rig.scaled(180))
        if kill_l1:  # MEMVISOR_BENCH_KILL_L1=1: the death path of run_surviving_l1
            l1.send("echo c > /proc/sysrq-trigger")
        base = vm.meminfo()["MemTotal"]
        mark = len(vm.log())
        # The marker is typed as DIMM""_GREW, so only the loop's output matches.
        vm.send("(while [ $(awk '/MemTotal/{print $2}' /proc/meminfo) -lt %d ]; do usleep 20000; done; "
                "echo DIMM\"\"_GREW) &" % (base + 1000 * 1024))
        time.sleep(2)
        t0 = time.time()
        for execute, args in (("object-add", {"qom-type": "memory-backend-ram", "id": "m1", "size": GiB}),
                              ("device_add", {"driver": "pc-dimm", "id": "d1", "memdev": "m1"})):
            reply = qmp(l1, sock, execute, **args)
            if "return" not in reply:
                raise rig.RigError("%s: %s refused: %r" % (kind, execute, reply))
        deadline = time.time() + rig.scaled(120)
        while "DIMM_GREW" not in vm.log(mark):
            if time.time() > deadline:
                raise rig.RigTimeout("%s: the guest did not see the DIMM" % kind)
            time.sleep(0.05)
        grow = time.time() - t0
        rc, out = vm.run("mkdir -p /mnt/t && mount -t tmpfs -o size=%dM t /mnt/t && "
                         "dd if=/dev/zero of=/mnt/t/f bs=1M count=%d 2>&1 | tail -n1" % (TOUCH_MIB + 100, TOUCH_MIB),
                         timeout=300)
        if rc != 0:
            raise rig.RigError("%s: touching memory failed: %s" % (kind, out))
        rss_full = vm.rss_kib()
        vm.run("rm /mnt/t/f && umount /mnt/t && echo 3 > /proc/sys/vm/drop_caches", check=True)
        shrink = shrink_timed(l1, sock)
        # QEMU frees the memory with its backend object, not with the DIMM: both get object-del.
        reply = qmp(l1, sock, "object-del", id="m1")
        if "return" not in reply:
            raise rig.RigError("%s: object-del refused: %r" % (kind, reply))
        time.sleep(1)
        rss_after = vm.rss_kib()
        vm.poweroff()
        vm.wait_exit()
    finally:
        try:
            vm.kill()
        except (rig.RigError, OSError):
            pass  # a dead L1: run_surviving_l1 finds out why
    r = {"grow_s": grow, "shrink_s": shrink, "rss_full_kib": rss_full, "rss_after_shrink_kib": rss_after}
    log("%s: %s" % (kind, " ".join("%s=%s" % (k, round(v, 2)) for k, v in r.items())))
    return r


def main():
    results, restarts, skipped = side_by_side(sys.argv[1:], one_run, "DIMM run", log)
    print("dimm_l1_restarts %d" % len(restarts))
    print("dimm_repeats %d" % len(results["qemu"]))
    print("dimm_skipped %d" % skipped)
    for kind, runs in results.items():
        for key in runs[0]:
            print("dimm_%s_%s %.3f" % (kind, key, statistics.median(r[key] for r in runs)))
            print("dimm_%s_%s_all %s" % (kind, key, ",".join("%.3f" % r[key] for r in runs)))


if __name__ == "__main__":
    main()
