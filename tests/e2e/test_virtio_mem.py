"""virtio-mem with Debian's stock driver: resize a running guest through QMP.

Each scenario boots one guest (~20 s in the nested rig) and checks real
outcomes: the guest's MemTotal, the device's plugged size as QMP reports it,
and the VMM's RSS in L1.
"""
import json
import time


from mvctl import ctl, devices, qmp, wait_for

MiB = 1 << 20
GiB = 1 << 30


def memtotal_kib(vm):
    return vm.meminfo()["MemTotal"]


def plugged(vm, dev):
    return devices(vm)[dev]["size"]


VMEM = "size=512M,hotplug_method=virtio-mem,hotplug_size=2G,hotplugged_size=256M"


def test_grow_and_shrink_with_rss(vms):
    vm = vms.start_vm(memory=VMEM, api_socket=True)
    vm.wait_ready()
    wait_for("boot-time plug of 256M", lambda: plugged(vm, "mem0") == 256 * MiB)
    d = devices(vm)["mem0"]
    assert d["requested-size"] == 256 * MiB and d["max-size"] == 2 * GiB
    assert d["block-size"] == 2 * MiB and d["memaddr"] >= 4 * GiB
    assert d["x-driver-ready"] is True
    base = memtotal_kib(vm)

    # Grow to 1.25G plugged: synchronous resize, the guest sees it. A second
    # client listens for events meanwhile.
    evfile = "%s/events.json" % vm.l1.vm_dir
    vm.l1.run("(memvisor-ctl --socket %s events --timeout 25 > %s 2>&1 &)" % (vm.api_socket, evfile))
    rc, out = ctl(vm, "resize", "--id", "mem0", "1280M", "--wait", "--timeout", "120")
    assert rc == 0, out
    assert plugged(vm, "mem0") == 1280 * MiB
    time.sleep(2.5)  # the rate limiter delivers the latest size within a second
    rc, out = vm.l1.run("cat %s" % evfile)
    events = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    sizes = [e["data"]["size"] for e in events if e["event"] == "MEMORY_DEVICE_SIZE_CHANGE"]
    assert sizes and sizes[-1] == 1280 * MiB, out
    e = events[-1]
    assert set(e["data"]) == {"id", "size", "qom-path"} and e["data"]["id"] == "mem0", e
    assert e["data"]["qom-path"] == "/machine/peripheral/mem0" and set(e["timestamp"]) == {
        "seconds", "microseconds"}, e
    # (The one-per-second limit is unit-tested: timestamps say when a change
    # happened, as QEMU's do, not when the coalesced event was sent.)
    grown = wait_for("MemTotal to grow", lambda: memtotal_kib(vm) >= base + 1000 * 1024 and memtotal_kib(vm))
    assert grown - base <= 1024 * 1024 + 1024, (base, grown)
    summary = qmp(vm, "query-memory-size-summary")["return"]
    assert summary == {"base-memory": 512 * MiB, "plugged-memory": 1280 * MiB}

    # The guest uses the new memory, so the host backs it ...
    rc, out = vm.run("mkdir -p /mnt/t && mount -t tmpfs -o size=1400M t /mnt/t && "
                     "dd if=/dev/urandom of=/mnt/t/f bs=1M count=900 2>&1 | tail -n1", timeout=300)
    assert rc == 0, out
    rss_full = vm.rss_kib()
    # ... then frees it and gives it back.
    rc, out = vm.run("rm /mnt/t/f && umount /mnt/t && echo 3 > /proc/sys/vm/drop_caches")
    assert rc == 0, out
    rc, out = ctl(vm, "resize", "--id", "mem0", "128M", "--wait", "--timeout", "180")
    assert rc == 0, out
    assert plugged(vm, "mem0") == 128 * MiB
    shrunk = wait_for("MemTotal to fall", lambda: memtotal_kib(vm) <= base - 100 * 1024 and memtotal_kib(vm))
    assert base - shrunk >= 120 * 1024, (base, shrunk)
    rss_after = vm.rss_kib()
    # 1152M were unplugged; most of the 900M the guest had written must be gone.
    assert rss_full - rss_after >= 600 * 1024, (rss_full, rss_after)
    d = devices(vm)["mem0"]
    assert d["x-discarded-bytes"] >= 1152 * MiB and d["x-discard-failures"] == 0

    # QEMU 7.2's validation texts, word for word.
    err = qmp(vm, "qom-set", path="mem0", property="requested-size", value=3 * MiB)["error"]
    assert err == {"class": "GenericError",
                   "desc": "'requested-size' has to be multiples of 'block-size' (0x200000)"}
    err = qmp(vm, "qom-set", path="mem0", property="requested-size", value=64 * GiB)["error"]
    assert err == {"class": "GenericError",
                   "desc": "'requested-size' cannot exceed the memory backend size(0x80000000)"}
    assert qmp(vm, "qom-get", path="mem0", property="size")["return"] == 128 * MiB

    vm.poweroff()
    assert vm.wait_exit() == 0


