"""pytest fixtures of the nested end-to-end rig (see rig.py, README.md).

- l1:  one L1 per session (booted on first use, rebooted if it died,
       always powered off at the end). On a machine with a usable /dev/kvm
       it is a rig.Local instead (VMs run directly; MEMVISOR_E2E_NESTED=1
       forces the nested rig).
- vms: per test; vms.start_vm(...) / vms.start_qemu(...) start VMMs in L1
       and kill whatever is left when the test ends, printing the console
       of each VM of a failed test.
Dead L1s: when a test that uses L1 fails and L1 turns out dead (its QEMU
exited, or its console shows a kernel BUG/panic/oops and it stops
answering; the emulated SVM rarely kills L1 this way), the L1 is killed, a
new one boots and the test runs again, at most four times
(MEMVISOR_E2E_RIG_RERUN=N sets the bound) and while the session has spent
less than 20 minutes on reruns (MEMVISOR_E2E_RERUN_BUDGET=S); the terminal summary lists each
such restart ("rig: L1 died during ..."). A failure with a live L1 is a
failure: no rerun. The same reruns follow the emulated SVM's other
known quirk: a guest that triple-faults during early boot on a boot after a
reboot, or again after the rig restarted its first boot in place
(rig.EARLY_TRIPLE_FAULT in the failure), listed as "rig: rerun of ...";
so does a boot after a reboot that hung before userspace (rig.EARLY_HANG),
and a guest that triple-faulted after it was up, in the nested rig only
(rig.RUNNING_TRIPLE_FAULT: seen once in eleven cow restores; also
raised by VM.wait_exit when the VMM exited non-zero after such a fault).
MEMVISOR_E2E_RIG_RERUN=0 turns them off.
Markers: qemu (the test runs QEMU inside L1; deselect with -m "not qemu"),
soak (repeats a scenario under load for minutes; deselect with -m "not soak").
Environment: MEMVISOR_E2E_QEMU=0|1 forces QEMU out of / into L1 (default:
in when a selected test is marked qemu); MEMVISOR_E2E_TIMEOUT_SCALE
multiplies timeouts; MEMVISOR_BUILD names the build directory.
"""

import os
import sys
import time

import pytest
from _pytest.runner import call_and_report, show_test_item

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rig  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "qemu: runs QEMU -accel kvm inside L1 (rig self-test, comparisons)")
    config.addinivalue_line("markers", "measure: records a figure for the README (slow); "
                            "deselected by tests/run-all.sh unless MEMVISOR_E2E_MEASURE=1")
    config.addinivalue_line("markers", "soak: repeats a scenario many times under load (minutes); "
                            "deselect with -m \"not soak\"")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


# The session's L1 manager (set by the _l1_manager fixture) and the restarts
# of dead L1s: (test nodeid, why, outcome of the rerun).
_MANAGER = None
RESTARTS = []
_RIG_USED = False


def _rig_line():
    nested, why = rig.use_nested()
    return "rig: %s: %s" % ("VMs in the nested rig (L1 under TCG)" if nested else "VMs on this machine's /dev/kvm",
                            why)


def pytest_report_header(config):
    return _rig_line()


def _attempt(item, nextitem, rerun_possible):
    """One run of item (setup, call, teardown) without logging, as pytest's
    runtestprotocol. Returns (reports, why L1 died or None). When L1 died
    and a rerun may follow, everything below the session is torn down (the
    module fixtures that hold VMs in the dead L1 too), not the session's
    fixtures (the artifacts, the L1 manager)."""
    mgr = _MANAGER
    mark = (mgr.l1, mgr.l1.console_offset()) if mgr is not None and mgr.l1 is not None else (None, 0)
    hasrequest = hasattr(item, "_request")
    if hasrequest and not item._request:
        item._initrequest()
    reports = [call_and_report(item, "setup", log=False)]
    if reports[0].passed:
        if item.config.getoption("setupshow", False):
            show_test_item(item)
        if not item.config.getoption("setuponly", False):
            reports.append(call_and_report(item, "call", log=False))
    died = None
    mgr = _MANAGER
    if any(r.failed for r in reports) and mgr is not None and mgr.l1 is not None:
        since = mark[1] if mark[0] is mgr.l1 else 0
        died = mgr.l1.death(since)
        if died:
            # Now, so the test's teardown does not wait on a dead L1.
            mgr.discard()
        elif any(r.failed and rig.EARLY_TRIPLE_FAULT in r.longreprtext for r in reports):
            # L1 lives; its guest hit the emulated SVM's early-boot quirk on a
            # later boot (a first boot is restarted by the rig itself).
            died = "a guest triple-faulted during early boot (nested-SVM quirk; L1 alive)"
        elif any(r.failed and rig.EARLY_HANG in r.longreprtext for r in reports):
            died = "a guest hung in early boot after a reboot (nested-SVM quirk; L1 alive)"
        elif any(r.failed and rig.RUNNING_TRIPLE_FAULT in r.longreprtext for r in reports):
            died = "a running guest triple-faulted (nested-SVM quirk?; L1 alive)"
        elif isinstance(mgr.l1, rig.L1) and mgr.l1.running_triple_faults():
            # The failure came another way (the VMM's QMP socket went with
            # it) but a guest of this L1 triple-faulted while up: the same quirk.
            died = "a running guest triple-faulted (nested-SVM quirk?; L1 alive)"
    teardown_to = item.session if died and rerun_possible else nextitem
    reports.append(call_and_report(item, "teardown", log=False, nextitem=teardown_to))
    if hasrequest:
        item._request = False
        item.funcargs = None
    return reports, died


