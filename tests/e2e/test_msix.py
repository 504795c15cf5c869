"""MSI-X with Debian's stock virtio-pci driver: a vector per queue plus the
config vector for every virtio device, routed through KVM's GSI routing and
irqfds. The guest's own /proc/interrupts is the evidence: with INTx it would
show one IO-APIC line per device, named virtioN."""
import re

from mvctl import ctl, devices, qmp, wait_for

MiB = 1 << 20


def interrupts(vm):
    """{action name: total count over CPUs, chip} for the guest's virtio interrupts."""
    rc, out = vm.run("cat /proc/interrupts", check=True)
    lines = out.splitlines()
    ncpu = len(lines[0].split())
    found = {}
    for line in lines[1:]:
        f = line.split()
        if not f or not f[0].rstrip(":").isdigit() or "virtio" not in line:
            continue
        counts = [int(x) for x in f[1:1 + ncpu]]
        found[f[-1]] = (sum(counts), " ".join(f[1 + ncpu:-1]))
    return found


def test_vector_per_queue_and_config(vms):
    vm = vms.start_vm(memory="size=512M,hotplug_method=virtio-mem,hotplug_size=1G",
                      cpus=2, api_socket=True,
                      args=["--balloon", "size=0,free_page_reporting=on,statistics_polling_interval=5"])
    vm.wait_ready()
    wait_for("the virtio-mem driver", lambda: devices(vm)["mem0"]["x-driver-ready"])
    irqs = interrupts(vm)
    names = sorted(irqs)
    # Per device: virtioN-config and virtioN-<queue>; never the shared INTx line.
    assert not [n for n in names if re.fullmatch(r"virtio\d+", n)], irqs
    assert all("IO-APIC" not in chip for _, chip in irqs.values()), irqs
    by_dev = {}
    for n in names:
        m = re.fullmatch(r"(virtio\d+)-(.+)", n)
        assert m, irqs
        by_dev.setdefault(m.group(1), set()).add(m.group(2))
    queues = sorted(sorted(q) for q in by_dev.values())
    assert ["config", "guest-request"] in queues, irqs  # virtio-mem
    assert ["config", "input"] in queues, irqs  # virtio-rng
    assert ["config", "deflate", "inflate", "reporting_vq", "stats"] in queues, irqs  # virtio-balloon
    # The host's view: every virtio function with BAR1 for its MSI-X table (QEMU's query-pci).
    pci = qmp(vm, "query-pci")["return"]
    assert [b["bus"] for b in pci] == [0], pci
    virtio = [d for d in pci[0]["devices"] if d["id"]["vendor"] == 0x1AF4]
    assert len(virtio) == len(by_dev) == 3, (pci, irqs)
    for d in virtio:
        bars = {r["bar"]: r["size"] for r in d["regions"]}
        assert bars == {0: 0x4000, 1: 0x1000}, d
    mem = [d for d, q in by_dev.items() if "guest-request" in q][0]
    rng = [d for d, q in by_dev.items() if "input" in q][0]

    # A resize: the config change and the plug requests' answers, each on its vector.
    base = vm.meminfo()["MemTotal"]
    rc, out = ctl(vm, "resize", "--id", "mem0", "256M", "--wait", "--timeout", "120")
    assert rc == 0, out
    wait_for("MemTotal to grow", lambda: vm.meminfo()["MemTotal"] >= base + 250 * 1024)
    after = interrupts(vm)
    assert after[mem + "-config"][0] > irqs[mem + "-config"][0], (irqs, after)
    assert after[mem + "-guest-request"][0] >= irqs[mem + "-guest-request"][0] + 2, (irqs, after)
    # Entropy from the host answers on the rng's own queue vector.
    rc, out = vm.run("dd if=/dev/hwrng of=/dev/null bs=64 count=4 2>&1 | tail -n1", timeout=60)
    assert rc == 0, out
    again = interrupts(vm)
    assert again[rng + "-input"][0] > irqs[rng + "-input"][0], (irqs, again)
    # The balloon's statistics queue answers on its vector too (polled every 5 s).
    bal = [d for d, q in by_dev.items() if "stats" in q][0]
    wait_for("balloon statistics", lambda: interrupts(vm)[bal + "-stats"][0] > irqs[bal + "-stats"][0],
             timeout=60)
    vm.poweroff()
    assert vm.wait_exit() == 0
