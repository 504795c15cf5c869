"""virtio-pmem and NVDIMM with Debian's stock drivers (virtio_pmem or nfit,
nd_pmem, ext4 with DAX): a root file system on persistent memory, and what
reaches the file.

The image is tests/e2e/mkpmemroot.sh's ext4 (built on the host, cached, in
L1 at /l2/pmem-root.img). Two guests in one L1:

- discard_writes=off on a copy: the guest mounts /dev/pmem0 with -o dax,
  runs a program from it (chroot), writes a file and syncs (FLUSH reaches
  the host: x-flushes grows, no x-flush-errors), reboots and finds the file
  again, powers off; the file is then in the image (debugfs in L1).
- discard_writes=on on the original: the guest sees its own writes, and the
  image is byte-for-byte unchanged after (sha256).

- model=nvdimm, one guest with two NVDIMMs (a copy, and the original with
  discard_writes=on): the nfit driver binds the ACPI0012 root and makes a
  raw namespace of each (no label area), no virtio-pmem device appears;
  both mount (without DAX: Linux gives a raw NFIT namespace no struct
  pages, and ext4 refuses -o dax on it with EINVAL) and run a program; the
  copy's file survives a reboot and reaches the image, the original stays
  byte-for-byte unchanged.

A FLUSH that fails on the host is a unit test (tests/unit/test_virtio_pmem.c,
an injected fsync error answered EIO with the device running on): L1 keeps
every file in RAM, with no block device to fail.
"""
import pytest

from mvctl import qmp

IMG = "/l2/pmem-root.img"
MARK = "durable-0123456789"


def l1_run(vm, cmd, timeout=60):
    rc, out = vm.l1.run(cmd, timeout=timeout)
    assert rc == 0, "%s: %s" % (cmd, out)
    return out


def pmem_devices(vm):
    devs = qmp(vm, "query-memory-devices")["return"]
    return [d for d in devs if d["type"] == "virtio-pmem"]


def mount_dax(vm, dev="/dev/pmem0", mnt="/mnt", dax=True):
    opt = "-o dax " if dax else ""
    vm.run("mkdir -p %s && mount -t ext4 %s%s %s" % (mnt, opt, dev, mnt), check=True, timeout=120)
    _, out = vm.run("grep ' %s ' /proc/mounts" % mnt, check=True)
    assert dev in out and (not dax or "dax" in out), out
    _, out = vm.run("chroot %s /bin/hello" % mnt, check=True)
    assert "hello from the pmem root: pmem-root-v1" in out, out


def need_image(vms):
    rc, _ = vms.l1.run("test -f %s" % IMG)
    if rc != 0:
        pytest.skip("no %s in L1 (mkfs.ext4 missing on the host?)" % IMG)


def test_root_on_pmem_durable_and_survives_reboot(vms):
    need_image(vms)
    img = "/tmp/pmem-rw.img"
    l1_run(vms, "cp %s %s" % (IMG, img))
    vm = vms.start_vm(memory="size=512M", api_socket=True, args=["--pmem", "file=%s,id=root" % img])
    vm.wait_ready()
    devs = pmem_devices(vm)
    assert len(devs) == 1, devs
    d = devs[0]["data"]
    assert {"id", "memaddr", "size", "memdev"} <= set(d), d
    assert d["id"] == "root" and d["size"] == 32 << 20 and d["memdev"] == "/objects/root", d
    assert d["memaddr"] >= 4 << 30 and d["memaddr"] % (128 << 20) == 0, d
    _, out = vm.run("cat /sys/block/pmem0/size", check=True)
    assert int(out.split()[-1]) * 512 == 32 << 20, out
    mount_dax(vm)
    before = pmem_devices(vm)[0]["data"]["x-flushes"]
    vm.run("echo %s > /mnt/data/file && sync" % MARK, check=True, timeout=120)
    after = pmem_devices(vm)[0]["data"]
    assert after["x-flushes"] > before and after["x-flush-errors"] == 0, (before, after)
    vm.run("umount /mnt", check=True, timeout=120)

    # A guest reboot keeps the memory and the device: the file is there again.
    vm.reboot()
    vm.wait_ready(count=2)
    mount_dax(vm)
    _, out = vm.run("cat /mnt/data/file", check=True)
    assert MARK in out, out
    vm.run("umount /mnt", check=True, timeout=120)
    vm.poweroff()
    assert vm.wait_exit() == 0
    rc, out = vms.l1.run("debugfs -R 'cat /data/file' %s 2>/dev/null" % img)
    if rc == 127 or "not found" in out:
        rc, out = vms.l1.run("grep -c %s %s" % (MARK, img))
    assert MARK in out or out.strip() == "1", out
    vms.l1.run("rm -f %s" % img)


