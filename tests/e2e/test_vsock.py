"""virtio-vsock with Debian's stock vmw_vsock_virtio_transport driver and
socat on the host side, over the hybrid Unix-socket protocol: a host
client's CONNECT reaches a guest listener and 4 MiB come back echoed
(md5), a guest connecting to the host reaches "<socket>_<port>" (4 MiB
echoed by socat), a connection to a port nothing listens on is refused in
the guest, a bad CONNECT line is hung up on with the VM unharmed, a
second VMM cannot take the socket, and after a snapshot restored into a
new VMM the guest's listener answers new connections."""
import re

from mvctl import qmp, snapshot_kill_restore

CID = 7


def md5s(out):
    return re.findall(r"\b[0-9a-f]{32}\b", out)


def host_echo_check(l1, sock, blob):
    """blob through the guest's echo listener on port 1234, from a host client."""
    rc, out = l1.run("(printf 'CONNECT 1234\\n'; cat %s) | socat -t 30 - UNIX-CONNECT:%s > %s.out; "
                     "head -n 1 %s.out; tail -n +2 %s.out | md5sum; md5sum %s"
                     % (blob, sock, blob, blob, blob, blob), timeout=180)  # fmt: skip
    assert rc == 0, out
    assert re.match(r"OK \d+\s", out), out
    sums = md5s(out)
    assert len(sums) == 2 and sums[0] == sums[1], out


def test_vsock_both_ways_hostile_and_restore(vms, l1):
    d = "%s/vs" % l1.vm_dir
    sock = "%s/v.sock" % d
    vm = vms.start_vm(memory="size=512M", cpus=1, api_socket=True, name="vs",
                      args=["--vsock", "cid=%d,socket=%s" % (CID, sock)])  # fmt: skip
    vm.wait_ready()
    rc, out = vm.run("cat /sys/bus/virtio/devices/*/device; ls /dev/vsock", check=True)
    assert "0x0013" in out, out
    vm.run("(mv-vsock listen 1234 </dev/null >/dev/null 2>&1 &)", check=True)

    # Host to guest: CONNECT 1234, OK <port>, 4 MiB echoed back.
    blob = "%s/blob" % d
    rc, out = l1.run("dd if=/dev/urandom of=%s bs=1M count=4 2>/dev/null" % blob)
    assert rc == 0, out
    host_echo_check(l1, sock, blob)

    # Guest to host: socat echoes on <socket>_5000.
    rc, out = l1.run("(socat UNIX-LISTEN:%s_5000,fork EXEC:cat </dev/null >/dev/null 2>&1 &); "
                     "sleep 1; ls %s_5000" % (sock, sock))  # fmt: skip
    assert rc == 0, out
    rc, out = vm.run("dd if=/dev/urandom of=/tmp/g bs=1M count=4 2>/dev/null; md5sum /tmp/g; "
                     "mv-vsock send 2 5000 </tmp/g | md5sum", timeout=180, check=True)  # fmt: skip
    sums = md5s(out)
    assert len(sums) == 2 and sums[0] == sums[1], out

    # Nothing listens on host port 5001: the guest's connect is refused.
    rc, out = vm.run("mv-vsock send 2 5001 </dev/null; echo rc=$?", timeout=60)
    assert "rc=1" in out and "connect 2:5001" in out, out

    # A client that does not speak the protocol is hung up on; the VM runs on.
    rc, out = l1.run("printf 'HELLO 1234\\n' | socat -t 5 - UNIX-CONNECT:%s; echo rc=$?" % sock)
    assert "rc=" in out and "OK" not in out, out
    assert qmp(vm, "query-status")["return"]["status"] == "running"
    ids = [x["qdev_id"] for x in qmp(vm, "query-pci")["return"][0]["devices"]]
    assert "vsock0" in ids, ids

    # The socket is this VMM's while it runs: a second one is refused, naming it.
    rc, out = l1.run("memvisor --kernel %s --initramfs %s --memory size=256M "
                     "--vsock cid=8,socket=%s 2>&1" % (l1.l2_kernel, l1.l2_initrd, sock),
                     timeout=60)  # fmt: skip
    assert rc != 0 and "--vsock socket=%s" % sock in out and "another process" in out, out

    # Snapshot, kill, restore in a new VMM: the guest's connections were reset, its
    # listener was not; a new host connection is echoed.
    snap = "%s/vsock.snap" % l1.vm_dir
    r = snapshot_kill_restore(vms, vm, snap)
    host_echo_check(l1, sock, blob)
    r.poweroff()
    assert r.wait_exit() == 0
    l1.run("killall socat; rm -f %s %s %s.out; true" % (snap, blob, blob))
