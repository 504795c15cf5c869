#!/usr/bin/env python3
"""Disk and network throughput, memvisor against QEMU 7.2 in the same nested
machine (bench/run.sh, figure 9).

Both VMMs run the same guest, one after the other in one L1: 1 vCPU, 512M,
Debian's virtio_blk and virtio_net drivers, a 512 MiB raw image in L1's
memory and a tap in L1 (192.168.249.1, the guest .2):

  memvisor  --disk path=IMG --net tap=mvtap0,ip=192.168.249.1,...
  QEMU      -drive file=IMG,format=raw,if=none,id=d0 -device virtio-blk-pci,drive=d0
            -netdev tap,id=n0,ifname=mvtap0,script=no,downscript=no
            -device virtio-net-pci,netdev=n0,romfile=   (QEMU's defaults: page cache, no vhost)

Then, each timed by one clock around one command (the guest's /proc/uptime
for the guest's side, L1's for L1's, so no command round trip is inside):

  blk_read   guest: dd if=/dev/vda of=/dev/null bs=1M count=512 iflag=direct
  blk_write  guest: dd if=/dev/zero of=/dev/vda bs=1M count=512 oflag=direct, then sync
  net_rx     guest: wget -O /dev/null of 64 MiB from busybox httpd in L1
  net_tx     L1: wget -O /dev/null of 64 MiB from busybox httpd in the guest

Figures are MB/s (10^6 bytes a second); the report gives memvisor/QEMU per
figure, the median over the pairs (goal >= 1). Pairs alternate the order.
Prints "key value" lines (medians) and "key_all v1,v2,..." lines; progress on
stderr. Usage: io.py [--budget SECONDS] [PAIRS]. An L1 that dies under a run
is replaced and the run repeated once (compare.py's run_surviving_l1).

Reproduce: python3 bench/io.py 3
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import rig  # noqa: E402
from compare import print_pairs, side_by_side  # noqa: E402

DISK_MIB = 512
NET_MIB = 64
HOST_IP, GUEST_IP = "192.168.249.1", "192.168.249.2"
MAC = "52:54:00:12:34:57"
KEYS = ("blk_read", "blk_write", "net_rx", "net_tx")


def log(msg):
    sys.stderr.write("[io] %s\n" % msg)
    sys.stderr.flush()


def start(l1, kind, img):
    if kind == "memvisor":
        return l1.start_vm(memory="size=512M", cpus=1,
                           args=["--disk", "path=%s,id=d0" % img,
                                 "--net", "tap=mvtap0,ip=%s,mask=255.255.255.0,mac=%s" % (HOST_IP, MAC)])
    vm = l1.start_qemu(memory="512M", cpus=1, args=[
        "-drive", "file=%s,format=raw,if=none,id=d0" % img, "-device", "virtio-blk-pci,drive=d0",
        "-netdev", "tap,id=n0,ifname=mvtap0,script=no,downscript=no",
        "-device", "virtio-net-pci,netdev=n0,romfile=,mac=%s" % MAC])  # fmt: skip
    return vm


def timed(runner, command, what, timeout=600):
    """Seconds `command` took by the clock of the side that runs it."""
    rc, out = runner.run("a=$(cut -d' ' -f1 /proc/uptime); %s; r=$?; b=$(cut -d' ' -f1 /proc/uptime); "
                         "echo \"IO_T $r $a $b\"" % command, timeout=timeout)  # fmt: skip
    for line in out.splitlines():
        if line.startswith("IO_T "):
            _, r, a, b = line.split()
            if r != "0":
                raise rig.RigError("%s failed (%s): %s" % (what, r, out.strip()))
            return float(b) - float(a)
    raise rig.RigError("%s: no timing in %r" % (what, out))


def one_run(l1, kind, kill_l1=False):
    img = "%s/io.img" % l1.vm_dir
    www = "%s/iowww" % l1.vm_dir
    l1.run("mkdir -p %s && dd if=/dev/zero of=%s bs=1M count=%d 2>/dev/null && "
           "dd if=/dev/urandom of=%s/blob bs=1M count=%d 2>/dev/null"
           % (www, img, DISK_MIB, www, NET_MIB), timeout=300)  # fmt: skip
    vm = start(l1, kind, img)
    httpd = False
    try:
        vm.wait_ready(timeout=rig.scaled(180))
        if kill_l1:  # MEMVISOR_BENCH_KILL_L1=1: the death path of run_surviving_l1
            l1.send("echo c > /proc/sysrq-trigger")
        if kind == "qemu":  # memvisor sets up its tap itself (ip=, mask=)
            rc, out = l1.run("ip addr add %s/24 dev mvtap0 && ip link set mvtap0 up" % HOST_IP)
            if rc:
                raise rig.RigError("qemu: the tap: %s" % out)
        vm.run("ip link set eth0 up && ip addr add %s/24 dev eth0 && ping -c 2 -W 5 %s >/dev/null"
               % (GUEST_IP, HOST_IP), timeout=120, check=True)  # fmt: skip
        l1.run("httpd -p %s:8080 -h %s" % (HOST_IP, www))
        httpd = True
        vm.run("mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/blob bs=1M count=%d 2>/dev/null && "
               "httpd -p 8080 -h /tmp/www" % NET_MIB, timeout=300, check=True)  # fmt: skip
        s = {}
        s["blk_read"] = timed(vm, "dd if=/dev/vda of=/dev/null bs=1M count=%d iflag=direct 2>/dev/null"
                              % DISK_MIB, kind + " disk read")  # fmt: skip
        s["blk_write"] = timed(vm, "dd if=/dev/zero of=/dev/vda bs=1M count=%d oflag=direct 2>/dev/null "
                               "&& sync" % DISK_MIB, kind + " disk write")  # fmt: skip
        s["net_rx"] = timed(vm, "wget -q -O /dev/null http://%s:8080/blob" % HOST_IP, kind + " net rx")
        s["net_tx"] = timed(l1, "wget -q -O /dev/null http://%s:8080/blob" % GUEST_IP, kind + " net tx")
        vm.poweroff()
        vm.wait_exit()
    finally:
        try:
            vm.kill()
            if httpd:
                l1.run("killall httpd; true")
            l1.run("rm -rf %s %s; true" % (img, www))
        except (rig.RigError, OSError):
            pass  # a dead L1: run_surviving_l1 finds out why
    mib = {"blk_read": DISK_MIB, "blk_write": DISK_MIB, "net_rx": NET_MIB, "net_tx": NET_MIB}
    r = {k: mib[k] * 1048576 / 1e6 / s[k] for k in KEYS}
    log("%s: %s (MB/s)" % (kind, " ".join("%s=%.1f" % (k, v) for k, v in r.items())))
    return r


def main():
    results, restarts, skipped = side_by_side(sys.argv[1:], one_run, "I/O run", log)
    print_pairs("io", KEYS, results, restarts, skipped)


if __name__ == "__main__":
    main()
