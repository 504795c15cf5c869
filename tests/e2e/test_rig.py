"""The rig's own behaviour when L1 dies under a test (conftest.py).

test_rig_live_failure_is_not_rerun runs by default (no VM, under a second):
a genuine failure with a live L1 must stay a failure. The dying scenarios
kill L1 in the middle of a test, once per session, and check that the test
was rerun on a new L1; they cost an L1 boot and an L2 boot each, so they
run only with MEMVISOR_E2E_RIG_SELFTEST=1:

    MEMVISOR_E2E_NESTED=1 MEMVISOR_E2E_RIG_SELFTEST=1 \\
        tests/e2e/run.sh -k 'test_rig_l1 or test_rig_live' -rA
"""

import os
import re
import time

import pytest

import rig

# Survive the rerun: the second attempt is the same test in the same process.
_ATTEMPTS = {}

selftest = pytest.mark.skipif(os.environ.get("MEMVISOR_E2E_RIG_SELFTEST") != "1",
                              reason="kills L1 on purpose: MEMVISOR_E2E_RIG_SELFTEST=1")


@pytest.mark.xfail(strict=True, reason="fails on purpose; a rerun would make it pass (XPASS: a failure)")
def test_rig_live_failure_is_not_rerun(l1):
    _ATTEMPTS["live"] = _ATTEMPTS.get("live", 0) + 1
    rc, out = l1.run("echo alive", timeout=30)
    assert "alive" in out
    assert _ATTEMPTS["live"] > 1, "the first attempt fails with L1 alive"


@selftest
@pytest.mark.parametrize("how", ["panic", "bug-and-hang"])
def test_rig_l1_death_is_rerun(l1, vms, how, request):
    if isinstance(l1, rig.Local):
        pytest.skip("no L1 to kill: VMs run on this machine")
    vm = vms.start_vm(memory="size=512M")
    vm.wait_ready()
    _ATTEMPTS[how] = _ATTEMPTS.get(how, 0) + 1
    if _ATTEMPTS[how] == 1:
        # Mid-scenario: the guest is up, a command is about to run.
        if how == "panic":
            l1.send("echo c > /proc/sysrq-trigger")  # L1 panics (its QEMU exits soon after)
        else:
            # A BUG line on L1's console (at KERN_EMERG: mv-shell keeps the
            # console at dmesg -n 1), then L1 freezes, as after the
            # stack-guard-page BUG: QEMU lives on but nothing answers.
            l1.run("echo '<0>BUG: rig self-test, L1 stops answering' > /dev/kmsg", timeout=30)
            time.sleep(1)
            os.killpg(l1.proc.pid, 19)  # SIGSTOP
        vm.run("echo unreachable", timeout=20)
        pytest.fail("the guest answered after L1 was killed")
    # The rerun: a new L1, the same scenario, and the rig said why.
    assert getattr(request.node, "rig_rerun", None), "second attempt without a recorded L1 death"
    why = request.node.rig_rerun
    if how == "panic":
        assert "QEMU exited" in why or "Kernel panic" in why, why
    else:
        assert "BUG: rig self-test" in why and "stopped answering" in why, why
        # A stopped QEMU: no CPU used, no monitor (a spinning L1 would show both).
        assert "QEMU used 0.0 s of CPU in 3 s" in why and "its monitor did not answer" in why, why
    rc, out = vm.run("echo reachable", timeout=60)
    assert rc == 0 and "reachable" in out


def test_rig_monitor_shows_l1_vcpus(l1):
    """The register dump a hang report is made of: one RIP per L1 vCPU."""
    if isinstance(l1, rig.Local):
        pytest.skip("no L1: VMs run on this machine")
    regs = l1.monitor("info registers -a")
    assert len(re.findall(r"RIP=[0-9a-f]{16}", regs)) == int(os.environ.get("MEMVISOR_E2E_L1_SMP", "2")), regs


def test_rig_vmm_lines_left_out_of_guest_output():
    """The VMM's stderr shares the console: its lines leave a guest command's
    output whole, wherever they fell."""
    out = "3\nmemvisor: autoscale: grow to 654 MiB (available below low)\n"
    assert rig.strip_vmm_lines(out) == "3\n"
    out = "Shmem:     memvisor: warning: something\n 5604 kB\n"
    assert rig.strip_vmm_lines(out) == "Shmem:      5604 kB\n"
    assert rig.strip_vmm_lines("0\n") == "0\n"
    # Inside the end marker (seen in bench/autoscale.py): the reply is still found.
    out = "__MV_BEGIN_7\nok\n__memvisor: autoscale: grow to 2412 MiB\nMV_END_7 0.\n"
    assert rig.parse_reply(rig.strip_vmm_lines(out), "__MV", 7) == (0, "ok\n")


def test_rig_l1_kvm_shadow_pages_its_guests(l1):
    """The rig's default L1 option took: L1's KVM runs its guests without
    nested paging (kvm_amd.npt=0), the setting that keeps L1 alive."""
    if isinstance(l1, rig.Local):
        pytest.skip("no L1: VMs run on this machine")
    want = os.environ.get("MEMVISOR_E2E_L1_APPEND", "kvm_amd.npt=0")
    if "kvm_amd.npt=0" not in want:
        pytest.skip("MEMVISOR_E2E_L1_APPEND=%r: nested paging left on" % want)
    rc, out = l1.run("cat /sys/module/kvm_amd/parameters/npt")
    assert rc == 0 and out.strip() in ("0", "N"), out


