"""virtio-balloon with Debian's stock virtio_balloon driver.

Two guests, each used for several checks (an L2 boot costs ~20 s in the
nested rig):

- test_free_page_reporting_stats_and_oom: free_page_reporting=on,
  deflate_on_oom=on, statistics every second. The guest fills then frees
  1 GiB of tmpfs: the VMM's RSS falls by most of it within seconds, with no
  resize, and a checksummed file the guest keeps is intact. guest-stats
  carries the guest's figures. Then the balloon takes half the guest, the
  guest needs more than is left: the driver deflates instead of the OOM
  killer running.
- test_inflate_deflate_by_qmp: a balloon of 256M from boot, no reporting.
  Freed memory stays resident (the problem reporting solves); `balloon`
  (through memvisor-ctl) inflates: MemTotal falls, the host's RSS follows, BALLOON_CHANGE reports
  it; deflating gives the memory back to the guest.
"""
import json
import time

from mvctl import ctl, qmp, wait_for

MiB = 1 << 20
GiB = 1 << 30
PATH = "/machine/peripheral/balloon0"


def ret(vm, execute, **arguments):
    """The return of a QMP command that must succeed (the reply shown if not)."""
    r = qmp(vm, execute, **arguments)
    assert "return" in r, (execute, arguments, r)
    return r["return"]


def balloon(vm):
    return ret(vm, "query-balloon")


def meminfo_kib(vm, field):
    return vm.meminfo()[field]


def tmpfs(vm, size="1800M"):
    rc, out = vm.run("mkdir -p /mnt/t && mount -t tmpfs -o size=%s t /mnt/t" % size)
    assert rc == 0, out


def fill(vm, name, mib, src="/dev/zero", timeout=300):
    rc, out = vm.run("dd if=%s of=/mnt/t/%s bs=1M count=%d 2>&1 | tail -n1" % (src, name, mib),
                     timeout=timeout)
    assert rc == 0, out
    return out


def test_free_page_reporting_stats_and_oom(vms):
    vm = vms.start_vm(memory="size=1536M", api_socket=True,
                      args=["--balloon", "size=0,free_page_reporting=on,deflate_on_oom=on,"
                            "statistics_polling_interval=1"])
    vm.wait_ready()
    wait_for("the balloon driver", lambda: balloon(vm)["x-driver-ready"])
    b = balloon(vm)
    assert b["actual"] == 1536 * MiB and b["x-target"] == 1536 * MiB, b

    # Data the guest keeps, checksummed, beside 1 GiB it fills and frees.
    tmpfs(vm)
    fill(vm, "keep", 32, src="/dev/urandom")
    _, before = vm.run("md5sum /mnt/t/keep | cut -d' ' -f1", check=True)
    fill(vm, "big", 1024)
    rss_full = vm.rss_kib()
    reported0 = balloon(vm)["x-reported-bytes"]
    rc, out = vm.run("rm /mnt/t/big")
    assert rc == 0, out
    t0 = time.monotonic()
    low = wait_for("RSS to fall after the free",
                   lambda: (lambda r: r if rss_full - r >= 700 * 1024 else None)(vm.rss_kib()),
                   timeout=60)
    fell_after = time.monotonic() - t0
    print("rss %d -> %d KiB in %.1f s" % (rss_full, low, fell_after))
    b = balloon(vm)
    assert b["x-reported-bytes"] - reported0 >= 700 * MiB, b
    assert b["x-refused-bytes"] == 0 and b["x-device-errors"] == 0, b
    # No resize: the guest still has all of its memory.
    assert b["actual"] == 1536 * MiB, b
    _, after = vm.run("md5sum /mnt/t/keep | cut -d' ' -f1", check=True)
    assert after.strip() == before.strip() and len(before.strip()) == 32, (before, after)

    # The guest's statistics, QEMU's names, refreshed every second.
    s1 = wait_for("the first statistics", lambda: (lambda r: r.get("return"))(
        qmp(vm, "qom-get", path=PATH, property="guest-stats")), timeout=30)
    assert set(s1) == {"stats", "last-update"}, s1
    st = s1["stats"]
    assert set(st) == {"stat-swap-in", "stat-swap-out", "stat-major-faults", "stat-minor-faults",
                       "stat-free-memory", "stat-total-memory", "stat-available-memory",
                       "stat-disk-caches", "stat-htlb-pgalloc", "stat-htlb-pgfail"}, st
    assert 1200 * MiB <= st["stat-total-memory"] <= 1536 * MiB, st
    assert 0 < st["stat-free-memory"] < st["stat-total-memory"], st
    assert ret(vm, "qom-get", path=PATH, property="guest-stats-polling-interval") == 1
    wait_for("fresh statistics", lambda: ret(vm, "qom-get", path=PATH, property="guest-stats")
             ["last-update"] > s1["last-update"], timeout=30)
    err = qmp(vm, "qom-set", path=PATH, property="guest-stats-polling-interval", value=-1)["error"]
    assert err == {"class": "GenericError", "desc": "timer value must be greater than zero"}

    # deflate_on_oom: the balloon takes 768M; the guest then needs more than
    # is left and takes it back from the balloon, with no OOM kill.
    ret(vm, "balloon", value=768 * MiB)
    wait_for("inflate to 768M", lambda: balloon(vm)["actual"] <= 768 * MiB, timeout=240)
    avail = meminfo_kib(vm, "MemAvailable")
    assert avail < 768 * 1024, avail
    rc, out = vm.run("rm -f /mnt/t/keep")
    assert rc == 0, out
    fill(vm, "need", 900)
    rc, out = vm.run("ls -l /mnt/t/need | awk '{print $5}'; dmesg | grep -ci 'killed process'")
    size, kills = out.split()[:2]
    assert int(size) == 900 * MiB and kills == "0", out
    b = balloon(vm)
    assert b["actual"] >= 768 * MiB + 100 * MiB, b
    vm.poweroff()
    assert vm.wait_exit() == 0