def test_discard_writes_leaves_the_image_unchanged(vms):
    need_image(vms)
    h0 = l1_run(vms, "sha256sum %s" % IMG).split()[0]
    vm = vms.start_vm(memory="size=512M", api_socket=True,
                      args=["--pmem", "file=%s,discard_writes=on" % IMG])
    vm.wait_ready()
    mount_dax(vm)
    vm.run("echo %s > /mnt/data/private && sync" % MARK, check=True, timeout=120)
    vm.run("umount /mnt", check=True, timeout=120)
    vm.run("mount -t ext4 -o dax /dev/pmem0 /mnt", check=True, timeout=120)
    _, out = vm.run("cat /mnt/data/private", check=True)
    assert MARK in out, out
    assert pmem_devices(vm)[0]["data"]["x-flush-errors"] == 0
    vm.run("umount /mnt", check=True, timeout=120)
    vm.poweroff()
    assert vm.wait_exit() == 0
    assert l1_run(vms, "sha256sum %s" % IMG).split()[0] == h0


def nvdimm_devices(vm):
    devs = qmp(vm, "query-memory-devices")["return"]
    return [d["data"] for d in devs if d["type"] == "nvdimm"]


def pmem_by_addr(vm):
    """{start address: /dev/pmemN} of the guest's raw namespaces."""
    _, out = vm.run("for b in /sys/block/pmem*; do echo ${b##*/} $(cat $b/device/resource); done",
                    check=True)
    found = {}
    for line in out.splitlines():
        w = line.split()
        if len(w) == 2 and w[0].startswith("pmem") and w[1].startswith("0x"):
            found[int(w[1], 16)] = "/dev/" + w[0]
    return found


def test_nvdimm_root_durable_discard_and_reboot(vms):
    need_image(vms)
    img = "/tmp/nvdimm-rw.img"
    l1_run(vms, "cp %s %s" % (IMG, img))
    h0 = l1_run(vms, "sha256sum %s" % IMG).split()[0]
    vm = vms.start_vm(memory="size=512M", api_socket=True,
                      args=["--pmem", "file=%s,id=nv-rw,model=nvdimm" % img,
                            "file=%s,id=nv-ro,model=nvdimm,discard_writes=on" % IMG])
    vm.wait_ready()
    devs = nvdimm_devices(vm)
    assert [d["id"] for d in devs] == ["nv-rw", "nv-ro"], devs
    for slot, d in enumerate(devs):
        assert set(d) == {"id", "addr", "size", "slot", "node", "memdev", "hotplugged",
                          "hotpluggable"}, d
        assert d["slot"] == slot and d["node"] == 0 and d["size"] == 32 << 20, d
        assert d["memdev"] == "/objects/" + d["id"], d
        assert d["hotplugged"] is False and d["hotpluggable"] is False, d
        assert d["addr"] >= 4 << 30 and d["addr"] % (128 << 20) == 0, d
    assert pmem_devices(vm) == []
    # The stock nfit driver bound the root device; no virtio-pmem (device 27) exists.
    _, out = vm.run("ls /sys/bus/acpi/drivers/nfit/; ls /sys/bus/nd/devices/", check=True)
    assert "ACPI0012:00" in out and "nmem0" in out and "nmem1" in out, out
    _, out = vm.run("cat /sys/bus/virtio/devices/*/device 2>/dev/null; true")
    assert "0x001b" not in out, out
    dev = pmem_by_addr(vm)
    assert set(dev) == {d["addr"] for d in devs}, (dev, devs)
    rw, ro = dev[devs[0]["addr"]], dev[devs[1]["addr"]]
    _, out = vm.run("cat /sys/block/%s/size" % rw[5:], check=True)
    assert int(out.split()[-1]) * 512 == 32 << 20, out

    # A raw namespace has no struct pages, so no DAX (the documented limit).
    rc, out = vm.run("mkdir -p /mnt && mount -t ext4 -o dax %s /mnt" % rw, timeout=120)
    assert rc != 0 and "Invalid argument" in out, out
    mount_dax(vm, rw, "/mnt", dax=False)
    vm.run("echo %s > /mnt/data/file && sync" % MARK, check=True, timeout=120)
    vm.run("umount /mnt", check=True, timeout=120)
    mount_dax(vm, ro, "/ro", dax=False)
    vm.run("echo %s > /ro/data/private && sync" % MARK, check=True, timeout=120)
    vm.run("umount /ro && mount -t ext4 %s /ro" % ro, check=True, timeout=120)
    _, out = vm.run("cat /ro/data/private", check=True)
    assert MARK in out, out
    vm.run("umount /ro", check=True, timeout=120)

    # A guest reboot rebuilds the same tables over the same memory: the file is there.
    vm.reboot()
    vm.wait_ready(count=2)
    dev = pmem_by_addr(vm)
    rw = dev[devs[0]["addr"]]
    mount_dax(vm, rw, "/mnt", dax=False)
    _, out = vm.run("cat /mnt/data/file", check=True)
    assert MARK in out, out
    vm.run("umount /mnt", check=True, timeout=120)
    vm.poweroff()
    assert vm.wait_exit() == 0
    rc, out = vms.l1.run("debugfs -R 'cat /data/file' %s 2>/dev/null" % img)
    if rc == 127 or "not found" in out:
        rc, out = vms.l1.run("grep -c %s %s" % (MARK, img))
    assert MARK in out or out.strip() == "1", out
    assert l1_run(vms, "sha256sum %s" % IMG).split()[0] == h0
    vms.l1.run("rm -f %s" % img)
