"""Hostile input, item 3: every refused command line is refused with one
error line naming the option (and the value), a non-zero exit, and nothing
left behind. Runs build/memvisor directly on this machine: no KVM, no L1
(none of these tests uses the l1/vms fixtures, so the rig never boots).

Cases follow the rules of Cloud Hypervisor's memory options as
src/config/validate.c implements them. "@T@" in an argument is the test's temporary
directory (file= and --api-socket paths point there; it must stay empty).
"""

import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("MEMVISOR_BUILD", os.path.join(REPO, "build"))
MEMVISOR = os.path.join(BUILD, "memvisor")

VMEM = "--memory", "size=0,hotplug_method=virtio-mem"
ZONES0 = "--memory", "size=0"


def case(id_, args, *expect, marks=()):
    return pytest.param(list(args), list(expect), id=id_, marks=marks)


# (args after --dry-run, substrings the single error line must contain)
CASES = [
    # --- the command line itself
    case("unknown-option", ["--memroy", "size=1G"], "--memroy", "unknown option"),
    case("unexpected-argument", ["size=1G"], "size=1G"),
    case("option-twice", ["--memory", "size=1G", "--memory", "size=2G"], "--memory", "twice"),
    case("option-needs-value", ["--memory"], "--memory", "needs a value"),
    case("flag-with-value", ["--version=1"], "--version", "no value"),
    case("empty-value", ["--memory", ""], "--memory", "empty"),
    case("unknown-key", ["--memory", "size=1G,sise=2G"], "--memory", "unknown key", "sise"),
    case("unknown-zone-key", [*ZONES0, "--memory-zone", "id=a,size=1G,colour=red"],
         "--memory-zone", "colour"),
    case("duplicate-key", ["--memory", "size=1G,size=2G"], "--memory", "size", "twice"),
    case("stray-comma", ["--memory", "size=1G,,shared=on"], "--memory", "empty item"),
    case("not-key-value", ["--memory", "size=1G,shared"], "--memory", "shared", "key=value"),
    case("unbalanced-brackets", ["--numa", "guest_numa_id=0,cpus=[0-1"], "--numa", "unbalanced"),
    # --- sizes
    case("malformed-size", ["--memory", "size=1Q"], "--memory", "size=1Q", "not a size"),
    case("malformed-size-suffix", ["--memory", "size=1GB"], "--memory", "size=1GB", "not a size"),
    case("negative-size", ["--memory", "size=-1G"], "--memory", "size=-1G", "not a size"),
    case("empty-size", ["--memory", "size="], "--memory", "size=", "not a size"),
    case("overflowing-size", ["--memory", "size=99999999999999999999"], "--memory",
         "size=99999999999999999999", "too large"),
    case("overflowing-size-suffix", ["--memory", "size=17179869184G"], "--memory",
         "size=17179869184G", "too large"),
    case("size-not-page-multiple", ["--memory", "size=1000"], "--memory", "size=1000",
         "multiple"),
    case("zone-size-not-page-multiple", [*ZONES0, "--memory-zone", "id=a,size=4097"],
         "--memory-zone id=a", "size=4097", "multiple"),
    case("size-not-hugepage-multiple", ["--memory", "size=1025M,hugepages=on,hugepage_size=2M"],
         "--memory", "size=1025M", "multiple", "2M"),
    case("total-overflows", [*ZONES0, "--memory-zone", "id=a,size=8388608T", "id=b,size=8388608T"],
         "--memory-zone", "overflow"),
    case("bad-bool", ["--memory", "size=1G,shared=yes"], "--memory", "shared=yes", "on or off"),
    case("bad-hotplug-method", ["--memory", "size=1G,hotplug_method=dimm"], "--memory",
         "hotplug_method=dimm", "acpi or virtio-mem"),
    # --- hugepages
    case("hugepage-size-without-hugepages", ["--memory", "size=1G,hugepage_size=2M"], "--memory",
         "hugepage_size=2M", "hugepages=on"),
    case("hugepage-size-not-pow2", ["--memory", "size=1G,hugepages=on,hugepage_size=3M"],
         "--memory", "hugepage_size=3M", "power of two"),
    case("hugepage-size-not-offered", ["--memory", "size=1G,hugepages=on,hugepage_size=16M"],
         "--memory", "hugepage_size=16M", "does not offer"),
    case("zone-hugepage-size-without-hugepages",
         [*ZONES0, "--memory-zone", "id=a,size=1G,hugepage_size=2M"], "--memory-zone id=a",
         "hugepage_size=2M", "hugepages=on"),
    case("hugepages-file-not-hugetlbfs",
         [*ZONES0, "--memory-zone", "id=a,size=64M,hugepages=on,file=@T@/zone"],
         "--memory-zone id=a", "hugepages=on", "@T@/zone", "hugetlbfs"),
    # --- host_numa_node / file
    case("host-numa-node-missing", [*ZONES0, "--memory-zone", "id=a,size=1G,host_numa_node=63"],
         "--memory-zone id=a", "host_numa_node=63", "no such NUMA node"),
    case("host-numa-node-not-number", [*ZONES0, "--memory-zone", "id=a,size=1G,host_numa_node=-1"],
         "--memory-zone", "host_numa_node=-1"),
    case("file-parent-missing", [*ZONES0, "--memory-zone", "id=a,size=64M,file=@T@/no/such/zone"],
         "--memory-zone id=a", "file=@T@/no/such/zone", "does not exist"),
    case("file-not-regular", [*ZONES0, "--memory-zone", "id=a,size=64M,file=/dev/null"],
         "--memory-zone id=a", "file=/dev/null", "not a regular file"),
    case("file-empty-path", [*ZONES0, "--memory-zone", "id=a,size=64M,file="], "--memory-zone",
         "file=", "empty path"),
    case("file-dir-missing-trailing-slash",
         [*ZONES0, "--memory-zone", "id=a,size=64M,file=@T@/nodir/"], "--memory-zone id=a",
         "file=@T@/nodir/", "directory does not exist"),
    # --- zones vs --memory
    case("zones-without-size-0", ["--memory", "size=1G", "--memory-zone", "id=a,size=1G"],
         "--memory-zone", "size=0", "size=1G"),
    case("zones-with-default-memory", ["--memory-zone", "id=a,size=1G"], "--memory-zone",
         "size=0"),
    case("size-0-without-zones", ["--memory", "size=0"], "--memory", "size=0", "--memory-zone"),
    case("memory-without-size", ["--memory", "shared=on"], "--memory", "size", "mandatory"),
    case("memory-key-with-zones", ["--memory", "size=0,shared=on", "--memory-zone", "id=a,size=1G"],
         "--memory", "shared", "not allowed"),
    case("zone-without-id", [*ZONES0, "--memory-zone", "size=1G"], "--memory-zone", "id",
         "mandatory"),
    case("zone-without-size", [*ZONES0, "--memory-zone", "id=a"], "--memory-zone id=a", "size",
         "mandatory"),
    case("zone-bad-id", [*ZONES0, "--memory-zone", "id=a/b,size=1G"], "--memory-zone", "id=a/b"),
    case("zone-id-too-long", [*ZONES0, "--memory-zone", "id=%s,size=1G" % ("i" * 64)],
         "--memory-zone", "id=" + "i" * 64, "not an id"),
    case("too-many-zones", [*ZONES0, "--memory-zone"] + ["id=z%d,size=2M" % i for i in range(65)],
         "--memory-zone", "id=z64", "more than 64 zones"),
    case("value-too-long", [*ZONES0, "--memory-zone", "id=a,size=1G,file=/" + "a" * 5000],
         "--memory-zone", "file", "too long"),
    case("duplicate-zone-id", [*ZONES0, "--memory-zone", "id=a,size=1G", "id=a,size=1G"],
         "--memory-zone id=a", "two zones"),
    case("zone-size-0-without-hotplug", [*ZONES0, "--memory-zone", "id=a,size=1G", "id=b,size=0"],
         "--memory-zone id=b", "size=0", "hotplug_size"),
    # --- hotplug
    case("hotplug-size-0", ["--memory", "size=1G,hotplug_method=virtio-mem,hotplug_size=0"],
         "--memory", "hotplug_size=0"),
    case("zone-hotplug-size-0", [*VMEM, "--memory-zone", "id=a,size=1G,hotplug_size=0"],
         "--memory-zone id=a", "hotplug_size=0"),
    case("hotplugged-size-0",
         ["--memory", "size=1G,hotplug_method=virtio-mem,hotplug_size=1G,hotplugged_size=0"],
         "--memory", "hotplugged_size=0"),
    case("hotplugged-exceeds-hotplug",
         ["--memory", "size=1G,hotplug_method=virtio-mem,hotplug_size=1G,hotplugged_size=2G"],
         "--memory", "hotplugged_size", "2G", "exceeds", "1G"),
    case("zone-hotplugged-exceeds-hotplug",
         [*VMEM, "--memory-zone", "id=a,size=1G,hotplug_size=128M,hotplugged_size=256M"],
         "--memory-zone id=a", "hotplugged_size", "256M", "exceeds"),
    case("hotplugged-without-hotplug",
         ["--memory", "size=1G,hotplug_method=virtio-mem,hotplugged_size=512M"], "--memory",
         "hotplugged_size=512M", "needs hotplug_size"),
    case("zone-hotplugged-without-hotplug",
         [*VMEM, "--memory-zone", "id=a,size=1G,hotplugged_size=512M"], "--memory-zone id=a",
         "hotplugged_size=512M", "needs hotplug_size"),
    case("hotplugged-with-acpi", ["--memory", "size=1G,hotplug_size=1G,hotplugged_size=512M"],
         "--memory", "hotplugged_size=512M", "virtio-mem"),
    case("hotplugged-with-explicit-acpi",
         ["--memory", "size=1G,hotplug_method=acpi,hotplug_size=1G,hotplugged_size=512M"],
         "--memory", "hotplugged_size=512M", "virtio-mem"),
    case("acpi-hotplug-size-not-128m", ["--memory", "size=1G,hotplug_method=acpi,hotplug_size=100M"],
         "--memory", "hotplug_size=100M", "multiple of 128M"),
    case("default-acpi-hotplug-size-not-128m", ["--memory", "size=1G,hotplug_size=1100M"], "--memory",
         "hotplug_size=1100M", "multiple of 128M"),
    case("zone-hotplug-without-virtio-mem", [*ZONES0, "--memory-zone", "id=a,size=1G,hotplug_size=1G"],
         "--memory-zone id=a", "hotplug_size=1G", "virtio-mem"),
    case("block-size-not-pow2",
         ["--memory", "size=1G,hotplug_method=virtio-mem,hotplug_size=1G,block_size=3M"],
         "--memory", "block_size=3M", "power of two"),
    case("block-size-too-small",
         ["--memory", "size=1G,hotplug_method=virtio-mem,hotplug_size=1G,block_size=4K"],
         "--memory", "block_size=4K", "minimum"),
    case("block-size-below-hugepage",
         ["--memory", "size=1G,hugepages=on,hugepage_size=2M,hotplug_method=virtio-mem,"
          "hotplug_size=1G,block_size=1M"], "--memory", "block_size=1M", "2M"),
    case("block-size-without-hotplug", ["--memory", "size=1G,block_size=2M"], "--memory",
         "block_size", "hotplug_size"),
    case("hotplug-size-not-block-multiple",
         ["--memory", "size=1G,hotplug_method=virtio-mem,hotplug_size=1152M,block_size=256M"],
         "--memory", "hotplug_size=1152M", "block_size"),
    case("hotplug-size-not-128M-multiple",
         ["--memory", "size=1G,hotplug_method=virtio-mem,hotplug_size=130M"], "--memory",
         "hotplug_size=130M", "128M"),
    case("zone-hotplug-size-not-128M-multiple",
         [*VMEM, "--memory-zone", "id=a,size=1G,hotplug_size=64M"], "--memory-zone id=a",
         "hotplug_size=64M", "128M"),
    case("hotplugged-not-block-multiple",
         ["--memory", "size=1G,hotplug_method=virtio-mem,hotplug_size=1G,hotplugged_size=1M"],
         "--memory", "hotplugged_size=1M", "block_size"),
    # --- NUMA
    case("numa-without-id", ["--numa", "cpus=0"], "--numa", "guest_numa_id", "mandatory"),
    case("numa-id-too-big", ["--numa", "guest_numa_id=64"], "--numa", "guest_numa_id=64"),
    case("numa-duplicate-id", ["--numa", "guest_numa_id=0", "guest_numa_id=0"], "--numa",
         "guest_numa_id=0", "twice"),
    case("numa-unknown-zone",
         [*ZONES0, "--memory-zone", "id=a,size=1G", "--numa", "guest_numa_id=0,memory_zones=b"],
         "--numa", "guest_numa_id=0", "'b'", "does not exist"),
    case("numa-zone-in-two-nodes",
         [*ZONES0, "--memory-zone", "id=a,size=1G", "--numa", "guest_numa_id=0,memory_zones=a",
          "guest_numa_id=1,memory_zones=a"], "--numa", "guest_numa_id=1", "'a'", "node 0"),
    case("numa-zone-in-no-node",
         [*ZONES0, "--memory-zone", "id=a,size=1G", "id=b,size=1G", "--numa",
          "guest_numa_id=0,memory_zones=a"], "--numa", "'b'", "no guest NUMA node"),
    case("numa-cpu-outside-cpus", ["--cpus", "boot=2", "--numa", "guest_numa_id=0,cpus=[0-2]"],
         "--numa", "guest_numa_id=0", "cpu 2", "--cpus"),
    case("numa-cpu-in-two-nodes",
         ["--cpus", "boot=4", "--numa", "guest_numa_id=0,cpus=[0-2]", "guest_numa_id=1,cpus=[2-3]"],
         "--numa", "guest_numa_id=1", "cpu 2", "node 0"),
    case("numa-cpu-not-number", ["--numa", "guest_numa_id=0,cpus=[x]"], "--numa", "cpus=[x]"),
    case("numa-cpu-range-backwards", ["--cpus", "boot=4", "--numa", "guest_numa_id=0,cpus=[3-1]"],
         "--numa", "cpus=[3-1]", "backwards"),
    case("numa-distance-undefined-node", ["--numa", "guest_numa_id=0,distances=[1@20]"], "--numa",
         "guest_numa_id=0", "node 1"),
    case("numa-distance-below-10",
         ["--numa", "guest_numa_id=0,distances=[1@5]", "guest_numa_id=1,distances=[0@20]"],
         "--numa", "guest_numa_id=0", "distance 5", "below 10"),
    case("numa-distance-self-not-10", ["--numa", "guest_numa_id=0,distances=[0@20]"], "--numa",
         "guest_numa_id=0", "itself", "20"),
    case("numa-distance-twice",
         ["--numa", "guest_numa_id=0,distances=[1@20,1@30]", "guest_numa_id=1"], "--numa",
         "guest_numa_id=0", "node 1", "twice"),
    case("numa-distance-too-big",
         ["--numa", "guest_numa_id=0,distances=[1@256]", "guest_numa_id=1"], "--numa", "1@256"),
    case("numa-distance-malformed", ["--numa", "guest_numa_id=0,distances=[1-20]"], "--numa",
         "1-20"),
    case("numa-sgx", ["--numa", "guest_numa_id=0,sgx_epc_sections=epc0"], "--numa",
         "sgx_epc_sections", "SGX is not supported"),
    # --- CPUs and the rest
    case("cpus-boot-0", ["--cpus", "boot=0"], "--cpus", "boot=0"),
    case("cpus-boot-256", ["--cpus", "boot=256"], "--cpus", "boot=256"),
    case("cpus-max-above-boot", ["--cpus", "boot=2,max=4"], "--cpus", "max=4"),
    case("cpus-max-below-boot", ["--cpus", "boot=4,max=2"], "--cpus", "max=2"),
    case("cpus-not-number", ["--cpus", "boot=two"], "--cpus", "boot=two"),
    case("serial-bad", ["--serial", "pty"], "--serial", "pty"),
    case("serial-file-empty", ["--serial", "file="], "--serial", "file="),
    case("on-reboot-bad", ["--on-reboot", "shutdown"], "--on-reboot", "shutdown"),
    case("rng-bad", ["--rng", "maybe"], "--rng", "maybe"),
    case("api-socket-empty", ["--api-socket", "path="], "--api-socket", "empty path"),
    # --- --balloon (issue 20)
    case("balloon-size-missing", ["--balloon", "deflate_on_oom=on"], "--balloon", "size="),
    case("balloon-size-bad", ["--balloon", "size=lots"], "--balloon", "size=lots", "not a size"),
    case("balloon-not-page-multiple", ["--memory", "size=1G", "--balloon", "size=1000"],
         "--balloon", "size=1000", "multiple of 4K"),
    case("balloon-as-large-as-ram", ["--memory", "size=1G", "--balloon", "size=1G"],
         "--balloon", "size=1G", "smaller than the boot RAM"),
    case("balloon-unknown-key", ["--balloon", "size=0,inflate=on"], "--balloon",
         "unknown key 'inflate'"),
    case("balloon-bool-bad", ["--balloon", "size=0,free_page_reporting=sometimes"], "--balloon",
         "free_page_reporting=sometimes", "on or off"),
    case("balloon-interval-bad", ["--balloon", "size=0,statistics_polling_interval=1s"],
         "--balloon", "statistics_polling_interval=1s"),
    case("balloon-id-of-a-zone", ["--memory", "size=1G", "--balloon", "size=0,id=mem0"],
         "--balloon", "id=mem0", "memory zone"),
    case("balloon-twice", ["--balloon", "size=0", "--balloon", "size=0"], "--balloon", "twice"),
    # --- --autoscale (issue 20)
    case("autoscale-max-missing", ["--memory", "size=512M,hotplug_method=virtio-mem,hotplug_size=1G",
                                   "--balloon", "size=0,statistics_polling_interval=1",
                                   "--autoscale", "min=512M"], "--autoscale", "max="),
    case("autoscale-no-virtio-mem", ["--memory", "size=1G", "--balloon",
                                     "size=0,statistics_polling_interval=1", "--autoscale",
                                     "min=512M,max=1G"], "--autoscale", "virtio-mem"),
    case("autoscale-no-statistics", ["--memory", "size=512M,hotplug_method=virtio-mem,hotplug_size=1G",
                                     "--balloon", "size=0", "--autoscale", "min=512M,max=1G"],
         "--autoscale", "statistics_polling_interval="),
    case("autoscale-max-past-devices", ["--memory",
                                        "size=512M,hotplug_method=virtio-mem,hotplug_size=1G",
                                        "--balloon", "size=0,statistics_polling_interval=1",
                                        "--autoscale", "min=512M,max=2G"],
         "--autoscale", "max=2G", "1536M"),
    case("autoscale-min-above-boot", ["--memory",
                                      "size=512M,hotplug_method=virtio-mem,hotplug_size=1G",
                                      "--balloon", "size=0,statistics_polling_interval=1",
                                      "--autoscale", "min=1G,max=1G"], "--autoscale", "min=1G"),
    case("autoscale-low-not-below-high", ["--memory",
                                          "size=512M,hotplug_method=virtio-mem,hotplug_size=1G",
                                          "--balloon", "size=0,statistics_polling_interval=1",
                                          "--autoscale", "min=512M,max=1G,low=60,high=40"],
         "--autoscale", "low=60", "high=40"),
    case("autoscale-low-bad", ["--autoscale", "min=512M,max=1G,low=ten"], "--autoscale",
         "low=ten"),
    # --- issue 21: refused in validation, not at start; one line whatever the value
    case("control-chars-escaped", ["--memory", "size=1\nG"], "--memory", "size=1\\nG",
         "not a size"),
    case("escape-sequence-escaped", ["--memory", "size=1G,shared=\x1b[2J"], "--memory",
         "shared=\\x1b[2J"),
    case("more-vmem-zones-than-pci-slots",
         [*VMEM, "--memory-zone"] + ["id=z%d,size=0,hotplug_size=128M" % i for i in range(31)],
         "--memory-zone", "31 zones with hotplug_size", "room for 30"),
    # --- --pmem (a directory @T@ means an unlinked temporary file in it)
    case("pmem-file-missing", ["--pmem", "file=@T@/no-image"], "--pmem id=pmem0",
         "file=@T@/no-image", "No such file"),
    case("pmem-file-mandatory", ["--pmem", "size=2M"], "--pmem id=pmem0", "file is mandatory"),
    case("pmem-size-not-2m", ["--pmem", "file=@T@,size=3M"], "--pmem id=pmem0", "size=3M",
         "multiple of 2M"),
    case("pmem-dir-needs-size", ["--pmem", "file=@T@"], "--pmem id=pmem0", "directory",
         "size is mandatory"),
    case("pmem-file-larger-than-size", ["--pmem", "file=%s,size=2M" % MEMVISOR], "--pmem id=pmem0",
         "is larger than size=2M"),
    case("pmem-duplicate-id", ["--pmem", "file=@T@,size=2M,id=p", "file=@T@,size=2M,id=p"],
         "--pmem id=p", "used by two devices"),
    case("pmem-id-of-a-zone", ["--pmem", "file=@T@,size=2M,id=mem0"], "--pmem id=mem0",
         "memory zone"),
    case("pmem-node-missing", ["--pmem", "file=@T@,size=2M,node=1"], "--pmem id=pmem0", "node=1",
         "--numa guest_numa_id=1"),
    case("pmem-nvdimm-size-not-2m", ["--pmem", "file=@T@,size=3M,model=nvdimm"],
         "--pmem id=pmem0", "size=3M", "multiple of 2M"),
    case("pmem-nvdimm-node-missing", ["--pmem", "file=@T@,size=2M,model=nvdimm,node=1"],
         "--pmem id=pmem0", "node=1", "--numa guest_numa_id=1"),
    case("pmem-model-unknown", ["--pmem", "file=@T@,size=2M,model=dimm"], "--pmem model=dimm",
         "expected virtio-pmem or nvdimm"),
    case("pmem-above-address-limit", ["--pmem", "file=@T@,size=64T"], "--pmem id=pmem0",
         "2^46"),
    # --- --net (issue 17)
    case("net-unknown-key", ["--net", "tap=t0,offload_tso=on"], "--net", "unknown key",
         "offload_tso"),
    case("net-mac-malformed", ["--net", "mac=52:54:00:12:34"], "--net id=net0", "mac=", "not a MAC"),
    case("net-mac-multicast", ["--net", "mac=01:00:5e:00:00:01"], "--net id=net0", "multicast"),
    case("net-ip-malformed", ["--net", "ip=192.168.249"], "--net id=net0", "ip=192.168.249",
         "IPv4"),
    case("net-mask-not-contiguous", ["--net", "ip=10.0.0.1,mask=255.0.255.0"], "--net id=net0",
         "mask=255.0.255.0", "netmask"),
    case("net-mask-without-ip", ["--net", "mask=255.255.255.0"], "--net id=net0", "mask=",
         "ip="),
    case("net-mtu-too-small", ["--net", "mtu=67"], "--net id=net0", "mtu=67", "68"),
    case("net-num-queues", ["--net", "num_queues=4"], "--net id=net0", "num_queues=4", "only 2"),
    case("net-queue-size", ["--net", "queue_size=100"], "--net id=net0", "queue_size=100",
         "power of two"),
    case("net-tap-name-too-long", ["--net", "tap=a-very-long-interface"], "--net id=net0",
         "tap=a-very-long-interface", "interface name"),
    case("net-tap-twice", ["--net", "tap=t0", "tap=t0"], "--net id=net1", "tap=t0", "net0"),
    case("net-fd-and-tap", ["--net", "fd=5,tap=t0"], "--net id=net0", "fd=", "tap="),
    case("net-fd-stdio", ["--net", "fd=2"], "--net id=net0", "fd=2"),
    case("net-fd-with-ip", ["--net", "fd=5,ip=10.0.0.1"], "--net id=net0", "fd=5", "ip="),
    case("net-id-of-a-zone", ["--net", "id=mem0"], "--net id=mem0", "memory zone"),
    case("net-vhost-user", ["--net", "vhost_user=on,socket=@T@/s"], "--net id=net0",
         "vhost_user=on", "not supported"),
    case("net-too-many", ["--net"] + ["tap=t%d" % i for i in range(9)], "--net", "more than 8"),
    # --- --vsock (issue 17)
    case("vsock-cid-reserved", ["--vsock", "cid=2,socket=@T@/v.sock"], "--vsock", "cid=2",
         "reserved"),
    case("vsock-cid-any", ["--vsock", "cid=4294967295,socket=@T@/v.sock"], "--vsock",
         "cid=4294967295"),
    case("vsock-no-cid", ["--vsock", "socket=@T@/v.sock"], "--vsock", "cid= is needed"),
    case("vsock-no-socket", ["--vsock", "cid=3"], "--vsock", "socket= is needed"),
    case("vsock-twice", ["--vsock", "cid=3,socket=@T@/a", "--vsock", "cid=4,socket=@T@/b"],
         "--vsock", "given twice"),
    case("vsock-path-too-long", ["--vsock", "cid=3,socket=/tmp/" + "a" * 92], "--vsock",
         "too long"),
    case("vsock-id-of-a-zone", ["--vsock", "cid=3,socket=@T@/v,id=mem0"], "--vsock", "id=mem0"),
    case("vsock-unknown-key", ["--vsock", "cid=3,socket=@T@/v,guest_cid=4"], "--vsock",
         "guest_cid"),
]


