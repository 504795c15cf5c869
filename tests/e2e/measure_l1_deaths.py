#!/usr/bin/env python3
"""How often does L1 die under the nested rig, per L1 configuration?

    tests/e2e/measure_l1_deaths.py BOOTS SECONDS [CANDIDATE...]

For each candidate (default: "tcg" and "tcg,thread=single", the value of
QEMU's -accel for L1; "smp1" runs L1 with one vCPU; "append:OPTS" adds
L1 kernel options, module ones included, e.g. append:kvm_amd.vgif=0),
boots L1 BOOTS times;
in each, memvisor runs a 2-vCPU guest with a virtio-mem device under a
memory stress load for SECONDS (the guest fills and empties a tmpfs while
the device is resized between 256M and 1G), checking after each step
whether L1 died (rig.L1.death). Prints one line per boot and a count per
candidate: "candidate BOOTS boots, N L1 deaths". Consoles of dead L1s are
kept as l1-console.measure-*.log in the rig's work directory.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rig  # noqa: E402

MEMORY = "size=512M,hotplug_method=virtio-mem,hotplug_size=2G,hotplugged_size=256M"


def one_boot(art, cand, seconds, n):
    if cand == "smp1":
        kw = {"smp": 1}
    elif cand.startswith("append:"):
        kw = {"append": cand[len("append:"):]}
    else:
        kw = {"accel": cand}
    t0 = time.monotonic()
    l1 = rig.L1.boot(art, **kw)
    mark, why, steps = 0, None, 0
    try:
        vm = l1.start_vm(memory=MEMORY, cpus=2, api_socket=True)
        vm.wait_ready(timeout=rig.scaled(240))
        vm.run("mkdir -p /mnt/t && mount -t tmpfs -o size=900M t /mnt/t", check=True)
        end = time.monotonic() + seconds
        size = "1G"
        while time.monotonic() < end:
            l1.run("memvisor-ctl --socket %s resize --id mem0 %s" % (vm.api_socket, size), timeout=60)
            vm.run("dd if=/dev/zero of=/mnt/t/f bs=1M count=600 2>/dev/null; sync; rm -f /mnt/t/f; "
                   "echo 3 > /proc/sys/vm/drop_caches", timeout=300)
            size = "256M" if size == "1G" else "1G"
            steps += 1
    except rig.RigError as e:
        why = l1.death(mark) or ("scenario failed, L1 alive: %s" % str(e).splitlines()[0])
    else:
        why = l1.death(mark)
    finally:
        died = why is not None and "L1 alive" not in why
        # Any failure keeps the console: a death the rule missed can be found.
        keep = os.path.join(l1.workdir, "l1-console.measure-%s-%d.log" % (cand.replace(",", "_"), n)) if why else None
        l1.kill(keep_console=keep)
    print("%s boot %d: %s after %d stress steps, %.0fs" % (cand, n, "L1 DIED: " + why if died else
                                                         ("ok" if why is None else why), steps,
                                                         time.monotonic() - t0), flush=True)
    return died


def main():
    boots, seconds = int(sys.argv[1]), int(sys.argv[2])
    cands = sys.argv[3:] or ["tcg", "tcg,thread=single"]
    art = rig.build(with_qemu=False)
    counts = {}
    # Interleaved, so load from other jobs on the machine hits both alike.
    for n in range(boots):
        for cand in cands:
            counts[cand] = counts.get(cand, 0) + one_boot(art, cand, seconds, n)
    for cand in cands:
        print("%s: %d boots, %d L1 deaths" % (cand, boots, counts[cand]))


if __name__ == "__main__":
    main()
