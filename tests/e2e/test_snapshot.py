"""Pause and resume (QMP stop/cont), the first part of snapshot and restore.

One guest boots (~20 s in the nested rig). While it is paused its vCPUs do
not run: a command typed on its console is neither echoed nor run, and a
virtio-mem resize asked meanwhile is not served; after cont both happen.
"""
import json
import time

import pytest

import rig
from mvctl import ctl, devices, qmp, restore, wait_for

MiB = 1 << 20


@pytest.fixture(autouse=True)
def _no_snapshot_left(vms):
    """Snapshots live in L1's RAM (its rootfs): a test that fails midway
    must not leave them to fill it for every test after (seen in CI:
    "No space left on device" for the next three tests)."""
    yield
    try:
        vms.l1.run("find %s -maxdepth 1 \\( -name '*.snap*' -o -name '.*.snap*' -o -name '*.bad' "
                   "-o -name 'snap-zone.img' \\) -exec rm -f {} +" % vms.l1.vm_dir, timeout=30)
    except rig.RigError:
        pass  # a dead L1 is replaced, files and all

VMEM = "size=512M,hotplug_method=virtio-mem,hotplug_size=1G,hotplugged_size=128M"


def status(vm):
    return qmp(vm, "query-status")["return"]


def test_snapshot_stop_cont(vms):
    vm = vms.start_vm(memory=VMEM, api_socket=True)
    vm.wait_ready()
    wait_for("boot-time plug of 128M", lambda: devices(vm)["mem0"]["size"] == 128 * MiB)
    assert status(vm) == {"status": "running", "singlestep": False, "running": True}
    evfile = "%s/events.json" % vm.l1.vm_dir
    vm.l1.run("(memvisor-ctl --socket %s events --timeout 40 > %s 2>&1 &)" % (vm.api_socket, evfile))
    time.sleep(1)

    assert qmp(vm, "stop") == {"return": {}}
    assert status(vm) == {"status": "paused", "singlestep": False, "running": False}
    assert qmp(vm, "stop") == {"return": {}}  # already paused: no second STOP
    # The marker only appears once the guest's shell has run the command (the
    # typed line says PAU""SED).
    vm.send("echo PAU\"\"SED_RAN")
    r = qmp(vm, "qom-set", path="mem0", property="requested-size", value=256 * MiB)
    assert r == {"return": {}}, r
    time.sleep(5)
    assert "PAUSED_RAN" not in vm.log()
    assert devices(vm)["mem0"]["size"] == 128 * MiB
    assert status(vm)["status"] == "paused"

    rc, out = ctl(vm, "resume")  # memvisor-ctl resume is QMP cont
    assert rc == 0, out
    assert status(vm) == {"status": "running", "singlestep": False, "running": True}
    assert qmp(vm, "cont") == {"return": {}}  # already running: no second RESUME
    wait_for("the command typed while paused to run", lambda: "PAUSED_RAN" in vm.log())
    wait_for("the resize asked while paused", lambda: devices(vm)["mem0"]["size"] == 256 * MiB)
    rc, out = vm.run("echo alive")
    assert rc == 0 and "alive" in out, out

    rc, out = vm.l1.run("sleep 2; cat %s" % evfile)
    names = [json.loads(l)["event"] for l in out.splitlines() if l.startswith("{")]
    names = [n for n in names if n in ("STOP", "RESUME")]
    assert names == ["STOP", "RESUME"], out