def hugepages_state():
    """HugePages_{Total,Free,Rsvd,Surp} of this machine."""
    state = {}
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("HugePages_"):
                k, v = line.split(":")
                state[k] = int(v)
    return state


@pytest.fixture(scope="module", autouse=True)
def memvisor_built():
    if not os.access(MEMVISOR, os.X_OK):
        pytest.skip("%s missing (run make)" % MEMVISOR)


def run_refused(args, tmp_path, expect):
    """Runs memvisor with args, asserts a refusal by the rules of this file
    and returns its error line."""
    tmp = str(tmp_path)
    args = [a.replace("@T@", tmp) for a in args]
    expect = [e.replace("@T@", tmp) for e in expect]
    before = sorted(os.listdir(tmp))
    huge = hugepages_state()
    p = subprocess.run([MEMVISOR] + args, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30, cwd=tmp)
    cmd = " ".join(args)
    assert p.returncode not in (0, None), "accepted: %s\nstdout:\n%s" % (cmd, p.stdout)
    assert p.returncode > 0, "killed by signal %d: %s\n%s" % (-p.returncode, cmd, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1, "expected one error line for %s, got:\n%s" % (cmd, p.stderr)
    line = lines[0]
    assert line.startswith("memvisor: "), line
    for e in expect:
        assert e in line, "%r not in error %r" % (e, line)
    assert p.stdout == "", "a refused command printed on stdout: %r" % p.stdout
    assert sorted(os.listdir(tmp)) == before, "left behind in %s: %s" % (tmp, os.listdir(tmp))
    assert hugepages_state() == huge
    return line


@pytest.mark.parametrize("args,expect", CASES)
def test_refused_dry_run(args, expect, tmp_path):
    run_refused(["--dry-run"] + args, tmp_path, expect)


def bzimage():
    """A real bzImage (the rig's cached guest kernel) if there is one: then a
    config that validation wrongly lets through gets as far as acquiring
    memory, which the 'nothing left behind' checks would see."""
    env = os.path.join(os.environ.get("MEMVISOR_CACHE", os.path.expanduser("~/.cache/memvisor")),
                       "kernel.env")
    try:
        with open(env) as f:
            kv = dict(line.strip().split("=", 1) for line in f if "=" in line)
    except OSError:
        return None
    return kv.get("VMLINUZ") if os.path.isfile(kv.get("VMLINUZ", "")) else None


# Validation comes before anything is acquired, also without --dry-run: the
# same refusals with a kernel, memory that would be created in the temp dir
# and an API socket there.
STARTUP = [
    case("file-zone-hotplugged-exceeds",
         [*VMEM, "--memory-zone",
          "id=a,size=64M,file=@T@/zone,shared=on,hotplug_size=128M,hotplugged_size=256M",
          "--api-socket", "@T@/api.sock"], "--memory-zone id=a", "exceeds"),
    case("dir-zone-numa-unknown-zone",
         [*ZONES0, "--memory-zone", "id=a,size=64M,file=@T@", "--numa",
          "guest_numa_id=0,memory_zones=b", "--api-socket", "@T@/api.sock"], "--numa", "'b'"),
    case("hugepage-zone-cpus-bad",
         [*ZONES0, "--memory-zone", "id=a,size=64M,hugepages=on,hugepage_size=2M", "--cpus",
          "boot=0", "--api-socket", "@T@/api.sock"], "--cpus", "boot=0"),
    case("vsock-bad-cid-startup",
         ["--memory", "size=64M", "--vsock", "cid=1,socket=@T@/v.sock", "--api-socket",
          "@T@/api.sock"], "--vsock", "cid=1"),
    case("file-zone-bad-serial",
         ["--memory", "size=64M", "--serial", "bogus", "--api-socket", "@T@/api.sock"], "--serial",
         "bogus"),
]


@pytest.mark.parametrize("args,expect", STARTUP)
def test_refused_at_startup(args, expect, tmp_path):
    kernel = bzimage() or "/etc/hostname"
    run_refused(["--kernel", kernel] + args, tmp_path, expect)


def test_missing_kernel(tmp_path):
    run_refused(["--memory", "size=64M", "--api-socket", "@T@/api.sock"], tmp_path,
                ["--kernel", "required"])


def test_kernel_not_bzimage(tmp_path):
    k = tmp_path / "vmlinuz"
    k.write_bytes(b"\x7fELF" + bytes(8192))
    run_refused(["--kernel", "@T@/vmlinuz", "--memory", "size=0", "--memory-zone",
                 "id=a,size=64M,file=@T@/zone", "--api-socket", "@T@/api.sock"],
                tmp_path, ["--kernel", "@T@/vmlinuz", "bzImage"])


def test_kernel_missing(tmp_path):
    run_refused(["--kernel", "@T@/nope", "--memory", "size=0", "--memory-zone",
                 "id=a,size=64M,file=@T@/zone", "--api-socket", "@T@/api.sock"],
                tmp_path, ["--kernel", "@T@/nope"])


def test_kernel_unreadable(tmp_path):
    if os.geteuid() == 0:
        # root reads a mode 000 file; a directory is unreadable as a file.
        k = tmp_path / "kdir"
        k.mkdir()
        path = "@T@/kdir"
    else:
        k = tmp_path / "vmlinuz"
        k.write_bytes(b"x")
        k.chmod(0)
        path = "@T@/vmlinuz"
    run_refused(["--kernel", path, "--memory", "size=64M", "--api-socket", "@T@/api.sock"],
                tmp_path, ["--kernel", path])


def test_accepted_config_is_not_refused(tmp_path):
    """The harness's own check: a valid config passes --dry-run (so a refusal
    above is about the one thing each case breaks)."""
    p = subprocess.run([MEMVISOR, "--dry-run", "--memory", "size=0,hotplug_method=virtio-mem",
                        "--memory-zone", "id=a,size=1G", "id=b,size=64M,file=%s,shared=on" % tmp_path,
                        "id=c,size=256M,hotplug_size=1G,hotplugged_size=256M",
                        "--numa", "guest_numa_id=0,cpus=[0-1],memory_zones=[a,b],distances=[1@20]",
                        "guest_numa_id=1,cpus=2,memory_zones=c,distances=[0@20]",
                        "--cpus", "boot=3"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args", [
    ["--memory", "size=512M,hotplug_method=virtio-mem,hotplug_size=384M"],
    [*VMEM, "--memory-zone", "id=big,size=1G,hotplug_size=4T"]
    + ["id=z%d,size=0,hotplug_size=%dM" % (i, 384 * (i % 3 + 1)) for i in range(29)],
    ["--memory", "size=1G,hotplug_method=virtio-mem,hotplug_size=4194176M"],
    [*VMEM, "--memory-zone", "id=b,size=1G,hotplug_size=2097024M",
     "id=a,size=0,hotplug_size=2097024M"],
], ids=["384M", "30-zones", "4T-less-128M", "two-2T-zones"])
def test_hotplug_sizes_accepted(args, tmp_path):
    """Region sizes that are odd multiples of 128M, and many regions beside a
    huge one, pass --dry-run (a region's slots follow its plugged runs)."""
    p = subprocess.run([MEMVISOR, "--dry-run"] + args, capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""


def test_ram_too_small_for_kernel(tmp_path):
    """Checked at start-up, once the kernel's needs are known, before any
    memory is created (the file= zone must not appear)."""
    kernel = bzimage()
    if not kernel:
        pytest.skip("no cached guest kernel (tests/e2e/fetch-kernel.sh)")
    run_refused(["--kernel", kernel, "--memory", "size=0", "--memory-zone",
                 "id=small,size=16M,file=@T@/zone,shared=on", "--api-socket", "@T@/api.sock"],
                tmp_path, ["--memory-zone id=small", "16M", "too little"])


@pytest.mark.skipif(os.path.exists("/dev/kvm"), reason="needs a host without /dev/kvm")
def test_failed_start_removes_created_file(tmp_path):
    kernel = bzimage()
    if not kernel:
        pytest.skip("no cached guest kernel (tests/e2e/fetch-kernel.sh)")
    p = subprocess.run([MEMVISOR, "--kernel", kernel, "--memory", "size=0", "--memory-zone",
                        "id=a,size=128M,file=%s/zone,shared=on" % tmp_path],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "/dev/kvm" in p.stderr, p.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_file_on_full_filesystem(tmp_path):
    """A shared file= zone on a filesystem without room is refused at start,
    with the figures, instead of the host faulting when the guest touches it."""
    kernel = bzimage()
    if not kernel:
        pytest.skip("no cached guest kernel (tests/e2e/fetch-kernel.sh)")
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16M", "memvisor-test", str(small)],
                   check=True)
    try:
        line = run_refused(["--kernel", kernel, "--memory", "size=0", "--memory-zone",
                            "id=mem0,size=512M",
                            "id=f,size=64M,file=%s/zone,shared=on" % small],
                           small, ["--memory-zone id=f", "file=", "16M free", "needs 64M"])
        assert "kvm" not in line.lower()
    finally:
        subprocess.run(["umount", str(small)], check=True)
