"""ACPI memory hotplug (DIMMs) with Debian's stock kernel (acpi_memhotplug
built in, memhp_default_state=online_movable on the rig's command line).

One guest boot carries every scenario, in order: grow by device_add and by
memvisor-ctl resize (MemTotal rises, the memory takes data), shrink by
device_del and by resize (MemTotal falls, VMM RSS falls, DEVICE_DELETED
after the guest ejected), an eject the guest refuses (ACPI_DEVICE_OST with
the failure, the DIMM stays, the guest runs on), and a reboot that keeps
the DIMM.
"""
import json
import time

from mvctl import ctl, devices, qmp, restore, wait_for

MiB = 1 << 20
GiB = 1 << 30


def memtotal_kib(vm):
    return vm.meminfo()["MemTotal"]


def events(vm, path):
    rc, out = vm.l1.run("cat %s" % path)
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def dimms(vm):
    reply = qmp(vm, "query-memory-devices")
    return {d["data"]["id"]: d["data"] for d in reply["return"] if d["type"] == "dimm"}


def ok(reply):
    assert reply.get("return") == {}, reply


def test_dimm_grow_shrink_refuse_reboot(vms):
    vm = vms.start_vm(memory="size=512M,hotplug_size=4G", api_socket=True)
    vm.wait_ready()
    evfile = "%s/dimm-events.json" % vm.l1.vm_dir
    vm.l1.run("(memvisor-ctl --socket %s events --timeout 900 > %s 2>&1 &)" % (vm.api_socket, evfile))
    time.sleep(1)
    base = memtotal_kib(vm)
    rc, out = vm.run("ls /sys/bus/acpi/devices/ | grep -c PNP0C80")
    assert rc == 0 and int(out.strip()) == 64, out  # one slot per 128M of the area, at least 64

    # --- grow by device_add: 1G more, and usable ---
    ok(qmp(vm, "object-add", **{"qom-type": "memory-backend-ram", "id": "m1", "size": GiB}))
    ok(qmp(vm, "device_add", driver="pc-dimm", id="d1", memdev="m1"))
    d = dimms(vm)["d1"]
    assert d["size"] == GiB and d["addr"] >= 4 * GiB and d["slot"] == 0 and d["memdev"] == "/objects/m1", d
    grown = wait_for("MemTotal to grow by 1G",
                     lambda: memtotal_kib(vm) >= base + 1000 * 1024 and memtotal_kib(vm))
    assert grown - base <= 1024 * 1024 + 1024, (base, grown)
    assert qmp(vm, "query-memory-size-summary")["return"] == {"base-memory": 512 * MiB,
                                                             "plugged-memory": GiB}
    rc, out = vm.run("mkdir -p /mnt/t && mount -t tmpfs -o size=1200M t /mnt/t && "
                     "dd if=/dev/urandom of=/mnt/t/f bs=1M count=800 2>&1 | tail -n1", timeout=300)
    assert rc == 0, out
    rss_full = vm.rss_kib()

    # --- shrink by device_del: eject, RSS falls, DEVICE_DELETED after the eject ---
    rc, out = vm.run("rm /mnt/t/f && umount /mnt/t && echo 3 > /proc/sys/vm/drop_caches")
    assert rc == 0, out
    ok(qmp(vm, "device_del", id="d1"))
    wait_for("d1 to be deleted", lambda: "d1" not in dimms(vm), timeout=180)
    shrunk = wait_for("MemTotal to fall", lambda: memtotal_kib(vm) <= base + 1024 and memtotal_kib(vm))
    rss_after = vm.rss_kib()
    assert rss_full - rss_after >= 600 * 1024, (rss_full, rss_after)
    deleted = [e for e in events(vm, evfile) if e["event"] == "DEVICE_DELETED"]
    assert deleted and deleted[-1]["data"] == {"device": "d1", "path": "/machine/peripheral/d1"}, deleted
    ok(qmp(vm, "object-del", id="m1"))

    # --- grow and shrink by resize (total guest memory) ---
    rc, out = ctl(vm, "resize", "1536M", "--wait", "--timeout", "120")
    assert rc == 0, out
    wait_for("MemTotal after resize up", lambda: memtotal_kib(vm) >= base + 1000 * 1024)
    assert len(dimms(vm)) == 1
    rc, out = ctl(vm, "resize", "512M", "--wait", "--timeout", "180")
    assert rc == 0, out
    wait_for("MemTotal after resize down", lambda: memtotal_kib(vm) <= base + 1024)
    assert dimms(vm) == {}

    # --- eject refused by the guest: the DIMM stays, the guest runs on ---
    ok(qmp(vm, "object-add", **{"qom-type": "memory-backend-ram", "id": "m3", "size": 512 * MiB}))
    ok(qmp(vm, "device_add", driver="pc-dimm", id="d3", memdev="m3"))
    wait_for("MemTotal with d3", lambda: memtotal_kib(vm) >= base + 500 * 1024)
    rc, out = vm.run("echo 0 > /sys/firmware/acpi/hotplug/memory/enabled")
    assert rc == 0, out
    ok(qmp(vm, "device_del", id="d3"))
    ost = wait_for("ACPI_DEVICE_OST refusing d3's eject",
                   lambda: [e for e in events(vm, evfile) if e["event"] == "ACPI_DEVICE_OST"
                            and e["data"]["info"].get("device") == "d3"
                            and e["data"]["info"]["status"] not in (0, 0x84)], timeout=60)
    info = ost[-1]["data"]["info"]
    assert info["device"] == "d3" and info["slot-type"] == "DIMM" and info["source"] == 3, info
    assert info["status"] != 0, info
    time.sleep(2)
    assert "d3" in dimms(vm)
    assert memtotal_kib(vm) >= base + 500 * 1024
    rc, out = vm.run("echo alive")
    assert rc == 0 and "alive" in out
    status = qmp(vm, "query-acpi-ospm-status")["return"]
    assert any(s.get("device") == "d3" and s["status"] == info["status"] for s in status), status

    # --- reboot keeps the DIMM; the fresh guest can eject it ---
    vm.reboot()
    vm.wait_ready(count=2)
    assert "d3" in dimms(vm)
    wait_for("MemTotal with d3 after reboot", lambda: memtotal_kib(vm) >= base + 500 * 1024)
    ok(qmp(vm, "device_del", id="d3"))
    wait_for("d3 to be deleted after reboot", lambda: "d3" not in dimms(vm), timeout=180)
    wait_for("MemTotal back to boot RAM", lambda: memtotal_kib(vm) <= base + 1024)


