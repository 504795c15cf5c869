"""vhost-user back-ends on shared guest memory. virtio-fs: Debian's virtiofsd
(/usr/lib/qemu/virtiofsd, unmodified) shares an L1 directory; Debian's
stock virtiofs driver mounts it in the guest, reads a file L1 wrote and
writes one L1 reads back (md5 both ways); with virtio-mem grown by 1 GiB a
file larger than boot RAM reads back right, and again after shrinking. A snapshot is refused naming the
share. Killing the back-end leaves the VMM running, raises
X_VHOST_USER_DISCONNECTED and the guest still answers. The refusals at
start: private guest memory, a socket nobody serves.

vhost-user-blk: Debian's qemu-storage-daemon exports a raw L1 image; the
stock virtio_blk driver sees its size and two queues, the guest makes a
filesystem, writes a file and unmounts, and L1 reads the file out of the
image (debugfs) with the guest's md5; with virtio-mem grown by 1 GiB the
guest reads 320 MiB that L1 wrote into the image (its page cache needs the
plugged memory) with L1's md5, and again after shrinking. Killing the
daemon raises the event naming the disk, the VMM runs on, and the guest's
reads and writes then fail with EIO instead of hanging."""
import json
import os
import re
import time

import pytest

from mvctl import ctl, qmp

VIRTIOFSD = "/usr/lib/qemu/virtiofsd"
QSD = "/usr/bin/qemu-storage-daemon"
MEM = "size=384M,shared=on,hotplug_method=virtio-mem,hotplug_size=2G"


def md5s(out):
    return re.findall(r"\b[0-9a-f]{32}\b", out)


def start_virtiofsd(l1, sock, src):
    l1.run("rm -f %s; mkdir -p %s" % (sock, src), check=True)
    rc, out = l1.run("(virtiofsd --socket-path=%s -o source=%s -o sandbox=chroot "
                     "</dev/null >%s.log 2>&1 &); for i in $(seq 50); do [ -S %s ] && break; "
                     "sleep 0.2; done; ls -l %s" % (sock, src, sock, sock, sock))  # fmt: skip
    assert rc == 0, out


def wait_event(l1, evfile, name):
    for _ in range(60):
        rc, out = l1.run("cat %s" % evfile)
        events = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        ev = [e for e in events if e.get("event") == name]
        if ev:
            return ev[0]
        time.sleep(1)
    return None


def refused_at_start(l1, option, sock, d, name):
    """option + a socket path: refused with private memory (naming --memory
    and shared=on) and with a socket nobody serves (naming it), each one
    line naming the device, non-zero, before any guest runs."""
    base = "memvisor --kernel %s --initramfs %s " % (l1.l2_kernel, l1.l2_initrd)
    rc, out = l1.run(base + "--memory size=256M %s%s 2>&1" % (option, sock), timeout=60)
    assert rc != 0 and name in out and "--memory" in out and "shared=on" in out, out
    rc, out = l1.run(base + "--memory size=256M,shared=on %s%s/none.sock 2>&1" % (option, d), timeout=60)
    assert rc != 0 and name in out and "none.sock" in out, out