def test_rig_early_triple_fault_signature():
    """The quirk rerun (conftest) keys on the token rig puts in the message;
    it is put there only for a boot that triple-faulted before its ready
    marker. No VM: the console is given."""
    vm = object.__new__(rig.VM)
    boot = "__MV_READY 0123abcd-0000-0000-0000-0123456789ab\n"
    fault = "memvisor: error: the guest triple-faulted (CPU shutdown)\n"
    vm.log = lambda offset=0: "Linux version\n" + boot + "reboot\nLinux version\n" + fault
    assert vm._triple_fault_before_ready(2)
    vm.log = lambda offset=0: "Linux version\n" + boot + "reboot\nLinux version\n" + boot + fault
    assert not vm._triple_fault_before_ready(2), "both boots reached userspace"
    vm.log = lambda offset=0: "Linux version\n" + boot + "reboot\nLinux version\nmemvisor: error: exit\n"
    assert not vm._triple_fault_before_ready(2), "no triple fault"


def test_rig_early_hang_signature():
    """A second boot that started and never got to userspace (EARLY_HANG);
    not a first boot, not one that is merely slow to print its banner."""
    vm = object.__new__(rig.VM)
    boot = "__MV_READY 0123abcd-0000-0000-0000-0123456789ab\n"
    vm.log = lambda offset=0: "Linux version 6.1\n" + boot + "reboot\nLinux version 6.1\nfound SM"
    assert vm._hung_after_reboot(2)
    vm.log = lambda offset=0: "Linux version 6.1\n" + boot + "reboot\n"
    assert not vm._hung_after_reboot(2), "the second boot never started"
    vm.log = lambda offset=0: "Linux version 6.1\nfound SM"
    assert not vm._hung_after_reboot(2), "the first boot did not finish"


def test_rig_exit_after_running_triple_fault_signature():
    """A VMM that exits non-zero because its running guest triple-faulted
    (nested only) raises RUNNING_TRIPLE_FAULT; any other non-zero exit is
    returned for the test to judge. No VM: the console and status are given."""
    vm = object.__new__(rig.VM)
    vm.name = "mv-fake"
    vm.l1 = object.__new__(rig.L1)
    vm.l1.vm_dir = "/run/vm"
    vm.l1.run = lambda cmd, timeout=None: (0, "1\n")
    vm._mv = lambda args, timeout=None: (0, "1\n")
    boot = "__MV_READY 0123abcd-0000-0000-0000-0123456789ab\n"
    fault = "memvisor: error: the guest triple-faulted (CPU shutdown)\n"
    vm.argv = ["memvisor", "--memory", "size=512M"]
    vm.log = lambda offset=0: "Linux version\n" + boot + "reboot: Power down\n" + fault
    with pytest.raises(rig.RigError) as e:
        vm.wait_exit(timeout=1)
    assert rig.RUNNING_TRIPLE_FAULT in str(e.value), e.value
    # A restored guest never announces itself on the new console; it was running when saved.
    vm.argv = ["memvisor", "--restore", "source_url=file:///run/vm/x.snap"]
    vm.log = lambda offset=0: fault
    with pytest.raises(rig.RigError) as e:
        vm.wait_exit(timeout=1)
    assert rig.RUNNING_TRIPLE_FAULT in str(e.value), e.value
    vm.argv = ["memvisor", "--memory", "size=512M"]
    vm.log = lambda offset=0: "Linux version\n" + boot + "memvisor: error: the guest kernel panicked\n"
    assert vm.wait_exit(timeout=1) == 1
    vm._mv = lambda args, timeout=None: (0, "0\n")
    vm.log = lambda offset=0: "Linux version\n" + boot + fault
    assert vm.wait_exit(timeout=1) == 0


def test_rig_running_triple_fault_found_without_a_token():
    """A failure that did not pass through VM._fail (a QMP socket gone with
    its VMM) is still put down to a running guest's triple fault when one of
    L1's VMs shows one, once per VM; a guest that never came up, or one whose
    fault was already blamed, is not. No VM: the host's answers are given."""
    l1 = object.__new__(rig.L1)
    l1.vm_dir = "/run/vm"
    boot = "__MV_READY 0123abcd-0000-0000-0000-0123456789ab\n"
    fault = "memvisor: error: the guest triple-faulted (CPU shutdown)\n"
    logs = {"mv1": boot + fault, "mv2": "Linux version\n" + fault, "mv3": boot}
    l1.run = lambda cmd, timeout=None: (0, "".join("/run/vm/%s/out\n" % n for n in logs if "fault" in logs[n]))
    vms = []
    for name in ("mv1", "mv2", "mv3"):
        vm = object.__new__(rig.VM)
        vm.l1, vm.name, vm.argv = l1, name, ["memvisor", "--memory", "size=512M"]
        vm.log = (lambda n: lambda offset=0: logs[n])(name)
        l1._started(vm)
        vms.append(vm)
    assert l1.running_triple_faults() == [vms[0]]
    assert l1.running_triple_faults() == [], "each fault is blamed once"
    vms[1].argv = ["memvisor", "--restore", "source_url=file:///run/vm/x.snap"]
    assert l1.running_triple_faults() == [vms[1]], "a restored guest was running"