def test_inflate_deflate_by_qmp(vms):
    vm = vms.start_vm(memory="size=1536M", api_socket=True, args=["--balloon", "size=256M"])
    vm.wait_ready()
    # The balloon of 256M from the command line, inflated by the driver at boot.
    wait_for("the boot-time balloon", lambda: balloon(vm)["actual"] == 1280 * MiB, timeout=120)
    base = meminfo_kib(vm, "MemTotal")
    rc, out = ctl(vm, "info", "balloon")
    assert rc == 0 and out.startswith("balloon: actual=1280\n"), out

    # Without reporting, memory the guest frees stays with the VMM.
    tmpfs(vm)
    rss0 = vm.rss_kib()
    fill(vm, "big", 1000)
    rc, out = vm.run("rm /mnt/t/big && echo 3 > /proc/sys/vm/drop_caches")
    assert rc == 0, out
    time.sleep(5)
    rss_full = vm.rss_kib()
    assert rss_full - rss0 >= 700 * 1024, (rss0, rss_full)

    # Inflate to a 384M guest: the guest loses MemTotal, the host's RSS follows
    # (most of the 896M the balloon takes are the pages the guest freed).
    evfile = "%s/balloon-events.json" % vm.l1.vm_dir
    vm.l1.run("(memvisor-ctl --socket %s events --timeout 200 > %s 2>&1 &)" % (vm.api_socket, evfile))
    time.sleep(1)
    rc, out = ctl(vm, "balloon", "384M")
    assert rc == 0, out
    assert balloon(vm)["x-target"] == 384 * MiB
    wait_for("inflate to 384M", lambda: balloon(vm)["actual"] == 384 * MiB, timeout=240)
    shrunk = wait_for("MemTotal to fall", lambda: (lambda t: t if base - t >= 850 * 1024 else None)(
        meminfo_kib(vm, "MemTotal")), timeout=30)
    assert base - shrunk <= 896 * 1024 + 1024, (base, shrunk)
    rss_low = vm.rss_kib()
    assert rss_full - rss_low >= 600 * 1024, (rss_full, rss_low)
    b = balloon(vm)
    assert b["x-discarded-bytes"] >= (256 + 896) * MiB and b["x-refused-bytes"] == 0, b
    time.sleep(2)  # the rate limiter sends the latest value within a second
    _, out = vm.l1.run("cat %s" % evfile)
    events = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    actuals = [e["data"]["actual"] for e in events if e["event"] == "BALLOON_CHANGE"]
    assert actuals and actuals[-1] == 384 * MiB, out
    assert all(set(e["data"]) == {"actual"} for e in events if e["event"] == "BALLOON_CHANGE")

    # Deflate: the guest gets its memory back and can use it.
    ret(vm, "balloon", value=1536 * MiB)
    wait_for("deflate", lambda: balloon(vm)["actual"] == 1536 * MiB, timeout=240)
    grown = wait_for("MemTotal to grow back", lambda: (lambda t: t if t >= base + 200 * 1024 else None)(
        meminfo_kib(vm, "MemTotal")), timeout=30)
    assert grown - base <= 256 * 1024 + 1024, (base, grown)
    fill(vm, "again", 1000)
    assert vm.rss_kib() - rss_low >= 700 * 1024

    # QEMU's error for a target that is no size; no balloon target changed.
    err = qmp(vm, "balloon", value=0)["error"]
    assert err == {"class": "GenericError", "desc": "Parameter 'target' expects a size"}
    assert balloon(vm)["x-target"] == 1536 * MiB
    vm.poweroff()
    assert vm.wait_exit() == 0