def test_virtiofs_share_both_ways_refusals_and_backend_death(vms, l1):
    if not os.path.isfile(VIRTIOFSD):
        pytest.skip("%s missing: install qemu-system-common" % VIRTIOFSD)
    d = "%s/vfs" % l1.vm_dir
    sock, src = "%s/fs.sock" % d, "%s/share" % d
    start_virtiofsd(l1, sock, src)
    rc, out = l1.run("dd if=/dev/urandom of=%s/host.bin bs=1M count=8 2>/dev/null; "
                     "md5sum %s/host.bin" % (src, src))  # fmt: skip
    assert rc == 0, out
    host_sum = md5s(out)[0]

    # Private guest memory is refused before anything starts, naming --memory;
    # a socket nobody serves: one line naming the share and the socket.
    refused_at_start(l1, "--fs tag=share,socket=", sock, d, "--fs id=fs0")

    vm = vms.start_vm(memory=MEM, cpus=2, api_socket=True, name="fs",
                      args=["--fs", "tag=share,socket=%s,num_queues=1" % sock])  # fmt: skip
    vm.wait_ready()
    rc, out = vm.run("cat /sys/bus/virtio/devices/*/device; mkdir -p /mnt/s; "
                     "mount -t virtiofs share /mnt/s && md5sum /mnt/s/host.bin",
                     timeout=180, check=True)  # fmt: skip
    assert "0x001a" in out, out
    assert host_sum in md5s(out), out
    rc, out = vm.run("dd if=/dev/urandom of=/mnt/s/guest.bin bs=1M count=8 2>/dev/null; "
                     "sync; md5sum /mnt/s/guest.bin", timeout=180, check=True)  # fmt: skip
    guest_sum = md5s(out)[0]
    rc, out = l1.run("md5sum %s/guest.bin" % src)
    assert rc == 0 and guest_sum in md5s(out), out

    # virtio-mem: grow by 1 GiB, read through the share a file larger than boot
    # RAM (its page cache needs the plugged memory), shrink back, read again.
    rc, out = ctl(vm, "resize", "--id", "mem0", "1G", "--wait", "--timeout", "120")
    assert rc == 0, out
    rc, out = l1.run("head -c 64M /dev/urandom > %s/blk; for i in 1 2 3 4 5 6 7; do cat %s/blk; "
                     "done > %s/big.bin; rm %s/blk; md5sum %s/big.bin" % ((src,) * 5),
                     timeout=180)  # fmt: skip
    assert rc == 0, out
    big_sum = md5s(out)[0]
    rc, out = vm.run("grep MemTotal /proc/meminfo; md5sum /mnt/s/big.bin; grep -E "
                     "'^(MemFree|Cached)' /proc/meminfo", timeout=300, check=True)  # fmt: skip
    assert big_sum in md5s(out), out
    kib = dict(re.findall(r"^(\w+):\s+(\d+) kB", out, re.M))
    assert int(kib["MemTotal"]) > 1024 * 1024, out  # the plugged GiB is the guest's
    rc, out = ctl(vm, "resize", "--id", "mem0", "0", "--wait", "--timeout", "240")
    assert rc == 0, out
    rc, out = vm.run("echo 3 > /proc/sys/vm/drop_caches; grep MemTotal /proc/meminfo; "
                     "md5sum /mnt/s/big.bin", timeout=300, check=True)  # fmt: skip
    assert big_sum in md5s(out), out
    l1.run("rm -f %s/big.bin" % src)

    # A snapshot would lose the back-end's state: refused, the VM runs on.
    r = qmp(vm, "x-snapshot", url="file://%s/fs.snap" % d)
    assert "error" in r and "--fs id=fs0" in r["error"]["desc"], r
    assert qmp(vm, "query-status")["return"]["status"] == "running"

    # The back-end dies: the event names the share, the VMM and the guest run on.
    evfile = "%s/events.json" % d
    l1.run("(memvisor-ctl --socket %s events --timeout 60 > %s 2>&1 &); sleep 1"
           % (vm.api_socket, evfile))  # fmt: skip
    l1.run("killall -9 virtiofsd; true")
    ev = wait_event(l1, evfile, "X_VHOST_USER_DISCONNECTED")
    assert ev and ev["data"]["device"] == "fs0", ev
    assert qmp(vm, "query-status")["return"]["status"] == "running"
    rc, out = vm.run("echo alive", timeout=60, check=True)
    assert "alive" in out
    vm.kill()
    l1.run("killall memvisor-ctl; rm -rf %s; true" % d)


