"""Talking to a VMM's control socket from the tests, through memvisor-ctl
inside L1 (it speaks QMP to memvisor and to QEMU alike)."""
import json
import time

import pytest

import rig


def ctl(vm, *args, timeout=120):
    """memvisor-ctl against the VM's --api-socket; returns (rc, output)."""
    cmd = "memvisor-ctl --socket %s %s" % (vm.api_socket, " ".join(args))
    return vm.l1.run(cmd, timeout=timeout)


def qmp_at(host, sock, execute, **arguments):
    """One raw QMP exchange with the server at `sock`; returns the reply object."""
    msg = {"execute": execute}
    if arguments:
        msg["arguments"] = arguments
    rc, out = host.run("memvisor-ctl --socket %s --json '%s'" % (sock, json.dumps(msg)), timeout=60)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    assert lines, "no QMP reply from %s: rc=%d %r" % (sock, rc, out)
    return json.loads(lines[-1])


def qmp(vm, execute, **arguments):
    return qmp_at(vm.l1, vm.api_socket, execute, **arguments)


def devices(vm):
    """{id: query-memory-devices data} of a memvisor VM."""
    reply = qmp(vm, "query-memory-devices")
    return {d["data"]["id"]: d["data"] for d in reply["return"]}


def wait_for(what, fn, timeout=90, interval=1.0):
    """Polls fn() until it returns a true value; fails with `what` on timeout."""
    deadline = time.monotonic() + rig.scaled(timeout)
    value = None
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    pytest.fail("timed out waiting for %s (last: %r)" % (what, value))


def restore(vm, snap, name, extra=""):
    """memvisor --restore of snap in L1, named after vm (whose directory holds
    its control socket); returns the rig.VM once its socket answers."""
    sock = "%s/%s/%s.sock" % (vm.l1.vm_dir, vm.name, name)
    argv = ["memvisor", "--restore", "source_url=file://%s%s" % (snap, extra), "--serial", "tty",
            "--api-socket", sock]
    r = rig.VM(vm.l1, vm.name + name, argv)
    r.api_socket = sock

    def up():
        try:
            return qmp(r, "query-status")["return"]
        except (AssertionError, rig.RigError):
            return None
    wait_for("the restored VM's control socket", up, timeout=120)
    return r


def snapshot_kill_restore(vms, vm, snap, name="r"):
    """A snapshot of the running vm to snap, the VMM killed, the snapshot
    restored and resumed in a new VMM (kept in vms.started, so the fixture
    stops it and prints its console); returns the restored rig.VM."""
    rc, out = ctl(vm, "snapshot", "file://%s" % snap, timeout=300)
    assert rc == 0, out
    vm.kill()
    r = restore(vm, snap, name, ",resume=on")
    vms.started.append(r)
    return r