def test_reboot_unplugs_and_guest_replugs(vms):
    vm = vms.start_vm(memory=VMEM, api_socket=True)
    first = vm.wait_ready()
    wait_for("boot-time plug", lambda: plugged(vm, "mem0") == 256 * MiB)
    rc, out = ctl(vm, "resize", "--id", "mem0", "768M", "--wait", "--timeout", "120")
    assert rc == 0, out
    discarded = devices(vm)["mem0"]["x-discarded-bytes"]
    vm.reboot()
    ids = vm.wait_ready(count=2)
    assert ids[1] != first[0]
    # System reset unplugged everything on the host; the new driver plugs the
    # requested size again.
    d = devices(vm)["mem0"]
    assert d["x-discarded-bytes"] >= discarded + 768 * MiB, d
    wait_for("re-plug after reboot", lambda: plugged(vm, "mem0") == 768 * MiB)
    vm.poweroff()
    assert vm.wait_exit() == 0


def test_two_zones_resized_independently(vms):
    vm = vms.start_vm(
        memory="size=0,hotplug_method=virtio-mem", api_socket=True,
        args=["--memory-zone", "id=mem0,size=512M,hotplug_size=1G",
              "id=mem1,size=256M,hotplug_size=1G,shared=on"])
    vm.wait_ready()
    wait_for("both drivers bound", lambda: all(d["x-driver-ready"] for d in devices(vm).values()))
    rc, out = ctl(vm, "resize", "--id", "mem1", "384M", "--wait")
    assert rc == 0, out
    d = devices(vm)
    assert d["mem1"]["size"] == 384 * MiB and d["mem0"]["size"] == 0
    rc, out = ctl(vm, "resize", "--id", "mem0", "128M", "--wait")
    assert rc == 0, out
    rc, out = ctl(vm, "resize", "--id", "mem1", "0", "--wait", "--timeout", "120")
    assert rc == 0, out
    d = devices(vm)
    assert d["mem0"]["size"] == 128 * MiB and d["mem1"]["size"] == 0
    rc, out = ctl(vm, "info", "memory-devices")
    assert rc == 0 and 'Memory device [virtio-mem]: "mem1"' in out, out
    vm.poweroff()
    assert vm.wait_exit() == 0


def test_prealloc_refuses_plug_when_hugetlb_pool_runs_dry(vms, l1):
    # 96 hugepages of 2M (192M) for a device asked to plug 512M with prealloc.
    rc, out = l1.run("echo 96 > /proc/sys/vm/nr_hugepages && cat /proc/sys/vm/nr_hugepages")
    assert rc == 0 and int(out.strip()) == 96, out
    try:
        vm = vms.start_vm(
            memory="size=0,hotplug_method=virtio-mem", api_socket=True,
            args=["--memory-zone", "id=mem0,size=512M",
                  "id=hp,size=0,hotplug_size=1G,hugepages=on,hugepage_size=2M,prealloc=on"])
        vm.wait_ready()
        wait_for("driver bound", lambda: devices(vm)["hp"]["x-driver-ready"])
        rc, out = ctl(vm, "resize", "--id", "hp", "512M", "--wait", "--timeout", "20")
        assert rc == 4, out  # not reached ...
        assert "refused" in out or "prealloc" in out, out  # ... and memvisor-ctl says why
        d = devices(vm)["hp"]
        assert d["x-plugs-refused"] > 0, d
        assert 0 < d["size"] <= 192 * MiB, d
        # The VM keeps running and answers.
        rc, out = vm.run("echo alive")
        assert rc == 0 and "alive" in out
        vm.poweroff()
        assert vm.wait_exit() == 0
    finally:
        l1.run("echo 0 > /proc/sys/vm/nr_hugepages")


