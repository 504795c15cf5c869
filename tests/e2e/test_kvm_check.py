"""memvisor --check-kvm agrees with reality, answers within 5 s on every
kind of host, and memvisor refuses a KVM that cannot run a stock guest with
one line instead of hanging (issue: a kvm_pvm /dev/kvm opens, creates VMs,
then spins in KVM_RUN forever on a stock kernel).

The first two tests run build/memvisor on this machine (no L1): whatever
this machine's /dev/kvm is, the verdict must match it. The last one runs
inside L1, whose /dev/kvm (nested SVM) is a real KVM.
"""

import os
import subprocess
import time

import pytest

import rig

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("MEMVISOR_BUILD", os.path.join(os.path.dirname(os.path.dirname(HERE)), "build"))
MEMVISOR = os.path.join(BUILD, "memvisor")
PVM = os.path.exists("/sys/module/kvm_pvm") and os.path.exists("/dev/kvm")
PVM_LINE = "this host's KVM is kvm_pvm, which runs only PVM guest kernels"


@pytest.fixture(scope="module", autouse=True)
def memvisor_built():
    if not os.access(MEMVISOR, os.X_OK):
        pytest.skip("%s missing (run make)" % MEMVISOR)


def timed(argv, timeout=30):
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail("%s did not finish within %d s (hangs)" % (" ".join(argv), timeout))
    return p, time.monotonic() - t0


def test_check_kvm_matches_this_host():
    p, took = timed([MEMVISOR, "--check-kvm"])
    assert took < 5, "--check-kvm took %.1f s" % took
    lines = p.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("memvisor: "), p.stdout + p.stderr
    assert p.stderr == ""
    if not os.path.exists("/dev/kvm"):
        assert p.returncode == 1 and "no /dev/kvm" in lines[0]
    elif PVM:
        assert p.returncode == 1 and PVM_LINE in lines[0], lines[0]
    else:
        assert p.returncode == 0 and "can run a stock guest" in lines[0], lines[0]


@pytest.mark.skipif(not PVM, reason="this host's KVM is not kvm_pvm (no /sys/module/kvm_pvm or no /dev/kvm)")
def test_pvm_host_refuses_to_boot_with_one_line():
    kernel = rig_kernel()
    p, took = timed([MEMVISOR, "--kernel", kernel, "--memory", "size=512M"], timeout=30)
    assert took < 5, "took %.1f s to refuse" % took
    assert p.returncode == 1, "exit status %d" % p.returncode
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("memvisor: ") and PVM_LINE in lines[0], lines[0]
    assert p.stdout == ""


def rig_kernel():
    p = subprocess.run([os.path.join(HERE, "fetch-kernel.sh"), "--print"], capture_output=True, text=True,
                       timeout=600)
    if p.returncode != 0:
        pytest.skip("guest kernel unavailable: " + p.stderr.strip())
    return dict(line.split("=", 1) for line in p.stdout.split())["VMLINUZ"]


def test_check_kvm_in_l1_passes_and_memvisor_boots(l1, vms):
    """L1's /dev/kvm (nested SVM, or this machine's when it is usable) runs
    stock guests: the probe says so within 5 s, and a guest boots."""
    rc, out = l1.run("a=$(cut -d' ' -f1 /proc/uptime); memvisor --check-kvm; r=$?; "
                     "echo took $a $(cut -d' ' -f1 /proc/uptime); exit $r", timeout=30)
    line = [x for x in out.splitlines() if x.startswith("memvisor: ")]
    took = [x.split() for x in out.splitlines() if x.startswith("took ")]
    assert rc == 0 and line and "can run a stock guest" in line[0], out
    if took:
        assert float(took[0][2]) - float(took[0][1]) < 5, out
    vm = vms.start_vm(memory="size=512M")
    vm.wait_ready()
    rc, out = vm.run("echo booted")
    assert rc == 0 and "booted" in out