def _rerun_why(name, why):
    if "nested-SVM quirk" in why:
        return "rig: rerun of %s: %s" % (name, why)
    return "rig: L1 died during %s (%s); restarted" % (name, why)


def _env_int(name, default):
    try:
        return max(0, int(os.environ.get(name, str(default))))
    except ValueError:
        return default


def _max_reruns():
    """Reruns of a test whose L1 died (or hit the quirk): MEMVISOR_E2E_RIG_RERUN,
    default 4. The rate is per minute of nested guest time: CI's loaded 2-core
    machine lost L1 nine times in one 33-minute e2e run and three times in a
    row in one 4-minute test, so a long test needs more than two reruns."""
    return _env_int("MEMVISOR_E2E_RIG_RERUN", 4)


def _rerun_budget():
    """Seconds the whole session may spend on reruns (MEMVISOR_E2E_RERUN_BUDGET,
    default 1200): a rig that keeps dying fails the run instead of running
    it past CI's time limit."""
    return _env_int("MEMVISOR_E2E_RERUN_BUDGET", 1200)


_RERUN_SECONDS = [0.0]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """Tests that use L1: rerun when L1 died under them (see above)."""
    if "_l1_manager" not in item.fixturenames or _max_reruns() == 0:
        return None
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    reruns = _max_reruns()

    def budget_left():
        return _RERUN_SECONDS[0] < _rerun_budget()

    reports, died = _attempt(item, nextitem, rerun_possible=reruns > 0 and budget_left())
    attempt = 0
    while died and attempt < reruns:
        if not budget_left():
            sys.stderr.write("\nrig: %s lost to the rig (%s); no rerun: the session's rerun budget "
                             "(%d s, MEMVISOR_E2E_RERUN_BUDGET) is spent\n" % (item.name, died, _rerun_budget()))
            RESTARTS.append((item.name, died, "not rerun: rerun budget spent"))
            break
        attempt += 1
        item.rig_rerun = died
        sys.stderr.write("\n%s; rerunning the test (%d of at most %d)\n"
                         % (_rerun_why(item.name, died), attempt, reruns))
        t0 = time.monotonic()
        reports, again = _attempt(item, nextitem, rerun_possible=attempt < reruns)
        _RERUN_SECONDS[0] += time.monotonic() - t0
        outcome = "failed" if any(r.failed for r in reports) else "passed"
        if again:
            outcome = "failed: L1 died again (%s)" % again
        RESTARTS.append((item.name, died, outcome))
        died = again
    for rep in reports:
        item.ihook.pytest_runtest_logreport(report=rep)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def pytest_terminal_summary(terminalreporter):
    # Also here: run.sh's -q hides the header.
    if _RIG_USED:
        terminalreporter.write_line(_rig_line())
    for line in rig.FIGURES:
        terminalreporter.write_line("figure: %s" % line)
    if not RESTARTS:
        return
    terminalreporter.write_sep("=", "rig: %d L1 restart(s)" % len(RESTARTS))
    for name, why, outcome in RESTARTS:
        terminalreporter.write_line("%s; test rerun: %s" % (_rerun_why(name, why), outcome))


class _L1Manager:
    def __init__(self, art):
        self.art = art
        self.l1 = None
        self.boots = 0
        self.dead = 0

    def discard(self):
        """Kill a dead L1 (its console kept as l1-console.dead-N.log); the
        next get() boots a new one."""
        if self.l1 is not None:
            self.dead += 1
            keep = None
            if isinstance(self.l1, rig.L1):
                keep = os.path.join(self.l1.workdir, "l1-console.dead-%d.log" % self.dead)
            self.l1.kill(keep_console=keep)
            self.l1 = None

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
    global _RIG_USED
    _RIG_USED = True
    nested, _ = rig.use_nested()
    try:
        return rig.build(with_qemu=with_qemu, l1=nested)
    except rig.Unavailable as e:
        pytest.skip("nested rig unavailable: %s" % e)


@pytest.fixture(scope="session")
def _l1_manager(rig_artifacts):
    global _MANAGER
    mgr = _MANAGER = _L1Manager(rig_artifacts)
    yield mgr
    mgr.close()
    _MANAGER = None


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
