"""virtio-net with Debian's stock virtio_net driver over a tap in L1: the
guest's eth0 has the MAC given, L1's tap the address given, frames cross
both ways with the checksum and TSO offloads negotiated (ping, then
16 MiB each way over HTTP with busybox's httpd and wget, checked by md5,
the rates recorded in the run's summary), a second VM cannot take a tap the first holds, and
a snapshot restored into a new VMM, on a tap opened again by name, goes on
talking with the ARP cache it had (host_mac= keeps the tap's address)."""
import re
import time

import rig
from mvctl import qmp, snapshot_kill_restore

MAC = "52:54:00:12:34:56"
HOST_MAC = "52:54:00:ab:cd:ef"
HOST_IP, GUEST_IP = "192.168.249.1", "192.168.249.2"
NET = "tap=mvtap0,ip=%s,mask=255.255.255.0,mac=%s,host_mac=%s,id=net0" % (HOST_IP, MAC, HOST_MAC)


def md5(out):
    sums = re.findall(r"\b[0-9a-f]{32}\b", out)
    assert sums, out
    return sums[0]


def ping_ok(vm, count=3):
    rc, out = vm.run("ping -c %d -W 5 %s 2>&1; true" % (count, HOST_IP), timeout=60)
    m = re.search(r"(\d+) packets transmitted, (\d+) (?:packets )?received", out)
    assert m and m.group(1) == m.group(2) == str(count), out


def test_net_tap_both_ways_busy_tap_and_restore(vms, l1):
    vm = vms.start_vm(memory="size=512M", cpus=1, api_socket=True, args=["--net", NET])
    vm.wait_ready()
    rc, out = vm.run("cat /sys/class/net/eth0/address; cat /sys/class/net/eth0/device/features",
                     check=True)  # fmt: skip
    assert out.split()[0] == MAC, out
    # The driver took the checksum and TSO offloads both ways (the tap offers them), and
    # mergeable receive buffers (15).
    bits = out.split()[1]
    for b in (0, 1, 7, 8, 11, 12, 15):
        assert bits[b] == "1", "feature bit %d not negotiated: %s" % (b, bits)
    rc, out = l1.run("ip addr show mvtap0")
    assert rc == 0 and "inet %s/24" % HOST_IP in out and HOST_MAC in out, out
    vm.run("ip link set eth0 up && ip addr add %s/24 dev eth0" % GUEST_IP, check=True)
    ping_ok(vm)

    # 16 MiB from L1 to the guest, then 16 MiB from the guest to L1.
    www = "%s/www" % l1.vm_dir
    rc, out = l1.run("mkdir -p %s && dd if=/dev/urandom of=%s/blob bs=1M count=16 2>/dev/null && "
                     "md5sum %s/blob && httpd -p %s:8080 -h %s" % (www, www, www, HOST_IP, www))
    assert rc == 0, out
    sent = md5(out)
    t0 = time.monotonic()
    rc, out = vm.run("wget -q -O /tmp/blob http://%s:8080/blob && md5sum /tmp/blob && rm /tmp/blob"
                     % HOST_IP, timeout=300, check=True)  # fmt: skip
    rx_s = time.monotonic() - t0
    assert md5(out) == sent, out
    rc, out = vm.run("mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/g bs=1M count=16 "
                     "2>/dev/null && md5sum /tmp/www/g && httpd -p 8080 -h /tmp/www",
                     check=True)  # fmt: skip
    made = md5(out)
    t0 = time.monotonic()
    rc, out = l1.run("wget -q -O %s/g http://%s:8080/g && md5sum %s/g && rm %s/g"
                     % (www, GUEST_IP, www, www), timeout=300)  # fmt: skip
    tx_s = time.monotonic() - t0
    assert rc == 0 and md5(out) == made, out
    # Under nested TCG, and with the rig's command round trips inside: a record, not a goal.
    rig.record_figure("virtio-net, 16 MiB over HTTP in the nested rig: L1 to guest %.1f MB/s, "
                      "guest to L1 %.1f MB/s (command round trips included)"
                      % (16.8 / rx_s, 16.8 / tx_s))  # fmt: skip
    ids = [x["qdev_id"] for x in qmp(vm, "query-pci")["return"][0]["devices"]]
    assert "net0" in ids, ids

    # The tap is this VMM's while it runs: a second one is refused, naming it.
    rc, out = l1.run("memvisor --kernel %s --initramfs %s --memory size=256M --net %s 2>&1"
                     % (l1.l2_kernel, l1.l2_initrd, NET), timeout=60)  # fmt: skip
    assert rc != 0 and "--net id=net0" in out and "tap=mvtap0" in out, out

    # A snapshot, the VMM killed (its tap goes with it), restored on a new tap of the same
    # name and address: the guest's addresses and ARP cache are as they were.
    snap = "%s/net.snap" % l1.vm_dir
    r = snapshot_kill_restore(vms, vm, snap)
    rc, out = r.run("cat /sys/class/net/eth0/address; ip -4 addr show eth0", check=True)
    assert MAC in out and GUEST_IP in out, out
    ping_ok(r)
    rc, out = r.run("wget -q -O - http://%s:8080/blob | md5sum" % HOST_IP, timeout=300,
                    check=True)  # fmt: skip
    assert md5(out) == sent, out
    r.poweroff()
    assert r.wait_exit() == 0
    l1.run("killall httpd; rm -rf %s %s; true" % (www, snap))