# Per vCPU, until /tmp/stop: write a file, copy it, compare both checksums
# with the first one taken; a mismatch is lost or stale data. The files live
# in tmpfs, so in whatever memory the guest's allocator hands out, plugged
# virtio-mem memory included, and the kernel migrates them out of blocks it
# unplugs.
WORKER = r"""
c=%d; i=0; f=/mnt/t/w$c; g=/mnt/t/c$c
while [ ! -e /tmp/stop ]; do
  dd if=/dev/urandom of=$f bs=1M count=24 2>/dev/null
  a=$(md5sum < $f); cp $f $g; b=$(md5sum < $g); a2=$(md5sum < $f)
  [ "$a" = "$b" ] && [ "$a" = "$a2" ] || echo "cpu $c round $i: $a $b $a2" >> /tmp/bad
  i=$((i + 1)); echo $i > /tmp/rounds$c
done
echo done > /tmp/done$c
"""


def test_resize_under_load_keeps_data(vms):
    """Plug and unplug over and over, to sizes that cut 128M memory blocks
    (so an unplug takes part of a plugged run and its memory slot is
    replaced under a hold of the vCPUs), while the guest writes and checks
    data on both vCPUs: no data is lost or stale, the guest never touches
    unplugged memory, and no request is refused for want of slots."""
    vm = vms.start_vm(memory="size=256M,hotplug_method=virtio-mem,hotplug_size=2G,"
                      "hotplugged_size=1G", cpus=2, api_socket=True)  # fmt: skip
    vm.wait_ready()
    wait_for("boot-time plug of 1G", lambda: plugged(vm, "mem0") == GiB)
    rc, out = vm.run("mkdir -p /mnt/t && mount -t tmpfs -o size=1500M t /mnt/t && "
                     "for i in 1 2 3 4 5 6; do dd if=/dev/urandom of=/mnt/t/s$i bs=1M count=32 "
                     "2>/dev/null || exit 1; done && md5sum /mnt/t/s* > /tmp/static.md5 && "
                     "echo ok", timeout=240)  # fmt: skip
    assert rc == 0 and "ok" in out, out
    for c in (0, 1):
        pin = "taskset -c %d " % c if vm.run("command -v taskset")[0] == 0 else ""
        rc, out = vm.run("(%ssh -c '%s') >/dev/null 2>&1 &" % (pin, WORKER.strip() % c))
        assert rc == 0, out
    wait_for("both workers running", lambda: vm.run("cat /tmp/rounds0 /tmp/rounds1")[0] == 0,
             timeout=120)
    d0 = devices(vm)["mem0"]
    done = []
    for size in ("704M", "1088M", "576M", "960M", "642M", "1G"):
        rc, out = ctl(vm, "resize", "--id", "mem0", size, "--wait", "--timeout", "150")
        assert rc == 0, (size, out)
        done.append(size)
    rc, out = vm.run("touch /tmp/stop; n=0; while [ ! -e /tmp/done0 ] || [ ! -e /tmp/done1 ]; do "
                     "sleep 1; n=$((n + 1)); [ $n -lt 120 ] || exit 1; done; "
                     "cat /tmp/rounds0 /tmp/rounds1; cat /tmp/bad 2>/dev/null; "
                     "md5sum -c /tmp/static.md5 >/dev/null && echo static-ok", timeout=180)  # fmt: skip
    assert rc == 0, out
    assert "static-ok" in out and "round" not in out, out
    rounds = [int(x) for x in out.split()[:2]]
    assert min(rounds) >= 2, out
    d = devices(vm)["mem0"]
    assert d["size"] == GiB, d
    # Parts of runs were unplugged: slots replaced under holds, none refused.
    assert d["x-slot-holds"] > d0["x-slot-holds"], (d0, d)
    assert d["x-slots-refused"] == 0 and d["x-unmap-failures"] == 0, d
    assert d["x-unplugged-reads"] == 0 and d["x-unplugged-writes"] == 0, d
    assert 1 <= d["x-slots"] <= GiB // (128 * MiB) + 2, d
    print("\n[resize-under-load] %s; worker rounds %s; slots %d, slot changes %d, holds %d"
          % (" -> ".join(done), rounds, d["x-slots"], d["x-slot-changes"], d["x-slot-holds"]))
    rc, out = vm.run("echo alive")
    assert rc == 0 and out.strip() == "alive", out
    vm.poweroff()
    assert vm.wait_exit() == 0