def test_snapshot_to_file(vms):
    """x-snapshot / memvisor-ctl snapshot: one sparse file, the VM as it was
    (running stays running, paused stays paused), failures leave nothing."""
    vm = vms.start_vm(memory=VMEM, api_socket=True)
    vm.wait_ready()
    wait_for("boot-time plug of 128M", lambda: devices(vm)["mem0"]["size"] == 128 * MiB)
    # A known pattern in guest memory (tmpfs).
    rc, out = vm.run("mkdir -p /mnt/t && mount -t tmpfs t /mnt/t && "
                     "dd if=/dev/urandom of=/mnt/t/f bs=1M count=64 2>/dev/null && "
                     "md5sum /mnt/t/f", timeout=120)
    assert rc == 0, out
    d = vm.l1.vm_dir
    snap = "%s/vm.snap" % d
    rc, out = ctl(vm, "snapshot", "file://" + snap, timeout=300)
    assert rc == 0, out
    assert status(vm)["status"] == "running"
    rc, out = vm.l1.run("head -c 8 %s | od -c | head -1; du -k %s | cut -f1; stat -c %%s %s; "
                        "ls %s | grep -c tmp-" % (snap, snap, snap, d))
    lines = out.split("\n")
    assert "M   V   S   N   A   P  \\r  \\n" in lines[0], out
    du_kib, apparent = int(lines[1]), int(lines[2])
    # Apparent size: boot RAM + the whole hotplug region; on disk: what holds data.
    assert apparent >= (512 + 1024) * MiB, out
    assert 64 * 1024 <= du_kib <= 512 * 1024, out
    assert lines[3].strip() == "0", out
    rc, out = vm.run("echo alive")
    assert rc == 0 and "alive" in out

    # Paused stays paused.
    assert qmp(vm, "stop") == {"return": {}}
    r = qmp(vm, "x-snapshot", url="file://%s/paused.snap" % d)
    assert r["return"]["x-pause-ms"] == 0 and r["return"]["x-passes"] == 1, r
    assert r["return"]["x-memory-bytes"] >= 64 * MiB, r  # at least the pattern
    assert status(vm)["status"] == "paused"
    assert qmp(vm, "cont") == {"return": {}}

    # A missing directory, a full filesystem: refused, nothing left, VM running.
    rc, out = ctl(vm, "snapshot", "file://%s/nodir/s" % d)
    assert rc == 1 and "x-snapshot: %s/nodir/s: No such file or directory" % d in out, out
    vm.l1.run("mkdir -p %s/full && mount -t tmpfs -o size=1M full %s/full" % (d, d), check=True)
    try:
        rc, out = ctl(vm, "snapshot", "file://%s/full/s" % d, timeout=300)
        assert rc == 1 and "No space left on device" in out, out
        rc, out = vm.l1.run("ls -A %s/full | wc -l" % d)
        assert out.strip() == "0", out
        # Live: the disk fills during the first pass; the VM runs on, and its
        # virtio-mem device (held during the passes) serves a resize again.
        rc, out = ctl(vm, "snapshot", "--live", "file://%s/full/s" % d, timeout=300)
        assert rc == 1 and "x-snapshot: %s/full/s: " % d in out and "No space left on device" in out, out
        rc, out = vm.l1.run("ls -A %s/full | wc -l" % d)
        assert out.strip() == "0", out
    finally:
        vm.l1.run("umount %s/full" % d)
    assert status(vm)["status"] == "running"
    assert qmp(vm, "qom-set", path="mem0", property="requested-size", value=256 * MiB) == {"return": {}}
    wait_for("a resize after a failed live snapshot", lambda: devices(vm)["mem0"]["size"] == 256 * MiB)
    # A read-only filesystem (root in L1 passes every permission check: this is the refusal it meets).
    vm.l1.run("mkdir -p %s/ro && mount -t tmpfs -o ro ro %s/ro" % (d, d), check=True)
    try:
        for live in ((), ("--live",)):
            rc, out = ctl(vm, "snapshot", *live, "file://%s/ro/s" % d)
            assert rc == 1 and "x-snapshot: %s/ro/s: Read-only file system" % d in out, out
    finally:
        vm.l1.run("umount %s/ro" % d)
    assert status(vm)["status"] == "running"
    rc, out = vm.run("echo alive")
    assert rc == 0 and "alive" in out
    vm.l1.run("rm -f %s %s/paused.snap" % (snap, d))


