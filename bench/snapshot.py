#!/usr/bin/env python3
"""Snapshot and restore figures, memvisor and QEMU 7.2 in the same nested
machine (bench/run.sh, figure 6).

One L1 (5G, so a 1 GiB guest and its snapshot file fit side by side). Both
VMMs run the same guest: 1 vCPU, 512M boot RAM, a 2G virtio-mem region with
1G plugged, 1 GiB of non-zero data written into tmpfs (16 MiB of random
bytes, repeated), a counter ticking. Measured:

  clones   two clones of the snapshot restored side by side, with copy and
           with cow, each guest reading its 1 GiB once: the L1 memory they
           take together (cow clones share the snapshot's page cache)

  size     memvisor: the snapshot's disk usage (du) against the non-zero
           guest memory its first pass found (x-memory-bytes: every boot RAM
           and plugged page, zero pages skipped), and against the VM's
           maximum memory (boot RAM + region); QEMU's migration file beside
  pause    x-pause-ms of a paused snapshot and of a --live one, same VM
  restore  from starting `memvisor --restore source_url=...,resume=on`
           (memory_restore_mode copy, cow, ondemand) or `qemu -incoming
           "exec:cat FILE"` (the file written by QMP migrate "exec:cat >
           FILE"; no -S, so QEMU runs the guest once loaded) to the guest's
           first answer on its console; for both, QMP query-status is polled
           until "running" before the console command is sent (a byte sent
           while QEMU loads is dropped by the loaded UART state)

Restores alternate the order (memvisor first, then QEMU first, ...).
Prints "key value" lines (medians) and "key_all v1,v2,..." lines; progress
on stderr. Usage: snapshot.py [--budget SECONDS] [REPEATS]; with --budget,
restore pairs that would not fit are skipped (the first never).
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
BOOT, REGION, PLUGGED = 512 * MiB, 2048 * MiB, 1024 * MiB
FILL = ("mkdir -p /mnt/t && mount -t tmpfs -o size=1100M t /mnt/t && "
        "dd if=/dev/urandom of=/mnt/t/seed bs=1M count=16 2>/dev/null && "
        "i=0 && while [ $i -lt 63 ]; do cat /mnt/t/seed; i=$((i+1)); done > /mnt/t/f && "
        "du -m /mnt/t | tail -1")
COUNTER = "(n=0; while :; do n=$((n+1)); echo $n > /mnt/t/c; sleep 0.5; done) >/dev/null 2>&1 &"


def log(msg):
    sys.stderr.write("[snapshot] %s\n" % msg)
    sys.stderr.flush()


def qmp(l1, sock, execute, timeout=60, **arguments):
    msg = {"execute": execute}
    if arguments:
        msg["arguments"] = arguments
    rc, out = l1.run("memvisor-ctl --socket %s --json '%s'" % (sock, json.dumps(msg)), timeout=timeout)
    lines = [x for x in out.splitlines() if x.startswith("{")]
    if not lines:
        raise rig.RigError("no QMP reply from %s to %s: %r" % (sock, execute, out))
    return json.loads(lines[-1])


def wait_plugged(l1, sock, dev, want, timeout=240):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = qmp(l1, sock, "qom-get", path=dev, property="size").get("return")
        if last == want:
            return
        time.sleep(1)
    raise rig.RigTimeout("%s: plugged %r, want %d" % (dev, last, want))


def du_kib(l1, path):
    rc, out = l1.run("du -k %s | cut -f1" % path, check=True)
    log("%s: %s KiB on disk" % (path, out.split()[-1]))
    return int(out.split()[-1])


def filled(vm):
    """1 GiB of non-zero data in the guest's tmpfs, then the counter."""
    rc, out = vm.run(FILL, timeout=900, check=True)
    if int(out.split()[-2] if len(out.split()) > 1 else 0) < 1024:
        raise rig.RigError("%s: tmpfs holds %s, want 1024 MiB" % (vm.name, out.strip()))
    vm.run(COUNTER, timeout=240, check=True)  # QEMU's guest was once > 60 s after the fill
    log("%s: guest wrote 1 GiB into tmpfs" % vm.name)


