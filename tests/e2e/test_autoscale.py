"""--autoscale with Debian's stock virtio_mem and virtio_balloon drivers.

One guest (512M boot RAM, a 4G virtio-mem region, balloon statistics every
second, --autoscale min=512M,max=4G,down_delay=10, a 512M swap disk) and
no agent in it:

- its workload grows step by step to 2 GiB of tmpfs (256M files, written
  at a bounded rate); the total memory follows it up, with no OOM kill and
  not one page swapped out;
- X_AUTOSCALE events carry the decision, the reason and the figures;
  `memvisor-ctl autoscale` shows the policy and its last decisions;
- the workload frees it all: the total comes back down, after down_delay,
  within a bounded time, never below min;
- a requested-size set by hand pauses the policy for the device until
  `memvisor-ctl autoscale resume`.
"""
import json
import time

from mvctl import ctl, devices, qmp, wait_for

MiB = 1 << 20
GiB = 1 << 30
BOOT = 512 * MiB


def total(vm):
    return BOOT + devices(vm)["mem0"]["size"]


def autoscale(vm):
    r = qmp(vm, "x-query-autoscale")
    assert "return" in r, r
    return r["return"]


def oom_kills(vm):
    rc, out = vm.run("dmesg | grep -ciE 'out of memory|oom-kill|killed process'")
    return int(out.split()[0])


def swapped_out(vm):
    rc, out = vm.run("grep '^pswpout ' /proc/vmstat", check=True)
    return int(out.split()[1])


def test_autoscale_follows_the_workload(vms, l1):
    swap = "%s/autoscale-swap.img" % l1.vm_dir
    rc, out = l1.run("truncate -s 512M %s" % swap)
    assert rc == 0, out
    vm = vms.start_vm(memory="size=512M,hotplug_method=virtio-mem,hotplug_size=4G",
                      api_socket=True,
                      args=["--balloon", "size=0,statistics_polling_interval=1",
                            "--autoscale", "min=512M,max=4G,down_delay=10",
                            "--disk", "path=%s,id=swap" % swap])
    vm.wait_ready()
    # A guest that can swap: the policy must grow it before it has to.
    vm.run("mkswap /dev/vda >/dev/null && swapon /dev/vda && grep -c vda /proc/swaps",
           check=True)  # fmt: skip
    wait_for("the balloon's statistics",
             lambda: autoscale(vm)["signals"].get("available", 0) > 0, timeout=60)
    a = autoscale(vm)
    assert a["policy"] == {"min": 512 * MiB, "max": 4 * GiB, "low": 20, "high": 50,
                           "up-step": 128 * MiB, "down-delay": 10}, a
    assert a["paused"] == [], a

    evfile = "%s/autoscale-events.json" % vm.l1.vm_dir
    vm.l1.run("(memvisor-ctl --socket %s events --timeout 400 > %s 2>&1 &)"
              % (vm.api_socket, evfile))
    rc, out = vm.run("mkdir -p /mnt/t && mount -t tmpfs -o size=3G t /mnt/t")
    assert rc == 0, out

    # Up: eight files of 256M, each written at about 32 MB/s (16M a half second).
    peak = 0
    for i in range(8):
        rc, out = vm.run("for j in $(seq 16); do dd if=/dev/zero of=/mnt/t/f%d bs=1M count=16 "
                         "seek=$(( (j-1)*16 )) conv=notrunc 2>/dev/null || exit 1; sleep 0.5; "
                         "done" % i, timeout=300)
        assert rc == 0, (i, out)
        time.sleep(3)
        t = total(vm)
        peak = max(peak, t)
        print("after %d MiB: total %d MiB" % ((i + 1) * 256, t // MiB))
        assert oom_kills(vm) == 0, i
    # The total followed: 2 GiB of files and what the guest uses besides, with room.
    wait_for("the total to cover the workload",
             lambda: total(vm) >= 2048 * MiB + 256 * MiB, timeout=60)
    peak = max(peak, total(vm))
    avail_kib = vm.meminfo()["MemAvailable"]
    assert avail_kib * 1024 >= 0.10 * peak, (avail_kib, peak)
    assert oom_kills(vm) == 0
    assert swapped_out(vm) == 0

    rc, out = ctl(vm, "autoscale")
    assert rc == 0, out
    assert "policy: min 512M max 4096M low 20% high 50%" in out, out
    assert " grow " in out, out

    # Down: everything freed; after down_delay the total shrinks in a few steps.
    rc, out = vm.run("rm -f /mnt/t/f* && umount /mnt/t && echo 3 > /proc/sys/vm/drop_caches")
    assert rc == 0, out
    t0 = time.monotonic()
    low = wait_for("the total to come back down",
                   lambda: (lambda t: t if t <= BOOT + 512 * MiB else None)(total(vm)),
                   timeout=10 + 150)
    took = time.monotonic() - t0
    print("peak %d MiB, down to %d MiB in %.0f s" % (peak // MiB, low // MiB, took))
    assert took >= 10, took  # not before down_delay
    assert low >= 512 * MiB
    assert oom_kills(vm) == 0
    assert swapped_out(vm) == 0  # the shrinks did not push the guest to swap either

    rc, out = vm.l1.run("cat %s" % evfile)
    events = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    ev = [e["data"] for e in events if e["event"] == "X_AUTOSCALE"]
    grows = [e for e in ev if e["decision"] == "grow"]
    shrinks = [e for e in ev if e["decision"] == "shrink"]
    assert grows and shrinks, out
    for e in ev:
        assert set(e) >= {"decision", "reason", "total", "available", "target"}, e
        assert 512 * MiB <= e["target"] <= 4 * GiB, e
    assert all(e["target"] > e["total"] for e in grows), grows
    # A shrink goes half the way to the band's middle (at least up_step): never
    # more than half of what was available, nor below what the guest used.
    assert all(e["target"] < e["total"]
               and e["total"] - e["target"] <= max(128 * MiB, e["available"] // 2)
               for e in shrinks), shrinks

    # By hand: the policy pauses for mem0 until resumed.
    rc, out = ctl(vm, "resize", "--id", "mem0", "1G", "--wait", "--timeout", "120")
    assert rc == 0, out
    assert autoscale(vm)["paused"] == ["mem0"]
    time.sleep(15)  # more than down_delay: a running policy would have shrunk it
    assert devices(vm)["mem0"]["requested-size"] == 1 * GiB
    rc, out = ctl(vm, "autoscale", "resume")
    assert rc == 0, out
    assert autoscale(vm)["paused"] == []
    wait_for("the policy to act again",
             lambda: devices(vm)["mem0"]["requested-size"] < 1 * GiB, timeout=60)
    vm.poweroff()
    assert vm.wait_exit() == 0
    l1.run("rm -f %s" % swap)
