#!/usr/bin/env bash
# memvisor's main job, end to end, on a fresh Debian 12 machine: install what
# is needed, build, fetch Debian's kernel, boot a guest with a virtio-mem
# device, and resize its memory live through the control socket, printing the
# guest's MemTotal and the VMM's RSS at each step.
#
# With a /dev/kvm that can run a stock guest (memvisor --check-kvm says) the
# guest runs directly on this machine; otherwise (no /dev/kvm: CI, most cloud
# VMs; or a paravirtual kvm_pvm one) it runs inside the nested rig of
# tests/e2e: a TCG-emulated L1 with /dev/kvm, memvisor inside it (~1 minute
# more).
#
# Usage: scripts/demo.sh [--no-install] [--nested]
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
install=1
export MEMVISOR_E2E_NESTED=${MEMVISOR_E2E_NESTED:-0}
for a in "$@"; do
	case "$a" in
	--no-install) install=0 ;;
	--nested) MEMVISOR_E2E_NESTED=1 ;;
	*)
		echo "usage: $0 [--no-install] [--nested]" >&2
		exit 2
		;;
	esac
done

say() { printf '\n== %s\n' "$*"; }

if [ "$install" = 1 ]; then
	"$repo/scripts/setup.sh"
fi

say "building memvisor"
make -C "$repo" -j"$(nproc)" >/dev/null
ls -l "$repo/build/memvisor" "$repo/build/memvisor-ctl"

say "fetching Debian's kernel"
"$repo/tests/e2e/fetch-kernel.sh" --print

# Not just "is /dev/kvm there": some open fine and cannot run a stock guest
# (kvm_pvm). memvisor --check-kvm runs a probe guest and says.
if [ "$MEMVISOR_E2E_NESTED" = 1 ]; then
	say "--nested: running the guest inside the nested rig (L1 under TCG)"
elif verdict=$("$repo/build/memvisor" --check-kvm); then
	say "$verdict: running the guest directly"
else
	say "$verdict: running the guest inside the nested rig (L1 under TCG)"
	MEMVISOR_E2E_NESTED=1
fi

# /usr/bin/python3: Debian's, whatever else is first on PATH.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" - "$repo" <<'EOF'
import os
import sys
import time

sys.path.insert(0, os.path.join(sys.argv[1], "tests", "e2e"))
import rig  # noqa: E402

MEMORY = "size=512M,hotplug_method=virtio-mem,hotplug_size=4G,hotplugged_size=256M"


def step(msg):
    print("\n== " + msg, flush=True)


def show(host, vm, label):
    total = vm.meminfo()["MemTotal"]
    print("%-34s guest MemTotal %5d MiB   memvisor RSS %5d MiB" % (label, total // 1024, vm.rss_kib() // 1024), flush=True)
    return total


def ctl(host, vm, args, timeout=120):
    cmd = "memvisor-ctl --socket %s %s" % (vm.api_socket, args)
    print("$ " + cmd, flush=True)
    rc, out = host.run(cmd, timeout=timeout)
    if out.strip():
        print(out.rstrip())
    if rc != 0:
        raise SystemExit("memvisor-ctl failed (exit status %d)" % rc)


def settle(host, vm, before, timeout=60):
    """MemTotal once it stopped moving after a resize (bounded)."""
    deadline = time.monotonic() + timeout
    last, stable = before, 0
    while time.monotonic() < deadline and stable < 2:
        time.sleep(1)
        now = vm.meminfo()["MemTotal"]
        stable = stable + 1 if now == last and now != before else 0
        last = now


nested = os.environ.get("MEMVISOR_E2E_NESTED") == "1"
t0 = time.monotonic()
art = rig.build(with_qemu=False, l1=nested)
if nested:
    step("booting L1 (TCG, -cpu EPYC,+svm; provides /dev/kvm)")
    host = rig.L1.boot(art)
    print("L1 up in %.1fs" % host.boot_seconds)
else:
    host = rig.Local(art)
try:
    step("booting the guest: memvisor --memory " + MEMORY)
    vm = host.start_vm(memory=MEMORY, api_socket=True)
    vm.wait_ready()
    print("guest up (%.1fs since start)" % (time.monotonic() - t0))
    before = show(host, vm, "at boot (256M hot-plugged):")

    step("grow the virtio-mem device to 1536M, live")
    t = time.monotonic()
    ctl(host, vm, "resize --id mem0 1536M --wait")
    settle(host, vm, before)
    before = show(host, vm, "after growing (%.1fs):" % (time.monotonic() - t))

    step("the guest uses 1G of memory, then frees it")
    vm.run("mkdir -p /mnt/t && mount -t tmpfs -o size=1200M t /mnt/t && "
           "dd if=/dev/urandom of=/mnt/t/f bs=1M count=1024 2>/dev/null", timeout=600)
    show(host, vm, "while the guest holds 1G:")
    vm.run("rm /mnt/t/f && umount /mnt/t")

    step("shrink the virtio-mem device to 256M, live: the host gets the memory back")
    t = time.monotonic()
    ctl(host, vm, "resize --id mem0 256M --wait --timeout 180", timeout=240)
    settle(host, vm, before)
    show(host, vm, "after shrinking (%.1fs):" % (time.monotonic() - t))
    ctl(host, vm, "info memory-devices")
    rc, out = vm.run("dmesg | grep virtio_mem | tail -n 5")
    print(out.rstrip())

    step("guest poweroff")
    vm.poweroff()
    print("memvisor exit status %d" % vm.wait_exit())
except rig.RigError as e:
    print("\ndemo failed: %s" % e, file=sys.stderr)
    sys.exit(1)
finally:
    host.shutdown()
EOF
