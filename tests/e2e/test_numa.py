"""Guest NUMA from --numa: ACPI SRAT/SLIT as Debian's kernel sees them.

One guest with the seed's three-node distance example, CPUs and memory zones
per node, and a virtio-mem device on node 1 whose plugged memory must appear
on node 1.
"""
import re

from mvctl import ctl, devices, wait_for

MiB = 1 << 20

NUMA_ARGS = [
    "--memory-zone", "id=mem0,size=512M", "id=mem1,size=256M,hotplug_size=1G",
    "id=mem2,size=256M",
    "--numa", "guest_numa_id=0,cpus=[0-1],distances=[1@15,2@25],memory_zones=mem0",
    "guest_numa_id=1,cpus=2,distances=[0@15,2@20],memory_zones=mem1",
    "guest_numa_id=2,cpus=3,distances=[0@25,1@20],memory_zones=mem2",
]


def node_blocks(vm):
    """{node: sorted memory block numbers} from the guest's sysfs."""
    rc, out = vm.run(
        "for n in /sys/devices/system/node/node[0-9]*; do "
        "echo \"$(basename $n) $(ls -d $n/memory[0-9]* 2>/dev/null | sed 's,.*/memory,,' | "
        "tr '\\n' ' ')\"; done; cat /sys/devices/system/memory/block_size_bytes")
    assert rc == 0, out
    lines = out.strip().splitlines()
    blocks = {}
    for line in lines[:-1]:
        name, _, rest = line.strip().partition(" ")
        blocks[int(name[4:])] = sorted(int(x) for x in rest.split())
    return blocks, int(lines[-1], 16)


def node_view(vm):
    """{node: (cpulist, [distances], MemTotal KiB)} from the guest's sysfs."""
    rc, out = vm.run(
        "for n in /sys/devices/system/node/node[0-9]*; do "
        "echo \"$(basename $n) $(cat $n/cpulist) | $(cat $n/distance) | "
        "$(grep MemTotal $n/meminfo | awk '{print $4}')\"; done")
    assert rc == 0, out
    nodes = {}
    for line in out.splitlines():
        m = re.match(r"node(\d+) (\S+) \| ([\d ]+) \| (\d+)", line.strip())
        if m:
            nodes[int(m.group(1))] = (m.group(2), [int(x) for x in m.group(3).split()],
                                      int(m.group(4)))
    return nodes


def test_three_nodes_as_configured(vms):
    vm = vms.start_vm(memory="size=0,hotplug_method=virtio-mem", cpus=4, api_socket=True,
                      args=NUMA_ARGS)
    vm.wait_ready()
    nodes = node_view(vm)
    assert sorted(nodes) == [0, 1, 2], nodes
    # The seed's distance matrix, exactly.
    assert [nodes[n][1] for n in (0, 1, 2)] == [[10, 15, 25], [15, 10, 20], [25, 20, 10]]
    assert [nodes[n][0] for n in (0, 1, 2)] == ["0-1", "2", "3"]
    # Each node spans exactly its zone: zones are laid out in order from 0,
    # so node n holds the memory blocks of [start, start + size).
    blocks, block_size = node_blocks(vm)
    start = 0
    for n, size in ((0, 512), (1, 256), (2, 256)):
        first, count = start * MiB // block_size, size * MiB // block_size
        assert blocks[n] == list(range(first, first + count)), (n, blocks, block_size)
        start += size
    # MemTotal is that less what the kernel keeps: where its image, the
    # initramfs and SWIOTLB land (KASLR) decides which node pays, so only
    # a floor that leaves room for all of them in one node.
    for n, size in ((0, 512), (1, 256), (2, 256)):
        kib = nodes[n][2]
        assert size * 1024 * 0.3 <= kib <= size * 1024, (n, kib)
    assert sum(nodes[n][2] for n in nodes) >= 1024 * 1024 * 0.75, nodes

    # The virtio-mem device of zone mem1 reports node 1, and its memory lands there.
    d = devices(vm)["mem1"]
    assert d["node"] == 1, d
    before = nodes[1][2]
    rc, out = ctl(vm, "resize", "--id", "mem1", "512M", "--wait", "--timeout", "120")
    assert rc == 0, out
    after = wait_for("node 1 to grow", lambda: node_view(vm)[1][2] >= before + 500 * 1024
                     and node_view(vm)[1][2])
    assert after - before <= 512 * 1024 + 1024
    assert abs(node_view(vm)[0][2] - nodes[0][2]) < 16 * 1024  # node 0 unchanged

    rc, out = ctl(vm, "info", "numa")
    assert rc == 0, out
    assert "3 nodes" in out and "node 1 plugged: 512 MB" in out, out
    assert "node 0 cpus: 0 1" in out, out
    vm.poweroff()
    assert vm.wait_exit() == 0