def test_snapshot_shared_file_zone_not_copied(vms):
    """A shared=on file= zone is the user's: the snapshot records its identity, not its pages."""
    zfile = "%s/snap-zone.img" % vms.l1.vm_dir
    vm = vms.start_vm(memory="size=0", args=["--memory-zone", "id=z0,size=384M,file=%s,shared=on" % zfile],
                      api_socket=True)
    vm.wait_ready()
    rc, out = vm.run("mkdir -p /mnt/t && mount -t tmpfs t /mnt/t && "
                     "dd if=/dev/urandom of=/mnt/t/f bs=1M count=32 2>/dev/null && echo ok", timeout=120)
    assert rc == 0 and "ok" in out, out
    snap = "%s/file-zone.snap" % vms.l1.vm_dir
    rc, out = ctl(vm, "snapshot", "file://" + snap, timeout=300)
    assert rc == 0, out
    rc, out = vm.l1.run("du -k %s | cut -f1; du -k %s | cut -f1" % (snap, zfile))
    snap_kib, zone_kib = [int(x) for x in out.split()]
    assert zone_kib >= 32 * 1024, out  # the guest's data is in the zone file ...
    assert snap_kib <= 1024, out  # ... and not in the snapshot
    rc, out = vm.run("echo alive")
    assert rc == 0 and "alive" in out
    # The zone file changed since (here: its mtime, the content stamp): refused in one line.
    vm.kill()
    vm.l1.run("touch -d '2001-02-03 04:05:06' %s" % zfile, check=True)
    rc, out = vm.l1.run("memvisor --restore source_url=file://%s; echo rc=$?" % snap, timeout=60)
    want = "zone z0: %s is not the file the snapshot was taken with" % zfile
    assert want in out and "rc=0" not in out, out
    assert len([line for line in out.splitlines() if "memvisor" in line]) == 1, out
    vm.l1.run("rm -f %s" % snap)


def _counter(r):
    return int(r.run("cat /mnt/t/c")[1].strip().split()[-1])


def _md5(r):
    rc, out = r.run("md5sum /mnt/t/f | cut -d' ' -f1", timeout=120)
    assert rc == 0, out
    return out.strip().split()[-1]