def wait_running(l1, vm, sock, timeout=600):
    """Until QMP query-status says "running". No console byte may be sent
    before: QEMU's UART takes input while -incoming still loads, and the
    loaded device state then drops it (the command's first byte lost, the
    guest never answers); memvisor is asked the same way, for a fair race."""
    deadline = time.time() + timeout
    last = None
    ask = json.dumps({"execute": "query-status"})
    while time.time() < deadline:
        # One L1 round trip per poll: whether the VMM exited, else its status.
        rc, out = l1.run("if test -e %s/%s/status; then echo __EXITED; else memvisor-ctl --socket %s "
                         "--json '%s' 2>&1; fi" % (l1.vm_dir, vm.name, sock, ask), timeout=20)
        if "__EXITED" in out:
            vm._fail(rig.RigError, "VMM exited before running (QMP status %r)" % last)
        replies = [x for x in out.splitlines() if x.startswith("{")]
        last = json.loads(replies[-1]).get("return", {}).get("status") if replies else "no QMP yet"
        if last == "running":
            return
        time.sleep(0.1)
    vm._fail(rig.RigTimeout, "not running within %d s (QMP status %r)" % (timeout, last))


def first_answer(vm, t0, sock, timeout=600):
    wait_running(vm.l1, vm, sock, timeout)
    rc, out = vm.run("cat /mnt/t/c", timeout=timeout)
    if rc != 0:
        raise rig.RigError("%s: the restored guest answered %d: %s" % (vm.name, rc, out))
    return time.time() - t0