def node_memtotal_kib(vm, node):
    rc, out = vm.run("cat /sys/devices/system/node/node%d/meminfo 2>/dev/null | grep MemTotal" % node)
    return int(out.split()[3]) if rc == 0 and out.strip() else 0


def test_dimm_on_guest_numa_node_1(vms):
    """A DIMM with node=1 lands on the guest's node 1 (a CPU-only node at boot)."""
    vm = vms.start_vm(memory="size=512M,hotplug_size=2G", cpus=2, api_socket=True,
                      args=["--numa", "guest_numa_id=0,cpus=0,memory_zones=mem0",
                            "--numa", "guest_numa_id=1,cpus=1"])
    vm.wait_ready()
    before = node_memtotal_kib(vm, 1)
    ok(qmp(vm, "object-add", **{"qom-type": "memory-backend-memfd", "id": "m1", "size": 512 * MiB}))
    ok(qmp(vm, "device_add", driver="pc-dimm", id="d1", memdev="m1", node=1))
    assert dimms(vm)["d1"]["node"] == 1
    wait_for("node 1 to gain 512M", lambda: node_memtotal_kib(vm, 1) >= before + 500 * 1024)
    # A node the guest lacks is refused and changes nothing.
    ok(qmp(vm, "object-add", **{"qom-type": "memory-backend-ram", "id": "m2", "size": 128 * MiB}))
    r = qmp(vm, "device_add", driver="pc-dimm", id="d2", memdev="m2", node=2)
    assert r["error"]["class"] == "GenericError" and "numa nodes" in r["error"]["desc"], r
    assert set(dimms(vm)) == {"d1"}
    ok(qmp(vm, "device_del", id="d1"))
    wait_for("d1 to be deleted", lambda: "d1" not in dimms(vm), timeout=180)
    wait_for("node 1 to give it back", lambda: node_memtotal_kib(vm, 1) <= before + 1024)