def _resize(r, size):
    assert qmp(r, "qom-set", path="mem0", property="requested-size", value=size) == {"return": {}}
    wait_for("virtio-mem at %dM" % (size // MiB), lambda: devices(r)["mem0"]["size"] == size, timeout=180)


def _rollup(vm):
    """Pss and Rss of the VMM in KiB, from /proc/PID/smaps_rollup."""
    rc, out = vm.l1.run("cat /proc/%d/smaps_rollup" % vm.pid, timeout=30)
    assert rc == 0, out
    f = dict((l.split()[0].rstrip(":"), int(l.split()[1])) for l in out.splitlines() if l.endswith("kB"))
    return f["Pss"], f["Rss"]


def _crc32c(data):
    c = 0xFFFFFFFF
    for x in data:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    return c ^ 0xFFFFFFFF


def _other_version(l1, snap, bad):
    """snap's first page, its header saying format version 2 with the right
    checksum (the version is read before the table, so a page is enough)."""
    rc, out = l1.run("od -An -tx1 -N28 -v %s" % snap, check=True)
    hdr = bytearray(int(x, 16) for x in out.split())
    assert len(hdr) == 28, out
    hdr[8:12] = (2).to_bytes(4, "little")
    hdr += _crc32c(bytes(hdr)).to_bytes(4, "little")
    esc = "".join("\\%03o" % b for b in hdr)
    return "head -c 4096 %s > %s && printf '%s' | dd of=%s bs=1 conv=notrunc 2>/dev/null" % (snap, bad, esc, bad)


class Base:
    """A snapshot of one guest with virtio-mem grown to 384M, 48M of random
    data in a tmpfs (md5) and a counter that was at c1 or above."""


@pytest.fixture(scope="module")
def base(_l1_manager):
    """Made once for the restore tests below (each restores it afresh, so a
    rerun after a dead L1 repeats one short scenario, not the whole chain;
    a new L1 makes it again)."""
    l1 = _l1_manager.get()
    try:
        vm = l1.start_vm(memory=VMEM, api_socket=True)
    except rig.Unavailable as e:
        pytest.skip(str(e))
    try:
        vm.wait_ready()
        wait_for("boot-time plug of 128M", lambda: devices(vm)["mem0"]["size"] == 128 * MiB)
        _resize(vm, 384 * MiB)
        rc, out = vm.run("mkdir -p /mnt/t && mount -t tmpfs t /mnt/t && "
                         "dd if=/dev/urandom of=/mnt/t/f bs=1M count=48 2>/dev/null && "
                         "md5sum /mnt/t/f | cut -d' ' -f1", timeout=120)
        assert rc == 0, out
        b = Base()
        b.md5 = out.strip().split()[-1]
        vm.run("(n=0; while :; do n=$((n+1)); echo $n > /mnt/t/c; sleep 0.2; done) >/dev/null 2>&1 &")
        time.sleep(2)
        b.c1 = _counter(vm)
        b.path = "%s/restore-base.img" % l1.vm_dir
        rc, out = ctl(vm, "snapshot", "file://" + b.path, timeout=300)
        assert rc == 0, out
        b.vm = vm
    finally:
        vm.kill()
    yield b
    if l1.proc.poll() is None:
        try:
            l1.run("rm -f %s" % b.path, timeout=30)
        except rig.RigError:
            pass


def _restored(vms, base, src, name, opts, size, c1):
    """Restores src in a mode; checks it runs with the plugged size, the data
    and the counter going on; returns (the VM, its counter)."""
    r = restore(base.vm, src, name, opts)
    vms.started.append(r)
    if name == "copy":
        # resume=off (the default): paused until cont.
        assert status(r) == {"status": "paused", "singlestep": False, "running": False}
        assert devices(r)["mem0"]["requested-size"] == size * MiB
        assert qmp(r, "cont") == {"return": {}}
    assert status(r)["status"] == "running", name
    assert devices(r)["mem0"]["size"] == size * MiB, name
    assert _md5(r) == base.md5, name
    c2 = _counter(r)
    assert c2 >= c1, (name, c1, c2)
    time.sleep(1.5)
    c3 = _counter(r)
    assert c3 > c2, (name, c2, c3)  # the counter goes on
    return r, c3


def _resize_and_snapshot(r, base, name, grow, shrink, nxt):
    """A grow, a shrink (unplug in this restore mode: blocks become zeros,
    the data stays), then a snapshot of the restored VM to nxt."""
    if grow:
        _resize(r, grow * MiB)
    if shrink:
        _resize(r, shrink * MiB)
        assert _md5(r) == base.md5, name
    if nxt:
        rc, out = ctl(r, "snapshot", "file://" + nxt, timeout=300)
        assert rc == 0, (name, out)
    r.kill()


def test_restore_copy_then_cow(vms, base):
    """A copy restore (paused until cont), grown and snapshotted; that
    snapshot restored copy-on-write, grown, shrunk and snapshotted; that one
    restored once more (ondemand): a restored VM's snapshot is a snapshot."""
    d = vms.l1.vm_dir
    r, c = _restored(vms, base, base.path, "copy", "", 384, base.c1)
    _resize_and_snapshot(r, base, "copy", 448, None, "%s/r1.snap" % d)
    r, c = _restored(vms, base, "%s/r1.snap" % d, "cow", ",memory_restore_mode=cow,resume=on", 448, c)
    _resize_and_snapshot(r, base, "cow", 512, 320, "%s/r2.snap" % d)
    vms.l1.run("rm -f %s/r1.snap" % d)
    r, c = _restored(vms, base, "%s/r2.snap" % d, "again", ",memory_restore_mode=ondemand,resume=on", 320, c)
    r.kill()
    vms.l1.run("rm -f %s/r2.snap" % d)


def test_restore_ondemand_then_prefault(vms, base):
    """An ondemand restore: its background pass ends and the userfaultfd goes,
    a grow and a shrink work, its snapshot restores with prefault=on with
    every page populated before the guest runs."""
    d = vms.l1.vm_dir
    r, c = _restored(vms, base, base.path, "ondemand", ",memory_restore_mode=ondemand,resume=on", 384, base.c1)
    # The background pass ends, the server thread goes, the userfaultfd is closed.
    wait_for("the ondemand pass to end", lambda: "every page in place" in r.log(), timeout=120)
    rc, out = vms.l1.run("ls -l /proc/%d/fd | grep -c userfaultfd" % r.pid)
    assert out.strip() == "0", out
    _resize_and_snapshot(r, base, "ondemand", 448, 256, "%s/r3.snap" % d)
    r, c = _restored(vms, base, "%s/r3.snap" % d, "copy-prefault", ",prefault=on,resume=on", 256, c)
    # Every restored page populated: boot RAM and the plugged blocks (256M).
    _, rss = _rollup(r)
    assert rss >= (512 + 256) * 1024 * 0.97, rss
    r.kill()
    vms.l1.run("rm -f %s/r3.snap" % d)


def test_restore_two_clones_cow_shares(vms, base):
    """Two clones of one snapshot at once: cow shares the file's pages, copy does not."""
    used = {}
    for mode in ("cow", "copy"):
        clones = [restore(base.vm, base.path, "%s%d" % (mode, k), ",memory_restore_mode=%s,resume=on" % mode)
                  for k in (1, 2)]
        vms.started.extend(clones)
        for c in clones:
            assert _md5(c) == base.md5, mode
            assert c.run("echo alive")[1].strip().endswith("alive")
        used[mode] = [_rollup(c) for c in clones]
        for c in clones:
            c.kill()
    cow_pss = sum(p for p, _ in used["cow"])
    copy_pss = sum(p for p, _ in used["copy"])
    print("\ntwo clones, Pss/Rss KiB: cow %r, copy %r" % (used["cow"], used["copy"]))
    assert cow_pss < 0.7 * copy_pss, used


def test_restore_refusals(vms, base):
    """Damaged snapshots: one line, non-zero, nothing running, in every mode."""
    snap = "%s/refusals.snap" % vms.l1.vm_dir
    vms.l1.run("cp %s %s" % (base.path, snap), check=True, timeout=120)
    for prep, want in (("head -c 100000 %s > %s.bad" % (snap, snap), "truncated"),
                       ("echo hello > %s.bad" % snap, "truncated"),
                       ("head -c 4096 /bin/busybox > %s.bad" % snap, "not a memvisor snapshot"),
                       (_other_version(vms.l1, snap, snap + ".bad"),
                        "snapshot format version 2; this memvisor reads version 1"),
                       # last: a whole snapshot, one byte of its configuration changed
                       ("printf X | dd of=%s bs=1 seek=4100 conv=notrunc 2>/dev/null && ln -sf %s %s.bad"
                        % (snap, snap, snap), "corrupted: config entry checksum mismatch")):
        vms.l1.run("rm -f %s.bad" % snap)
        vms.l1.run(prep, check=True)
        for mode in ("copy", "cow", "ondemand"):
            rc, out = vms.l1.run("memvisor --restore source_url=file://%s.bad,memory_restore_mode=%s; echo rc=$?"
                                 % (snap, mode), timeout=60)
            lines = [l for l in out.splitlines() if l.strip()]
            assert want in out and lines[-1] != "rc=0" and len(lines) == 2, (prep, mode, out)
    rc, out = vms.l1.run("pidof memvisor; echo done")
    assert out.strip() == "done", out
    vms.l1.run("rm -f %s %s.bad" % (snap, snap))


def _hugetlb_maps(vm, kib):
    """The VMM's 2M-page mappings of at least kib KiB."""
    return [m for m in vm.smaps() if m.get("KernelPageSize") == 2048 and m.get("Size", 0) >= kib]


def test_snapshot_hugetlb_zone_restored_as_hugetlb(vms):
    """A hugepages=on zone comes back as hugetlb memory (copy; cow is
    refused in one line: hugetlb cannot map a file privately), its data
    intact, and the 2M pages go back to L1's pool when the VM ends."""
    l1 = vms.l1
    _, old = l1.run("cat /proc/sys/vm/nr_hugepages", timeout=10)
    l1.run("echo 200 > /proc/sys/vm/nr_hugepages", check=True, timeout=60)
    snap = "%s/huge.snap" % l1.vm_dir
    try:
        _, out = l1.run("grep HugePages_Free /proc/meminfo")
        if int(out.split()[-1]) < 192:
            pytest.skip("L1 could not reserve 192 2M pages")
        vm = vms.start_vm(memory="size=0", args=["--memory-zone", "id=h0,size=384M,hugepages=on"],
                          api_socket=True)
        vm.wait_ready()
        assert _hugetlb_maps(vm, 384 * 1024), vm.smaps()
        rc, out = vm.run("mkdir -p /mnt/t && mount -t tmpfs t /mnt/t && "
                         "dd if=/dev/urandom of=/mnt/t/f bs=1M count=64 2>/dev/null && "
                         "md5sum /mnt/t/f | cut -d' ' -f1", timeout=120)
        assert rc == 0, out
        md5 = out.strip().split()[-1]
        rc, out = ctl(vm, "snapshot", "file://" + snap, timeout=300)
        assert rc == 0, out
        vm.kill()
        rc, out = l1.run("memvisor --restore source_url=file://%s,memory_restore_mode=cow; echo rc=$?" % snap,
                         timeout=60)
        assert "has hugepages=on, and hugetlb memory cannot map a file privately" in out, out
        assert "rc=0" not in out, out
        r = restore(vm, snap, "huge", ",resume=on")
        vms.started.append(r)
        assert _hugetlb_maps(r, 384 * 1024), r.smaps()
        rc, out = r.run("md5sum /mnt/t/f | cut -d' ' -f1", timeout=120)
        assert rc == 0 and out.strip().split()[-1] == md5, out
        r.kill()
        wait_for("the 2M pages back in L1's pool",
                 lambda: int(l1.run("grep HugePages_Free /proc/meminfo")[1].split()[-1]) >= 200, timeout=30)
    finally:
        l1.run("rm -f %s; echo %s > /proc/sys/vm/nr_hugepages" % (snap, old.strip() or "0"), timeout=60)


def _pause_ms(out):
    """memvisor-ctl snapshot's line: 'snapshot URL: paused 12.345 ms, 3 passes over memory'."""
    line = [l for l in out.splitlines() if l.startswith("snapshot ") and " paused " in l]
    assert line, out
    words = line[-1].split()
    return float(words[words.index("paused") + 1]), int(words[words.index("ms,") + 1])


def test_snapshot_live_and_pending_resize(vms):
    """--live while the guest keeps writing memory: the VM pauses only for
    the last pass (shorter than a paused snapshot's pause), a virtio-mem
    resize asked just before is held and then served; both a paused snapshot
    taken with a resize pending and the live one restore with the requested
    size, converge to it, keep the data and go on counting."""
    vm = vms.start_vm(memory=VMEM, api_socket=True)
    vm.wait_ready()
    wait_for("boot-time plug of 128M", lambda: devices(vm)["mem0"]["size"] == 128 * MiB)
    assert qmp(vm, "qom-set", path="mem0", property="requested-size", value=384 * MiB) == {"return": {}}
    wait_for("the grow to 384M", lambda: devices(vm)["mem0"]["size"] == 384 * MiB)
    rc, out = vm.run("mkdir -p /mnt/t && mount -t tmpfs t /mnt/t && "
                     "dd if=/dev/urandom of=/mnt/t/f bs=1M count=64 2>/dev/null && "
                     "md5sum /mnt/t/f | cut -d' ' -f1", timeout=120)
    assert rc == 0, out
    md5 = out.strip().split()[-1]
    vm.run("(n=0; while :; do n=$((n+1)); echo $n > /mnt/t/c; sleep 0.2; done) >/dev/null 2>&1 &")
    # Keeps rewriting 2 MiB of page cache, so every pass finds pages dirty.
    vm.run("(while :; do dd if=/dev/urandom of=/mnt/t/busy bs=1M count=2 2>/dev/null; done) "
           ">/dev/null 2>&1 &")
    d = vm.l1.vm_dir

    # A resize pending while paused: the snapshot carries it unserved.
    assert qmp(vm, "stop") == {"return": {}}
    assert qmp(vm, "qom-set", path="mem0", property="requested-size", value=512 * MiB) == {"return": {}}
    pend = "%s/pending.snap" % d
    r = qmp(vm, "x-snapshot", url="file://" + pend)
    assert r["return"]["x-pause-ms"] == 0 and r["return"]["x-passes"] == 1, r
    assert devices(vm)["mem0"]["size"] == 384 * MiB
    assert qmp(vm, "cont") == {"return": {}}
    wait_for("the pending grow to 512M", lambda: devices(vm)["mem0"]["size"] == 512 * MiB)

    # Live, with a grow asked just before: held during the passes, served after.
    assert qmp(vm, "qom-set", path="mem0", property="requested-size", value=640 * MiB) == {"return": {}}
    live = "%s/live.snap" % d
    rc, out = ctl(vm, "snapshot", "--live", "file://" + live, timeout=300)
    assert rc == 0, out
    live_ms, passes = _pause_ms(out)
    assert passes >= 3, out  # the full pass, at least one over what was written, the last
    assert status(vm)["status"] == "running"
    wait_for("the grow to 640M after the live snapshot", lambda: devices(vm)["mem0"]["size"] == 640 * MiB)
    rc, out = ctl(vm, "snapshot", "file://%s/paused.snap" % d, timeout=300)
    assert rc == 0, out
    paused_ms, passes = _pause_ms(out)
    assert passes == 1, out
    print("pause: live %.1f ms, paused %.1f ms" % (live_ms, paused_ms))
    assert live_ms < paused_ms, (live_ms, paused_ms)
    vm.kill()
    vm.l1.run("rm -f %s/paused.snap" % d)

    # The pending one: paused at 384M with 512M asked; cont, and it converges.
    r = restore(vm, pend, "p1")
    vms.started.append(r)
    assert devices(r)["mem0"]["size"] == 384 * MiB
    assert devices(r)["mem0"]["requested-size"] == 512 * MiB
    assert qmp(r, "cont") == {"return": {}}
    wait_for("the restored VM's pending grow to 512M", lambda: devices(r)["mem0"]["size"] == 512 * MiB)
    rc, out = r.run("md5sum /mnt/t/f | cut -d' ' -f1", timeout=60)
    assert rc == 0 and out.strip().split()[-1] == md5, out
    r.kill()

    # The live one: the data, the counter going on, 640M asked and reached, a resize after.
    r = restore(vm, live, "l1", ",resume=on")
    vms.started.append(r)
    assert devices(r)["mem0"]["requested-size"] == 640 * MiB
    wait_for("the live-restored VM at 640M", lambda: devices(r)["mem0"]["size"] == 640 * MiB)
    rc, out = r.run("cat /mnt/t/c; md5sum /mnt/t/f | cut -d' ' -f1", timeout=60)
    assert rc == 0, out
    words = out.split()
    c2 = int(words[-2])
    assert words[-1] == md5, out
    time.sleep(2)
    c3 = int(r.run("cat /mnt/t/c")[1].strip().split()[-1])
    assert c3 > c2, (c2, c3)
    assert qmp(r, "qom-set", path="mem0", property="requested-size", value=768 * MiB) == {"return": {}}
    wait_for("a grow after the live restore", lambda: devices(r)["mem0"]["size"] == 768 * MiB)
    r.kill()
    vm.l1.run("rm -f %s %s" % (pend, live))
