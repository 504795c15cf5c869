"""pytest fixtures of the nested end-to-end rig (see rig.py, README.md).

- l1:  one L1 per session (booted on first use, rebooted if it died,
       always powered off at the end). On a machine with a usable /dev/kvm
       it is a rig.Local instead (VMs run directly; MEMVISOR_E2E_NESTED=1
       forces the nested rig).
- vms: per test; vms.start_vm(...) / vms.start_qemu(...) start VMMs in L1
       and kill whatever is left when the test ends, printing the console
       of each VM of a failed test.
Markers: qemu (the test runs QEMU inside L1; deselect with -m "not qemu").
Environment: MEMVISOR_E2E_QEMU=0|1 forces QEMU out of / into L1 (default:
in when a selected test is marked qemu); MEMVISOR_E2E_TIMEOUT_SCALE
multiplies timeouts; MEMVISOR_BUILD names the build directory.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rig  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "qemu: runs QEMU -accel kvm inside L1 (rig self-test, comparisons)")
    config.addinivalue_line("markers", "measure: records a figure for the README (slow); "
                            "deselected by tests/run-all.sh unless MEMVISOR_E2E_MEASURE=1")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


class _L1Manager:
    def __init__(self, art):
        self.art = art
        self.l1 = None
        self.boots = 0

    def get(self):
        if self.l1 is not None and self.l1.proc.poll() is not None:
            self.l1.shutdown()
            self.l1 = None
        if self.l1 is None:
            if self.art.l1_initrd is None:
                self.l1 = rig.Local(self.art)
            else:
                self.l1 = rig.L1.boot(self.art)
                print("\n[rig] L1 booted in %.1fs" % self.l1.boot_seconds)
            self.boots += 1
        return self.l1

    def close(self):
        if self.l1 is not None:
            self.l1.shutdown()
            self.l1 = None


@pytest.fixture(scope="session")
def rig_artifacts(request):
    env = os.environ.get("MEMVISOR_E2E_QEMU")
    if env is not None:
        with_qemu = env == "1"
    else:
        with_qemu = any(item.get_closest_marker("qemu") for item in request.session.items)
    nested = os.environ.get("MEMVISOR_E2E_NESTED") == "1" or not rig.kvm_usable()
    try:
        return rig.build(with_qemu=with_qemu, l1=nested)
    except rig.Unavailable as e:
        pytest.skip("nested rig unavailable: %s" % e)


@pytest.fixture(scope="session")
def _l1_manager(rig_artifacts):
    mgr = _L1Manager(rig_artifacts)
    yield mgr
    mgr.close()


@pytest.fixture
def l1(_l1_manager):
    return _l1_manager.get()


class VMs:
    def __init__(self, l1):
        self.l1 = l1
        self.started = []

    def _start(self, fn, kw):
        try:
            vm = fn(**kw)
        except rig.Unavailable as e:
            pytest.skip(str(e))
        self.started.append(vm)
        return vm

    def start_vm(self, **kw):
        """memvisor in L1; see rig.L1.start_vm."""
        return self._start(self.l1.start_vm, kw)

    def start_qemu(self, **kw):
        """QEMU -accel kvm in L1; see rig.L1.start_qemu."""
        return self._start(self.l1.start_qemu, kw)


@pytest.fixture
def vms(l1, request):
    v = VMs(l1)
    yield v
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for vm in v.started:
        if l1.proc.poll() is not None:
            break
        try:
            if failed:
                sys.stderr.write("\n--- console of %s (%s) ---\n%s\n" % (vm.name, " ".join(vm.argv), vm.log()[-8000:]))
            vm.kill()
        except rig.RigError as e:
            sys.stderr.write("[rig] cleanup of %s: %s\n" % (vm.name, e))