def test_dimm_snapshot_restore(vms):
    """Two DIMMs (one from resize, one by device_add) holding guest data,
    snapshotted and restored (copy, then cow): the same DIMMs at the same
    slots and addresses, the same MemTotal, the data intact; the restored
    guest ejects a DIMM (DEVICE_DELETED, MemTotal falls); a share=on
    memory-backend-file DIMM is refused in one line, the VM running on."""
    vm = vms.start_vm(memory="size=512M,hotplug_size=4G", api_socket=True)
    vm.wait_ready()
    base = memtotal_kib(vm)
    rc, out = ctl(vm, "resize", "1024M", "--wait", "--timeout", "120")
    assert rc == 0, out
    ok(qmp(vm, "object-add", **{"qom-type": "memory-backend-ram", "id": "m2", "size": 512 * MiB}))
    ok(qmp(vm, "device_add", driver="pc-dimm", id="d2", memdev="m2"))
    wait_for("MemTotal to grow by 1G", lambda: memtotal_kib(vm) >= base + 1000 * 1024)
    # More data than boot RAM holds: some of it is on the DIMMs.
    rc, out = vm.run("mkdir -p /mnt/t && mount -t tmpfs -o size=1200M t /mnt/t && "
                     "dd if=/dev/urandom of=/mnt/t/f bs=1M count=600 2>/dev/null && "
                     "md5sum /mnt/t/f | cut -d' ' -f1", timeout=300)
    assert rc == 0, out
    md5 = out.strip().split()[-1]
    before = dimms(vm)
    assert set(before) == {"dimm1", "d2"}, before
    total = memtotal_kib(vm)
    snap = "%s/dimm.snap" % vm.l1.vm_dir
    rc, out = ctl(vm, "snapshot", "file://" + snap, timeout=300)
    assert rc == 0, out
    rc, out = vm.l1.run("du -k %s | cut -f1" % snap)
    assert int(out.strip()) >= 600 * 1024, out
    vm.kill()
    try:
        for name, opts in (("copy", ",resume=on"), ("cow", ",memory_restore_mode=cow,resume=on")):
            r = restore(vm, snap, name, opts)
            vms.started.append(r)
            assert qmp(r, "query-status")["return"]["status"] == "running", name
            assert dimms(r) == before, name
            assert qmp(r, "query-memory-size-summary")["return"] == {"base-memory": 512 * MiB,
                                                                    "plugged-memory": GiB}, name
            assert memtotal_kib(r) == total, name
            rc, out = r.run("md5sum /mnt/t/f | cut -d' ' -f1", timeout=120)
            assert rc == 0 and out.strip().split()[-1] == md5, (name, out)
            if name == "copy":
                # The restored guest gives a DIMM back: its data moves to the rest.
                ok(qmp(r, "device_del", id="d2"))
                wait_for("d2 to be deleted", lambda: "d2" not in dimms(r), timeout=180)
                wait_for("MemTotal to fall", lambda: memtotal_kib(r) <= total - 500 * 1024)
                rc, out = r.run("md5sum /mnt/t/f | cut -d' ' -f1", timeout=120)
                assert rc == 0 and out.strip().split()[-1] == md5, out
            r.kill()
    finally:
        vm.l1.run("rm -f %s" % snap)

    # A DIMM on the user's shared file is not carried: refused, nothing written, VM running.
    vm2 = vms.start_vm(memory="size=512M,hotplug_size=1G", api_socket=True)
    vm2.wait_ready()
    zf = "%s/dimm-file.img" % vm2.l1.vm_dir
    ok(qmp(vm2, "object-add", **{"qom-type": "memory-backend-file", "id": "mf", "size": 128 * MiB,
                                 "mem-path": zf, "share": True}))
    ok(qmp(vm2, "device_add", driver="pc-dimm", id="df", memdev="mf"))
    rc, out = ctl(vm2, "snapshot", "file://%s/df.snap" % vm2.l1.vm_dir)
    assert rc == 1 and "DIMM df: its memory-backend-file mf is share=on" in out, out
    rc, out = vm2.l1.run("ls %s/df.snap* 2>/dev/null | wc -l" % vm2.l1.vm_dir)
    assert out.strip() == "0", out
    assert qmp(vm2, "query-status")["return"]["status"] == "running"
    vm2.l1.run("rm -f %s" % zf)