QEMU_ARGS = [
    "-object", "memory-backend-ram,id=m0,reserve=off,size=%dM" % (REGION // MiB),
    "-device", "virtio-mem-pci,id=vm0,memdev=m0,requested-size=%dM" % (PLUGGED // MiB),
]  # fmt: skip
QEMU_MEM = "%dM,maxmem=%dM" % (BOOT // MiB, (BOOT + REGION) // MiB)


def memvisor_source(l1, d, reps, out):
    """Boot, fill, snapshots (paused and live, reps each); leaves d/mv.snap."""
    vm = l1.start_vm(memory="size=%dM,hotplug_method=virtio-mem,hotplug_size=%dM,hotplugged_size=%dM"
                     % (BOOT // MiB, REGION // MiB, PLUGGED // MiB), cpus=1, api_socket=True)
    try:
        vm.wait_ready(timeout=rig.scaled(180))
        wait_plugged(l1, vm.api_socket, "mem0", PLUGGED)
        filled(vm)
        paused, live, nonzero = [], [], 0
        for i in range(reps):
            for kind in ("paused", "live") if i % 2 == 0 else ("live", "paused"):
                path = "%s/mv.snap" % d if kind == "paused" else "%s/mv-live.snap" % d
                args = {"url": "file://" + path}
                if kind == "live":
                    args["live"] = True
                r = qmp(l1, vm.api_socket, "x-snapshot", timeout=600, **args)
                if "return" not in r:
                    raise rig.RigError("x-snapshot: %r" % r)
                (live if kind == "live" else paused).append(r["return"]["x-pause-ms"])
                if kind == "paused":
                    nonzero = r["return"]["x-memory-bytes"]
                else:
                    out["snap_live_disk_kib"] = du_kib(l1, path)
                    l1.run("rm -f %s" % path)  # L1's tmpfs holds two such files at most
                log("%s snapshot: %r" % (kind, r["return"]))
        out["snap_disk_kib"] = du_kib(l1, "%s/mv.snap" % d)
        out["snap_nonzero_kib"] = nonzero / 1024
        out["snap_max_kib"] = (BOOT + REGION) / 1024
        out["snap_pause_paused_ms"] = paused
        out["snap_pause_live_ms"] = live
    finally:
        vm.kill()


def qemu_source(l1, d, out):
    vm = l1.start_qemu(memory=QEMU_MEM, cpus=1, args=QEMU_ARGS, name="qsrc")
    try:
        vm.wait_ready(timeout=rig.scaled(240))
        wait_plugged(l1, vm.qmp_socket, "vm0", PLUGGED)
        filled(vm)
        r = qmp(l1, vm.qmp_socket, "migrate", uri="exec:cat > %s/q.mig" % d)
        if "return" not in r:
            raise rig.RigError("migrate: %r" % r)
        deadline = time.time() + 600
        while time.time() < deadline:
            st = qmp(l1, vm.qmp_socket, "query-migrate")["return"].get("status")
            if st == "completed":
                break
            if st in ("failed", "cancelled"):
                raise rig.RigError("QEMU migrate %s" % st)
            time.sleep(1)
        else:
            raise rig.RigTimeout("QEMU migrate did not complete")
        out["qemu_mig_disk_kib"] = du_kib(l1, "%s/q.mig" % d)
    finally:
        vm.kill()


def restore_memvisor(l1, d, mode, n):
    name = "mvr-%s-%d" % (mode, n)
    sock = "%s/%s/api.sock" % (l1.vm_dir, name)
    argv = ["memvisor", "--restore",
            "source_url=file://%s/mv.snap,memory_restore_mode=%s,resume=on" % (d, mode),
            "--serial", "tty", "--api-socket", sock]  # fmt: skip
    t0 = time.time()
    vm = rig.VM(l1, name, argv)
    try:
        return first_answer(vm, t0, sock)
    finally:
        vm.kill()


def restore_qemu(l1, d, n):
    t0 = time.time()
    # No -S: QEMU starts the guest itself once the stream is loaded (autostart).
    vm = l1.start_qemu(memory=QEMU_MEM, cpus=1, args=QEMU_ARGS + ["-incoming", "exec:cat %s/q.mig" % d],
                       name="qr-%d" % n)
    try:
        return first_answer(vm, t0, vm.qmp_socket)
    finally:
        vm.kill()


MODES = ("copy", "cow", "ondemand")
CLONES = 2


def mem_used_kib(l1):
    rc, out = l1.run("awk '/^MemTotal/{t=$2} /^MemAvailable/{a=$2} END{print t-a}' /proc/meminfo")
    return int(out.split()[-1])


def clones(l1, d, mode, n=CLONES):
    """n clones of mv.snap restored side by side with mode, each guest then
    reading all its data once: L1 memory they take together (MemTotal less
    MemAvailable, before and after; the snapshot's own page cache counted
    before) and the sum of their RSS."""
    l1.run("sync; echo 3 > /proc/sys/vm/drop_caches")
    before = mem_used_kib(l1)
    vms = []
    try:
        for k in range(n):
            name = "mvc-%s-%d" % (mode, k)
            sock = "%s/%s/api.sock" % (l1.vm_dir, name)
            argv = ["memvisor", "--restore",
                    "source_url=file://%s/mv.snap,memory_restore_mode=%s,resume=on" % (d, mode),
                    "--serial", "tty", "--api-socket", sock]  # fmt: skip
            vm = rig.VM(l1, name, argv)
            vms.append(vm)
            first_answer(vm, time.time(), sock)
        for vm in vms:
            vm.run("cat /mnt/t/f > /dev/null", timeout=900, check=True)
        used = mem_used_kib(l1) - before
        rss = sum(vm.rss_kib() for vm in vms)
        log("%d %s clones: L1 memory +%d MiB, RSS %d MiB" % (n, mode, used // 1024, rss // 1024))
        return used, rss
    finally:
        for vm in vms:
            vm.kill()


def main():
    args = sys.argv[1:]
    budget = None
    if args[:1] == ["--budget"]:
        budget = float(args[1])
        args = args[2:]
    reps = int(args[0]) if args else 3
    start = time.time()
    nested, why = rig.use_nested()
    log("%s: %s" % (why, "VMs in the nested rig (L1 under TCG)" if nested else "VMs on this machine's /dev/kvm"))
    art = rig.build(with_qemu=True, l1=nested)
    l1 = rig.L1.boot(art, memory="5G") if nested else rig.Local(art)
    out, restores, skipped = {}, {}, 0
    failed, restarts, i, sources = False, [], 0, False
    longest = 0.0
    try:
        while True:
            mark = l1.console_offset()
            try:
                if not sources:
                    d = l1.vm_dir
                    # The snapshot and QEMU's migration file (1 GiB each) beside a 1.5G guest.
                    l1.run("mount -o remount,size=4G $(df %s | tail -1 | awk '{print $6}')" % d)
                    memvisor_source(l1, d, 1, out)
                    qemu_source(l1, d, out)
                    sources = True
                while i < reps:
                    if budget is not None and i and time.time() - start + 1.2 * longest > budget:
                        skipped += reps - i
                        break
                    t0 = time.time()
                    batch = ["mv-" + m for m in MODES] + ["qemu"]
                    for kind in batch if i % 2 == 0 else reversed(batch):
                        s = restore_qemu(l1, d, i) if kind == "qemu" else restore_memvisor(l1, d, kind[3:], i)
                        restores.setdefault(kind, []).append(s)
                        log("restore %s: %.2f s" % (kind, s))
                    longest = max(longest, time.time() - t0)
                    i += 1
                if "snap_clones_cow_kib" not in out and (budget is None or time.time() - start < budget):
                    # Room for the clones: QEMU's file is not needed any more.
                    l1.run("rm -f %s/q.mig" % d)
                    for mode in ("copy", "cow"):
                        used, rss = clones(l1, d, mode)
                        out["snap_clones_%s_kib" % mode] = used
                        out["snap_clones_%s_rss_kib" % mode] = rss
                break
            except rig.RigError as e:
                # An L1 the emulated SVM killed: a new one, the sources made
                # again (they lived in its memory), the rest carried on; at
                # most twice. Anything else fails the figure.
                why = l1.death(mark) if isinstance(l1, rig.L1) and len(restarts) < 2 else None
                if not why:
                    # What was measured is still printed; the report marks the figure failed.
                    log("failed: %s" % str(e).splitlines()[0])
                    failed = True
                    break
                restarts.append(why)
                log("rig: L1 died (%s); restarted, sources made again" % why)
                l1.kill(keep_console=os.path.join(l1.workdir, "l1-console.dead-snap-%d.log" % len(restarts)))
                l1 = rig.L1.boot(art, memory="5G")
                sources = False
    finally:
        l1.shutdown()
        report(out, restores, skipped, restarts)
    if failed:
        print("snap_failed 1")
        sys.exit(1)


def report(out, restores, skipped, restarts=()):
    print("snap_l1_restarts %d" % len(restarts))
    print("snap_restore_pairs %d" % len(restores.get("qemu", [])))
    print("snap_restore_skipped %d" % skipped)
    for k, v in out.items():
        if isinstance(v, list):
            print("%s %.3f" % (k, statistics.median(v)))
            print("%s_all %s" % (k, ",".join("%.3f" % x for x in v)))
        else:
            print("%s %.3f" % (k, v))
    # The ratios the figure states (bench/report.py derives the same from the lines above).
    if out.get("snap_disk_kib") and out.get("snap_nonzero_kib"):
        print("snap_disk_vs_nonzero %.3f" % (out["snap_disk_kib"] / out["snap_nonzero_kib"]))
    if out.get("snap_disk_kib"):
        print("snap_disk_vs_max %.3f" % (out["snap_disk_kib"] / out["snap_max_kib"]))
    for kind, v in restores.items():
        key = "snap_restore_%s_s" % kind.replace("-", "_")
        print("%s %.3f" % (key, statistics.median(v)))
        print("%s_all %s" % (key, ",".join("%.3f" % x for x in v)))
    for kind, v in restores.items():
        if kind != "qemu" and restores.get("qemu"):
            print("snap_restore_%s_vs_qemu %.3f" % (kind.replace("-", "_"),
                                                    statistics.median(v) / statistics.median(restores["qemu"])))
    sys.stdout.flush()

if __name__ == "__main__":
    main()
