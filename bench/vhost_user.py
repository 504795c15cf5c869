#!/usr/bin/env python3
"""vhost-user throughput, memvisor against QEMU 7.2 in the same nested
machine (bench/run.sh, figure 10), with the same back-ends: Debian's
qemu-storage-daemon (a vhost-user-blk export of a 512 MiB raw image in L1's
memory) and Debian's virtiofsd (a directory in L1 holding a 256 MiB file).
Each run starts both back-ends afresh and one VMM: 1 vCPU, 512M of shared
guest memory, Debian's virtio_blk and virtiofs drivers:

  memvisor  --memory size=512M,shared=on --disk vhost_user=on,socket=BLK
            --fs tag=share,socket=FS
  QEMU      -object memory-backend-memfd,id=m0,size=512M,share=on
            -machine memory-backend=m0
            -chardev socket,id=c0,path=BLK -device vhost-user-blk-pci,chardev=c0
            -chardev socket,id=c1,path=FS -device vhost-user-fs-pci,chardev=c1,tag=share

Then, each timed by the guest's /proc/uptime around one command:

  vublk_read   dd if=/dev/vda of=/dev/null bs=1M count=512 iflag=direct
  vublk_write  dd if=/dev/zero of=/dev/vda bs=1M count=512 oflag=direct
  vufs_read    dd if=/mnt/s/blob of=/dev/null bs=1M (the guest's caches dropped first)
  vufs_write   dd if=/dev/zero of=/mnt/s/out bs=1M count=128 conv=fsync

Figures are MB/s (10^6 bytes a second); the report gives memvisor/QEMU per
figure, the median over the pairs (goal >= 1). Pairs alternate the order.
Prints "key value" lines (medians) and "key_all v1,v2,..." lines; progress
on stderr. Usage: vhost_user.py [--budget SECONDS] [PAIRS]. An L1 that dies
under a run is replaced and the run repeated once.

Reproduce: python3 bench/vhost_user.py 3
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import rig  # noqa: E402
from compare import print_pairs, side_by_side  # noqa: E402

# bench/io.py's timer (its module name is the standard library's io, so by path).
_spec = importlib.util.spec_from_file_location("bench_io", os.path.join(HERE, "io.py"))
_io = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_io)
timed = _io.timed

DISK_MIB = 512
FS_READ_MIB = 256
FS_WRITE_MIB = 128
KEYS = ("vublk_read", "vublk_write", "vufs_read", "vufs_write")


def log(msg):
    sys.stderr.write("[vhost-user] %s\n" % msg)
    sys.stderr.flush()


def backends(l1, d):
    """Fresh back-ends for one run: the daemon on the image, virtiofsd on the share."""
    img, share = "%s/vu.img" % d, "%s/share" % d
    rc, out = l1.run("rm -rf %s; mkdir -p %s && dd if=/dev/zero of=%s bs=1M count=%d 2>/dev/null && "
                     "dd if=/dev/urandom of=%s/blob bs=1M count=%d 2>/dev/null && "
                     "(qemu-storage-daemon --blockdev driver=file,node-name=f0,filename=%s "
                     "--export type=vhost-user-blk,id=e0,node-name=f0,writable=on,addr.type=unix,"
                     "addr.path=%s/blk.sock </dev/null >%s/qsd.log 2>&1 &) && "
                     "(virtiofsd --socket-path=%s/fs.sock -o source=%s -o sandbox=chroot "
                     "</dev/null >%s/vfs.log 2>&1 &) && for i in $(seq 50); do "
                     "[ -S %s/blk.sock ] && [ -S %s/fs.sock ] && break; sleep 0.2; done; "
                     "ls %s/blk.sock %s/fs.sock"
                     % (d, share, img, DISK_MIB, share, FS_READ_MIB, img, d, d, d, share, d,
                        d, d, d, d), timeout=300)  # fmt: skip
    if rc:
        raise rig.RigError("back-ends did not start: %s" % out)


def start(l1, kind, d):
    blk, fs = "%s/blk.sock" % d, "%s/fs.sock" % d
    if kind == "memvisor":
        return l1.start_vm(memory="size=512M,shared=on", cpus=1, name="vumv",
                           args=["--disk", "vhost_user=on,socket=%s,id=d0" % blk,
                                 "--fs", "tag=share,socket=%s" % fs])  # fmt: skip
    return l1.start_qemu(memory="512M", cpus=1, name="vuqemu", args=[
        "-object", "memory-backend-memfd,id=m0,size=512M,share=on", "-machine", "memory-backend=m0",
        "-chardev", "socket,id=c0,path=%s" % blk, "-device", "vhost-user-blk-pci,chardev=c0",
        "-chardev", "socket,id=c1,path=%s" % fs, "-device", "vhost-user-fs-pci,chardev=c1,tag=share"])  # fmt: skip


def one_run(l1, kind, kill_l1=False):
    d = "%s/vubench" % l1.vm_dir
    backends(l1, d)
    vm = start(l1, kind, d)
    try:
        vm.wait_ready(timeout=rig.scaled(180))
        if kill_l1:  # MEMVISOR_BENCH_KILL_L1=1: the death path of run_surviving_l1
            l1.send("echo c > /proc/sysrq-trigger")
        vm.run("mkdir -p /mnt/s && mount -t virtiofs share /mnt/s", timeout=120, check=True)
        s = {}
        s["vublk_read"] = timed(vm, "dd if=/dev/vda of=/dev/null bs=1M count=%d iflag=direct 2>/dev/null"
                                % DISK_MIB, kind + " vhost-user disk read")  # fmt: skip
        s["vublk_write"] = timed(vm, "dd if=/dev/zero of=/dev/vda bs=1M count=%d oflag=direct 2>/dev/null"
                                 % DISK_MIB, kind + " vhost-user disk write")  # fmt: skip
        vm.run("sync; echo 3 > /proc/sys/vm/drop_caches", timeout=120, check=True)
        s["vufs_read"] = timed(vm, "dd if=/mnt/s/blob of=/dev/null bs=1M 2>/dev/null",
                               kind + " virtio-fs read")  # fmt: skip
        s["vufs_write"] = timed(vm, "dd if=/dev/zero of=/mnt/s/out bs=1M count=%d conv=fsync 2>/dev/null"
                                % FS_WRITE_MIB, kind + " virtio-fs write")  # fmt: skip
        vm.run("umount /mnt/s", timeout=120)
        vm.poweroff()
        vm.wait_exit()
    finally:
        try:
            vm.kill()
            l1.run("killall qemu-storage-daemon virtiofsd; sleep 0.5; rm -rf %s; true" % d)
        except (rig.RigError, OSError):
            pass  # a dead L1: run_surviving_l1 finds out why
    mib = {"vublk_read": DISK_MIB, "vublk_write": DISK_MIB, "vufs_read": FS_READ_MIB,
           "vufs_write": FS_WRITE_MIB}  # fmt: skip
    r = {k: mib[k] * 1048576 / 1e6 / s[k] for k in KEYS}
    log("%s: %s (MB/s)" % (kind, " ".join("%s=%.1f" % (k, v) for k, v in r.items())))
    return r


def main():
    results, restarts, skipped = side_by_side(sys.argv[1:], one_run, "vhost-user run", log)
    print_pairs("vu", KEYS, results, restarts, skipped)


if __name__ == "__main__":
    main()