def test_vhost_user_blk_filesystem_virtio_mem_and_backend_death(vms, l1):
    if not os.path.isfile(QSD):
        pytest.skip("%s missing: install qemu-system-common" % QSD)
    d = "%s/vub" % l1.vm_dir
    sock, img = "%s/blk.sock" % d, "%s/disk.img" % d
    # 384 MiB: an ext2 filesystem in the first 64 MiB, L1's data from 64 MiB on.
    rc, out = l1.run("rm -rf %s; mkdir -p %s && truncate -s 384M %s && head -c 320M /dev/urandom "
                     "| dd of=%s bs=1M seek=64 conv=notrunc 2>/dev/null; dd if=%s bs=1M skip=64 "
                     "2>/dev/null | md5sum" % (d, d, img, img, img), timeout=120)  # fmt: skip
    assert rc == 0, out
    raw_sum = md5s(out)[0]
    rc, out = l1.run("(qemu-storage-daemon --blockdev driver=file,node-name=f0,filename=%s "
                     "--export type=vhost-user-blk,id=e0,node-name=f0,writable=on,num-queues=2,"
                     "addr.type=unix,addr.path=%s </dev/null >%s.log 2>&1 &); "
                     "for i in $(seq 50); do [ -S %s ] && break; sleep 0.2; done; ls -l %s"
                     % (img, sock, sock, sock, sock))  # fmt: skip
    assert rc == 0, out

    # Refused at start, one line naming the disk: private memory, a socket nobody serves.
    refused_at_start(l1, "--disk vhost_user=on,socket=", sock, d, "--disk id=disk0")

    vm = vms.start_vm(memory=MEM, cpus=2, api_socket=True, name="blk",
                      args=["--disk", "vhost_user=on,socket=%s,num_queues=2,id=vub" % sock])  # fmt: skip
    vm.wait_ready()
    rc, out = vm.run("cat /sys/block/vda/size /sys/block/vda/device/device; ls /sys/block/vda/mq",
                     check=True)  # fmt: skip
    assert out.split()[:2] == [str(384 << 11), "0x0002"] and out.split()[2:] == ["0", "1"], out

    # A filesystem the guest makes and fills; L1 reads the file from the image.
    rc, out = vm.run("mke2fs -F /dev/vda 65536 >/dev/null && mkdir -p /mnt/d && mount -t ext4 /dev/vda "
                     "/mnt/d && dd if=/dev/urandom of=/mnt/d/g.bin bs=1M count=8 2>/dev/null && "
                     "md5sum /mnt/d/g.bin && umount /mnt/d && sync && echo done",
                     timeout=240, check=True)  # fmt: skip
    assert "done" in out, out
    guest_sum = md5s(out)[0]
    rc, out = l1.run("debugfs -R 'dump /g.bin %s/g.bin' %s 2>&1; md5sum %s/g.bin" % (d, img, d))
    assert rc == 0 and guest_sum in md5s(out), out

    # virtio-mem: 320 MiB read through the disk needs the plugged GiB for its cache.
    rc, out = ctl(vm, "resize", "--id", "mem0", "1G", "--wait", "--timeout", "120")
    assert rc == 0, out
    rc, out = vm.run("dd if=/dev/vda bs=1M skip=64 2>/dev/null | md5sum; grep -E "
                     "'^(MemTotal|Buffers)' /proc/meminfo", timeout=300, check=True)  # fmt: skip
    assert raw_sum in md5s(out), out
    kib = dict(re.findall(r"^(\w+):\s+(\d+) kB", out, re.M))
    assert int(kib["MemTotal"]) > 1024 * 1024, out
    rc, out = ctl(vm, "resize", "--id", "mem0", "0", "--wait", "--timeout", "240")
    assert rc == 0, out
    rc, out = vm.run("echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=1M skip=64 "
                     "2>/dev/null | md5sum", timeout=300, check=True)  # fmt: skip
    assert raw_sum in md5s(out), out

    r = qmp(vm, "x-snapshot", url="file://%s/vub.snap" % d)
    assert "error" in r and "--disk id=vub" in r["error"]["desc"], r

    # The daemon dies: the event names the disk, the VMM and the guest run on.
    evfile = "%s/events.json" % d
    l1.run("(memvisor-ctl --socket %s events --timeout 60 > %s 2>&1 &); sleep 1"
           % (vm.api_socket, evfile))  # fmt: skip
    l1.run("killall -9 qemu-storage-daemon; true")
    ev = wait_event(l1, evfile, "X_VHOST_USER_DISCONNECTED")
    assert ev and ev["data"]["device"] == "vub" and ev["data"]["socket"] == sock, ev
    assert qmp(vm, "query-status")["return"]["status"] == "running"
    # memvisor answers the disk now: reads and writes fail with EIO, none hangs.
    rc, out = vm.run("dd if=/dev/vda of=/dev/null bs=4096 count=1 skip=777 iflag=direct; "
                     "echo rc=$?; dd if=/dev/zero of=/dev/vda bs=4096 count=1 seek=999 "
                     "oflag=direct; echo rc=$?; echo alive", timeout=120)  # fmt: skip
    assert "alive" in out and "rc=0" not in out and out.count("rc=") == 2, out
    assert "I/O error" in out or "Input/output error" in out, out
    # The driver rebound (a virtio reset, then DRIVER_OK with no back-end):
    # its probe's reads are answered too, so it neither hangs nor crashes.
    rc, out = vm.run("v=$(basename $(readlink /sys/block/vda/device)); d=/sys/bus/virtio/drivers/"
                     "virtio_blk; echo $v > $d/unbind; echo $v > $d/bind; sleep 2; [ -e /sys/block/vda ] && "
                     "echo reprobed; dd if=/dev/vda of=/dev/null bs=4096 count=1 iflag=direct; "
                     "echo rc=$?; echo alive", timeout=120)  # fmt: skip
    assert "alive" in out and "reprobed" in out and "rc=0" not in out and "rc=" in out, out
    vm.kill()
    l1.run("killall memvisor-ctl; rm -rf %s; true" % d)
