"""Guest memory acceptance, in real guests: what --memory / --memory-zone
ask for is what the guest sees and what memvisor's mappings in L1 are.

Two L2 boots in all. The zoned VM (module fixture) carries every zone kind
at once; each zone gets a size no other zone has, so its mapping in the
VMM's /proc/PID/smaps is found by size (each zone is its own mapping).

The file zone f0 is the second zone, so its guest-physical address is fixed
(read back from `memvisor --dry-run` in L1 rather than assumed). The guest
kernel is booted with memmap=<size>$<gpa>: Linux marks the zone reserved,
never allocates from it, and /dev/mem (STRICT_DEVMEM refuses System RAM)
lets busybox devmem write there. Without it the kernel could hand those
pages out and overwrite the pattern at any time, and devmem would be
refused anyway; with it, bytes the guest did not write must stay zero,
which the test checks too.
"""

import re

import pytest

import rig

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

ZDIR = "/tmp/mt-zdir"
ZFILE = "/tmp/mt-zone.img"
HUGEPAGES = 40  # 2M pages reserved in L1; the hugepage zone needs 32

# id -> size (bytes); all distinct, for telling mappings apart by size.
ZONES = [
    ("mem0", 768 * MiB, ""),
    ("f0", 48 * MiB, ",file=%s,shared=on" % ZFILE),
    ("mem1", 256 * MiB, ",shared=on"),
    ("mem2", 192 * MiB, ",mergeable=on,hotplug_size=1G"),
    ("hp", 64 * MiB, ",hugepages=on,hugepage_size=2M"),
    ("pf", 96 * MiB, ",prefault=on,host_numa_node=0"),
    ("d0", 32 * MiB, ",file=%s,shared=on" % ZDIR),
]
ZONED_MEMORY = "size=0,hotplug_method=virtio-mem"
ZONED_ARGS = ["--memory-zone"] + ["id=%s,size=%dM%s" % (z, s // MiB, extra) for z, s, extra in ZONES]
HOTPLUG_SIZE = 1 * GiB
SIZE = {z: s for z, s, _ in ZONES}
BOOT_RAM = sum(SIZE.values())

# Where f0's pattern goes: (offset in the zone, 32-bit value). Not in the
# last 32 bytes of a page: busybox devmem then maps the next page too.
PATTERN = [(0, 0x4D564D54), (4096 * 3 + 8, 0x11223344), (48 * MiB - 4096, 0x454E4421)]


def meminfo_l1(l1):
    _, out = l1.run("cat /proc/meminfo", timeout=30)
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+):\s+(\d+)", out, re.M)}


def hugepages_held(l1):
    """2M pages in use or reserved in L1."""
    mi = meminfo_l1(l1)
    return mi["HugePages_Total"] - mi["HugePages_Free"] + mi["HugePages_Rsvd"]


def parse_backing(dry_run):
    """The "Host backing" table of --dry-run: name -> (gpa, size)."""
    out = {}
    for m in re.finditer(r"^(\S+)\s+\d+ [KMG]iB\s+0x([0-9a-f]+) 0x([0-9a-f]+) ", dry_run, re.M):
        out[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
    return out


def mapping(maps, size):
    """The one mapping of exactly size bytes."""
    found = [m for m in maps if m.get("Size") == size // KiB]
    assert len(found) == 1, "%d mappings of %d MiB: %s" % (len(found), size // MiB, found)
    return found[0]


def e820_usable(vm):
    """The guest's firmware memory map as the kernel printed it: usable ranges."""
    _, out = vm.run("dmesg | grep 'BIOS-e820:'", check=True)
    return [(int(a, 16), int(b, 16)) for a, b in
            re.findall(r"\[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] usable", out)]


class Zoned:
    pass


@pytest.fixture(scope="module")
def zoned(_l1_manager):
    l1 = _l1_manager.get()
    z = Zoned()
    z.l1 = l1
    _, old = l1.run("cat /proc/sys/vm/nr_hugepages", timeout=10)
    l1.run("rm -rf %s %s; mkdir -p %s; echo %d > /proc/sys/vm/nr_hugepages"
           % (ZFILE, ZDIR, ZDIR, HUGEPAGES), timeout=30, check=True)
    z.huge_before = hugepages_held(l1)
    if meminfo_l1(l1)["HugePages_Free"] < SIZE["hp"] // (2 * MiB):
        pytest.skip("L1 could not reserve %d 2M hugepages" % (SIZE["hp"] // (2 * MiB)))
    rc, out = l1.run("memvisor --dry-run --memory %s %s" % (ZONED_MEMORY, " ".join(ZONED_ARGS)),
                     timeout=30)
    assert rc == 0, out
    z.backing = parse_backing(out)
    z.f0_gpa, f0_size = z.backing["f0"]
    assert f0_size == SIZE["f0"], out
    try:
        z.vm = l1.start_vm(memory=ZONED_MEMORY, args=ZONED_ARGS,
                           cmdline="memmap=%dM$0x%x" % (SIZE["f0"] // MiB, z.f0_gpa))
    except rig.Unavailable as e:
        pytest.skip(str(e))
    z.vm.wait_ready()
    # Taken once, right after boot (prefault must hold from the start).
    z.maps = z.vm.smaps()
    _, z.numa_maps = l1.run("cat /proc/%d/numa_maps" % z.vm.pid, timeout=30)
    yield z
    if l1.proc.poll() is None:
        z.vm.kill()
        l1.run("echo %s > /proc/sys/vm/nr_hugepages; rm -rf %s %s" % (old.strip() or 0, ZFILE, ZDIR),
               timeout=30)


def test_zoned_guest_sees_configured_ram(zoned):
    vm = zoned.vm
    # The layout packs the zones from GPA 0; all of it is below the PCI hole.
    usable = e820_usable(vm)
    assert usable[-1][1] + 1 == BOOT_RAM, usable
    assert sum(b + 1 - a for a, b in usable) == BOOT_RAM - (0x100000 - 0x9FC00), usable
    # MemTotal: the configured RAM less f0 (memmap= reserves it) and less
    # what the kernel keeps (image, struct pages, 64M swiotlb).
    expect = BOOT_RAM - SIZE["f0"]
    total = vm.meminfo()["MemTotal"] * KiB
    assert 0.85 * expect <= total <= expect, "MemTotal %d MiB of %d MiB" % (total // MiB, expect // MiB)
    _, iomem = vm.run("cat /proc/iomem", check=True)
    a, b = zoned.f0_gpa, zoned.f0_gpa + SIZE["f0"] - 1
    assert re.search(r"^0*%x-0*%x : Reserved" % (a, b), iomem, re.M), iomem


def test_shared_zone_is_shared_memfd(zoned):
    m = mapping(zoned.maps, SIZE["mem1"])
    assert m["perms"] == "rw-s" and "sh" in m["flags"], m
    assert "memfd:" in m["path"], m
    # Control: a zone without shared=on is private anonymous memory.
    m0 = mapping(zoned.maps, SIZE["mem0"])
    assert m0["perms"] == "rw-p" and "sh" not in m0["flags"] and m0["path"] == "", m0


def test_mergeable_zone_is_madvised(zoned):
    assert "mg" in mapping(zoned.maps, SIZE["mem2"])["flags"]
    # Only that zone (and its hotplug reserve): mergeable is per zone.
    assert "mg" not in mapping(zoned.maps, SIZE["mem0"])["flags"]
    assert "mg" not in mapping(zoned.maps, SIZE["pf"])["flags"]


def test_hotplug_reserve_is_dontdump_and_uncharged(zoned):
    m = mapping(zoned.maps, HOTPLUG_SIZE)
    assert {"dd", "nr"} <= m["flags"], m  # MADV_DONTDUMP, MAP_NORESERVE
    assert m["Rss"] == 0, m
    for z in ("mem0", "mem1", "mem2", "pf"):
        assert "dd" not in mapping(zoned.maps, SIZE[z])["flags"], z
    # The guest's virtio-mem driver found the region, nothing plugged.
    _, out = zoned.vm.run("dmesg | grep virtio_mem", check=True)
    assert re.search(r"region size: 0x%x\b" % HOTPLUG_SIZE, out), out
    assert re.search(r"plugged size: 0x0\b", out), out


def test_hugepage_zone_uses_2m_pages(zoned):
    m = mapping(zoned.maps, SIZE["hp"])
    assert m["KernelPageSize"] == 2048 and "ht" in m["flags"], m
    assert hugepages_held(zoned.l1) - zoned.huge_before == SIZE["hp"] // (2 * MiB)
    # Control: the other zones use 4K pages (THP aside).
    assert mapping(zoned.maps, SIZE["mem0"])["KernelPageSize"] == 4


def test_prefault_zone_resident_after_boot(zoned):
    m = mapping(zoned.maps, SIZE["pf"])
    assert m["Rss"] == SIZE["pf"] // KiB, m
    # Control: a zone without prefault is not all resident (mem1: shared,
    # untouched by a guest that has plenty of RAM below it).
    assert mapping(zoned.maps, SIZE["mem1"])["Rss"] < SIZE["mem1"] // KiB


def test_host_numa_node_binds_zone(zoned):
    _, nodes = zoned.l1.run("ls /sys/devices/system/node | grep '^node'", timeout=10)
    assert nodes.split() == ["node0"], nodes
    m = mapping(zoned.maps, SIZE["pf"])
    line = re.search(r"^%x (.*)$" % m["start"], zoned.numa_maps, re.M)
    assert line and "bind:0" in line.group(1).split(), zoned.numa_maps
    assert "N0=%d" % (SIZE["pf"] // (4 * KiB)) in line.group(1), line.group(1)
    # Control: a zone without host_numa_node keeps the default policy.
    m0 = mapping(zoned.maps, SIZE["mem0"])
    assert re.search(r"^%x default" % m0["start"], zoned.numa_maps, re.M), zoned.numa_maps


def test_directory_zone_is_unlinked_tmpfile(zoned):
    m = mapping(zoned.maps, SIZE["d0"])
    assert m["path"].startswith(ZDIR + "/") and m["path"].endswith("(deleted)"), m
    assert m["perms"] == "rw-s", m
    _, ls = zoned.l1.run("ls -A %s" % ZDIR, timeout=10)
    assert ls.strip() == "", "left in %s while running: %s" % (ZDIR, ls)


def test_file_zone_holds_what_the_guest_wrote(zoned):
    """Last for the zoned VM: powers it off."""
    vm, l1 = zoned.vm, zoned.l1
    m = mapping(zoned.maps, SIZE["f0"])
    assert m["path"] == ZFILE and m["perms"] == "rw-s", m
    for off, val in PATTERN:
        addr = zoned.f0_gpa + off
        rc, out = vm.run("busybox devmem 0x%x 32 0x%08x && busybox devmem 0x%x 32" % (addr, val, addr))
        assert rc == 0 and int(out.strip(), 16) == val, out
    vm.poweroff()
    assert vm.wait_exit() == 0
    _, ls = l1.run("ls -l %s" % ZFILE, timeout=10)
    assert ls.split()[4] == str(SIZE["f0"]), ls
    for off, val in PATTERN + [(4, 0), (4096, 0), (24 * MiB, 0)]:
        rc, out = l1.run("od -A n -t x4 -j %d -N 4 %s" % (off, ZFILE), timeout=10)
        assert rc == 0 and int(out.strip(), 16) == val, "offset %d: %r, want %#x" % (off, out, val)
    # After exit: the directory zone's file is gone, the hugepages are back.
    _, ls = l1.run("ls -A %s" % ZDIR, timeout=10)
    assert ls.strip() == "", "left in %s: %s" % (ZDIR, ls)
    assert hugepages_held(l1) == zoned.huge_before


def test_plain_memory_shared_prefault(vms, l1):
    """--memory without zones: shared=on,prefault=on,mergeable=on apply to the
    one boot RAM mapping; its virtio-mem reserve is dontdump and uncharged."""
    size, hp = 384 * MiB, 512 * MiB
    vm = vms.start_vm(memory="size=384M,shared=on,prefault=on,hotplug_method=virtio-mem,"
                             "hotplug_size=512M")
    vm.wait_ready()
    maps = vm.smaps()
    m = mapping(maps, size)
    assert m["perms"] == "rw-s" and "sh" in m["flags"] and "memfd:" in m["path"], m
    assert m["Rss"] == size // KiB, m
    r = mapping(maps, hp)
    assert "dd" in r["flags"] and r["Rss"] == 0, r
    assert e820_usable(vm)[-1][1] + 1 == size
    vm.poweroff()
    assert vm.wait_exit() == 0
