"""virtio-blk with Debian's stock virtio_blk driver: raw images in L1 as
the guest's /dev/vd*, data that crosses both ways and survives the VMM,
a read-only disk the guest cannot write, discard punching the image,
several queues with a vector each, a snapshot taken under guest I/O and
restored, and the refusals at start."""
import re

from mvctl import qmp, snapshot_kill_restore

MiB = 1 << 20


def md5_l1(l1, path, skip_mib, count_mib):
    rc, out = l1.run("dd if=%s bs=1M skip=%d count=%d 2>/dev/null | md5sum" % (path, skip_mib, count_mib))
    assert rc == 0, out
    return out.split()[0]


def test_disks_read_write_readonly_discard(vms, l1):
    # On a tmpfs of its own: holes can be punched there, and it goes at the end.
    d = "%s/disks" % l1.vm_dir
    rc, out = l1.run("mkdir -p %s && mount -t tmpfs -o size=160M disks %s" % (d, d))
    assert rc == 0, out
    img, ro = "%s/disk0.img" % d, "%s/disk1.img" % d
    rc, out = l1.run("dd if=/dev/zero of=%s bs=1M count=64 2>&1 && dd if=/dev/urandom of=%s "
                     "bs=1M count=16 2>&1 && printf HOSTDATA | dd of=%s bs=1 seek=%d "
                     "conv=notrunc 2>&1" % (img, ro, img, MiB))  # fmt: skip
    assert rc == 0, out
    ro_md5 = md5_l1(l1, ro, 0, 16)
    vm = vms.start_vm(memory="size=512M", cpus=2, api_socket=True,
                      args=["--disk", "path=%s,id=data" % img,
                            "path=%s,readonly=on,num_queues=2,id=ro" % ro])
    vm.wait_ready()
    rc, out = vm.run("for f in vda/size vdb/size vda/ro vdb/ro vda/serial vdb/serial; do "
                     "cat /sys/block/$f; echo; done", check=True)
    assert out.split() == ["131072", "32768", "0", "1", "data", "ro"], out

    # What L1 wrote, the guest reads.
    rc, out = vm.run("dd if=/dev/vda bs=1 skip=%d count=8 2>/dev/null" % MiB, check=True)
    assert out.strip() == "HOSTDATA", out
    # What the guest writes (and syncs), L1's image holds, even past the page cache.
    rc, out = vm.run("dd if=/dev/urandom of=/tmp/w bs=1M count=4 2>/dev/null && "
                     "dd if=/tmp/w of=/dev/vda bs=1M seek=8 conv=fsync 2>&1 && "
                     "echo 3 > /proc/sys/vm/drop_caches && "
                     "dd if=/dev/vda bs=1M skip=8 count=4 2>/dev/null | md5sum && md5sum /tmp/w",
                     timeout=120, check=True)  # fmt: skip
    sums = re.findall(r"\b[0-9a-f]{32}\b", out)
    assert len(sums) == 2 and sums[0] == sums[1], out
    assert md5_l1(l1, img, 8, 4) == sums[0]

    # The read-only disk reads as L1 wrote it and refuses writes.
    rc, out = vm.run("dd if=/dev/vdb bs=1M count=16 2>/dev/null | md5sum", check=True)
    assert out.split()[0] == ro_md5, out
    rc, out = vm.run("dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync 2>&1")
    assert rc != 0, out
    assert md5_l1(l1, ro, 0, 16) == ro_md5

    # Discard punches the image: those MiB read zeros in L1 and take no space.
    rc, out = vm.run("blkdiscard -o %d -l %d /dev/vda 2>&1" % (9 * MiB, 2 * MiB), timeout=60)
    assert rc == 0, out
    rc, out = l1.run("dd if=%s bs=1M skip=9 count=2 2>/dev/null | tr -d '\\000' | wc -c" % img)
    assert rc == 0 and out.strip() == "0", out

    # Two request queues on the read-only disk: a vector for each.
    rc, out = vm.run("grep -o 'virtio[0-9]*-req\\.[0-9]*' /proc/interrupts | sort", check=True)
    names = out.split()
    per_dev = {}
    for n in names:
        per_dev.setdefault(n.split("-")[0], []).append(n)
    assert sorted(len(v) for v in per_dev.values()) == [1, 2], out

    # The host's view.
    ids = [x["qdev_id"] for x in qmp(vm, "query-pci")["return"][0]["devices"]]
    assert "data" in ids and "ro" in ids, ids

    # A snapshot taken while the guest reads the disk without pause: the
    # restored guest goes on reading with no I/O error, its disk holds what
    # it wrote, and what it writes after the restore reaches L1's image.
    rc, out = vm.run("(while :; do dd if=/dev/vda of=/dev/null bs=64k count=64 iflag=direct "
                     "2>/dev/null || echo x >> /tmp/ioerr; done) >/dev/null 2>&1 & "
                     "sleep 1; echo started", check=True)  # fmt: skip
    on_disk = md5_l1(l1, img, 8, 4)  # the discard above punched some of it
    snap = "%s/disk.snap" % l1.vm_dir
    r = snapshot_kill_restore(vms, vm, snap)
    rc, out = r.run("sleep 2; echo 3 > /proc/sys/vm/drop_caches; "
                    "dd if=/dev/vda bs=1M skip=8 count=4 2>/dev/null | md5sum; "
                    "cat /tmp/ioerr 2>/dev/null | wc -l; dmesg | grep -c 'I/O error'; true",
                    timeout=120, check=True)  # fmt: skip
    lines = out.split()
    assert lines[0] == on_disk and lines[-2:] == ["0", "0"], out
    rc, out = r.run("printf AFTERRESTORE | dd of=/dev/vda bs=1 seek=%d conv=fsync 2>&1" % (20 * MiB),
                    timeout=60, check=True)  # fmt: skip
    rc, out = l1.run("dd if=%s bs=1 skip=%d count=12 2>/dev/null" % (img, 20 * MiB))
    assert out.strip() == "AFTERRESTORE", out
    ids = [x["qdev_id"] for x in qmp(r, "query-pci")["return"][0]["devices"]]
    assert "data" in ids and "ro" in ids, ids
    r.poweroff()
    assert r.wait_exit() == 0
    l1.run("rm -f %s; umount %s" % (snap, d))
