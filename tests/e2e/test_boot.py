"""Boot scenarios: memvisor boots the Debian kernel + busybox L2 guest inside
the nested rig. test_rig_* run the same guest under QEMU in L1 and check the
rig itself (marker qemu)."""

import re
import time

import pytest

import rig
from mvctl import ctl

GiB = 1 << 30
MiB = 1 << 20


def memtotal_bytes(vm):
    return vm.meminfo()["MemTotal"] * 1024


@pytest.fixture(scope="module")
def vm_1g(_l1_manager):
    """One memvisor guest with --memory size=1G, shared by the tests below
    that only look at it; test_poweroff_exits_zero powers it off (last)."""
    l1 = _l1_manager.get()
    try:
        vm = l1.start_vm(memory="size=1G")
    except rig.Unavailable as e:
        pytest.skip(str(e))
    yield vm
    if l1.proc.poll() is None:
        vm.kill()


def test_boots_to_userspace(vm_1g):
    ids = vm_1g.wait_ready()
    assert len(ids) == 1
    rc, out = vm_1g.run("echo hello from L2; cat /proc/version")
    assert rc == 0
    assert "hello from L2" in out
    assert "Linux version" in out


def test_memtotal_matches_memory_size(vm_1g):
    vm_1g.wait_ready()
    total = memtotal_bytes(vm_1g)
    assert 0.85 * GiB <= total <= GiB, "MemTotal %d MiB for --memory size=1G" % (total // MiB)


def test_poweroff_exits_zero(vm_1g):
    vm_1g.wait_ready()
    vm_1g.poweroff()
    assert vm_1g.wait_exit() == 0


def test_reboot_boots_again(vms):
    vm = vms.start_vm(memory="size=512M")
    first = vm.wait_ready()
    vm.reboot()
    ids = vm.wait_ready(count=2)
    assert len(ids) == 2 and ids[0] == first[0] and ids[1] != ids[0], ids
    rc, out = vm.run("echo second boot")
    assert rc == 0 and "second boot" in out
    vm.poweroff()
    assert vm.wait_exit() == 0


def test_cpus_boot_4(vms):
    """SMP, ACPI and the virtio-pci transport with the stock kernel and console=ttyS0 only."""
    vm = vms.start_vm(memory="size=512M", cpus=4)
    vm.wait_ready()
    rc, out = vm.run("nproc")
    assert rc == 0 and out.strip() == "4"
    rc, out = vm.run("cat /proc/cmdline; dmesg | grep -E 'ACPI: (RSDP|XSDT|FACP|DSDT|APIC)'")
    assert rc == 0, out
    for table in ("RSDP", "XSDT", "FACP", "DSDT", "APIC"):
        assert "ACPI: " + table in out, out
    assert "pci=" not in out.splitlines()[0] and "acpi=" not in out.splitlines()[0], out
    # virtio-rng over virtio-pci: 64 random bytes through the virtqueue, not all equal.
    rc, out = vm.run("cat /sys/class/misc/hw_random/rng_current; "
                     "head -c 64 /dev/hwrng | od -An -tx1 | tr -s ' ' '\\n' | sort -u | wc -l")
    assert rc == 0, out
    lines = out.split()
    assert lines[0].startswith("virtio_rng"), out
    assert int(lines[-1]) > 16, out
    vm.poweroff()
    assert vm.wait_exit() == 0


# ---------------------------------------------------------------------------
# The rig itself, with QEMU -accel kvm inside L1 as the VMM.


@pytest.mark.qemu
def test_rig_qemu_guest(vms):
    """L2 under QEMU in L1: boots, runs commands (exit status, output without
    a final newline), virtio_mem plugs its 128 MiB, reboots, powers off."""
    t0 = time.monotonic()
    vm = vms.start_qemu(memory="512M", virtio_mem=("4G", "1G", "128M"))
    first = vm.wait_ready()
    print("[rig] L2 under QEMU in L1 ready in %.1fs" % (time.monotonic() - t0))

    assert vm.run("exit 7") == (7, "")
    assert vm.run("printf 'a b\\nno newline'") == (0, "a b\nno newline")
    rc, out = vm.run("lsmod")
    assert rc == 0 and "virtio_mem" in out and "virtio_pci" in out

    # The device sits at 4 GiB; with 128 MiB memory blocks its first block
    # is memory32, which the driver plugs and the kernel onlines movable.
    block = "/sys/devices/system/memory/memory32"
    deadline = time.monotonic() + rig.scaled(30)
    while True:
        rc, state = vm.run("cat %s/state %s/valid_zones" % (block, block))
        if state.split() == ["online", "Movable"] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert state.split() == ["online", "Movable"], state
    rc, out = vm.run("dmesg | grep 'virtio_mem virtio0'")
    assert re.search(r"requested size: 0x8000000", out), out

    assert vm.rss_kib() > 0
    vm.reboot()
    ids = vm.wait_ready(count=2)
    assert len(ids) == 2 and ids[0] == first[0] and ids[1] != ids[0], ids
    vm.poweroff()
    assert vm.wait_exit() == 0


@pytest.mark.qemu
def test_rig_qemu_guest_nomods(vms):
    """mv.nomods keeps virtio_mem unloaded (for hostile-guest tests)."""
    vm = vms.start_qemu(memory="512M", virtio_mem=("4G", "1G", "0"), cmdline="mv.nomods")
    vm.wait_ready()
    rc, out = vm.run("lsmod")
    assert rc == 0 and "virtio_pci" in out and "virtio_mem" not in out
    rc, out = vm.run("busybox devmem 0x100000000 32")
    assert rc == 0 and re.match(r"0x[0-9A-F]{8}", out.strip()), out


def test_guest_panic_exits_nonzero(vms):
    """A guest kernel panic reaches memvisor through pvpanic: exit 1, one clear line."""
    vm = vms.start_vm(memory="size=512M")
    vm.wait_ready()
    rc, out = vm.run("lsmod | grep -c pvpanic")
    assert rc == 0 and int(out.strip()) >= 1, out
    vm.send("echo c > /proc/sysrq-trigger")
    assert vm.wait_exit(timeout=120) == 1
    assert "memvisor: error: the guest kernel panicked" in vm.log()


def test_powerdown_presses_the_acpi_power_button(vms):
    """system_powerdown reaches the guest as an ACPI power-button press (GED + PNP0C0C)."""
    vm = vms.start_vm(memory="size=512M", api_socket=True)
    vm.wait_ready()
    # The power button's input device; read one event from it in the background.
    rc, out = vm.run("for d in /sys/class/input/input*; do "
                     "grep -q 'Power Button' $d/name && ls $d | grep event; done")
    assert rc == 0 and out.strip().startswith("event"), out
    ev = out.strip().splitlines()[0]
    rc, out = vm.run("(dd if=/dev/input/%s bs=24 count=1 of=/tmp/ev 2>/dev/null &) ; echo ok" % ev)
    assert rc == 0
    rc, out = ctl(vm, "powerdown")
    assert rc == 0, out
    rc, out = vm.run("sleep 2; wc -c < /tmp/ev")
    assert rc == 0 and int(out.strip()) == 24, out  # one input_event: KEY_POWER
    vm.poweroff()
    assert vm.wait_exit() == 0


def test_sigterm_stops_cleanly(vms):
    """SIGTERM: memvisor stops the VM, says why in one line, exits 0."""
    vm = vms.start_vm(memory="size=512M", api_socket=True)
    vm.wait_ready()
    rc, out = vm.l1.run("kill -TERM %d" % vm.pid)
    assert rc == 0, out
    assert vm.wait_exit() == 0
    log = vm.log()
    assert "memvisor: Terminated received, stopping the VM" in log, log[-2000:]
    # The control socket is gone with it.
    rc, _ = vm.l1.run("test -e %s" % vm.api_socket)
    assert rc != 0


def test_stalled_console_does_not_hang(l1):
    """Issue 21 item 3: memvisor's stdout is a pipe nobody reads while the
    guest writes 1 MiB to its console. The vCPU never waits for the reader,
    so SIGTERM still ends memvisor within seconds (before the fix the vCPU
    sat in write() and vm_stop could never join it), and stderr says how much
    console output was dropped."""
    d = l1.vm_dir + "/stall"
    argv = ["memvisor", "--kernel", l1.l2_kernel, "--initramfs", l1.l2_initrd,
            "--cmdline", rig.L2_CMDLINE + " mv.flood=1048576", "--serial", "tty",
            "--memory", "size=512M"]
    start = (
        "rm -rf {d}; mkdir -p {d}; mkfifo {d}/f\n"
        # The reader: holds the pipe open and never reads it.
        "(exec sleep 2147483647 <{d}/f) >/dev/null 2>&1 &\n"
        "echo $! >{d}/reader\n"
        "(sh -c 'echo $$ >{d}/pid; exec \"$@\"' sh {argv} </dev/null >{d}/f 2>{d}/err;"
        " echo $? >{d}/status) </dev/null >/dev/null 2>&1 &\n"
        "i=0; while [ ! -s {d}/pid ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done\n"
        "cat {d}/pid\n"
    ).format(d=d, argv=" ".join("'%s'" % a for a in argv))
    rc, out = l1.run(start, timeout=30)
    assert rc == 0 and out.strip().isdigit(), out
    pid = int(out.strip())
    try:
        # The ring and the pipe fill; the loop says so once when it starts
        # dropping. (Before the fix a vCPU thread sat in pipe_write instead.)
        deadline = time.monotonic() + rig.scaled(240)
        while True:
            rc, err = l1.run("cat %s/err; kill -0 %d && echo __ALIVE; cat /proc/%d/task/*/wchan"
                             % (d, pid, pid))
            blocked = "pipe_write" in err
            if "output stalled" in err or "__ALIVE" not in err or blocked:
                break
            assert time.monotonic() < deadline, "the console never stalled:\n" + err
            time.sleep(2)
        assert "__ALIVE" in err, "memvisor exited early:\n" + err
        t0 = time.monotonic()
        rc, out = l1.run(
            "kill -TERM %d; i=0; while [ ! -s %s/status ] && [ $i -lt 100 ]; do sleep 0.1;"
            " i=$((i+1)); done; cat %s/status" % (pid, d, d), timeout=30)
        took = time.monotonic() - t0
        assert out.strip() == "0", "memvisor still running %.0fs after SIGTERM (status %r)" % (
            took, out)
        assert not blocked, "a memvisor thread blocked writing the console"
        rc, err = l1.run("cat %s/err" % d)
        assert "Terminated received, stopping the VM" in err, err
        m = re.search(r"serial: output stalled, (\d+) bytes dropped", err)
        assert m and int(m.group(1)) > 0, err
    finally:
        l1.run("kill -KILL %d $(cat %s/reader) 2>/dev/null; true" % (pid, d))
