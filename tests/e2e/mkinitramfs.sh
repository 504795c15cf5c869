#!/usr/bin/env bash
# Build the busybox initramfs images of the nested rig (see
# tests/e2e/README.md).
#
#   mkinitramfs.sh l2 OUT.cpio.gz
#       The VMM's guest: busybox, the virtio modules, mv-shell on ttyS0,
#       mv-vsock (guest/mv-vsock.c, built static).
#   mkinitramfs.sh l1 OUT.cpio.gz --l2-kernel VMLINUZ --l2-initrd L2.cpio.gz
#                     [--bin FILE]... [--qemu]
#       The nested host: busybox, kvm modules, mv-shell on ttyS1, mv-vm,
#       /l2/vmlinuz + /l2/initrd.gz, each --bin FILE in /bin (memvisor,
#       memvisor-ctl), and with --qemu Debian's qemu-system-x86_64 with its
#       libraries and x86 firmware; --l2-pmem IMG puts IMG at
#       /l2/pmem-root.img (the virtio-pmem tests' ext4 root).
# Kernel modules come from the package fetch-kernel.sh unpacked; their
# dependencies are resolved with modinfo and loaded in dependency order.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
die() { echo "mkinitramfs: $*" >&2; exit 1; }

kind=${1:-}
out=${2:-}
[ -n "$kind" ] && [ -n "$out" ] || die "usage: mkinitramfs.sh l1|l2 OUT [options]"
shift 2
l2_kernel= l2_initrd= l2_pmem= qemu=0
bins=()
while [ $# -gt 0 ]; do
	case "$1" in
	--l2-kernel) l2_kernel=$2; shift 2 ;;
	--l2-initrd) l2_initrd=$2; shift 2 ;;
	--l2-pmem) l2_pmem=$2; shift 2 ;;
	--bin) bins+=("$2"); shift 2 ;;
	--qemu) qemu=1; shift ;;
	*) die "unknown option $1" ;;
	esac
done

"$here/fetch-kernel.sh"
# shellcheck disable=SC1091
. "${MEMVISOR_CACHE:-$HOME/.cache/memvisor}/kernel.env"
busybox=$(command -v busybox) || die "busybox not found (apt-get install busybox-static)"

# A binary and the shared libraries and loader ldd names for it.
add_dynamic() {
	local src=$1 dst=$2 lib
	mkdir -p "$root$(dirname "$dst")"
	cp -L "$src" "$root$dst"
	for lib in $(ldd "$src" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,etc,proc,sys,tmp,run,lib/modules,usr/lib,usr/share}
ln -s bin "$root/sbin"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"
if ldd "$busybox" >/dev/null 2>&1; then
	add_dynamic "$busybox" /bin/busybox
else
	cp "$busybox" "$root/bin/busybox"
fi
for a in $("$busybox" --list); do
	[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done
ln -sf bin/busybox "$root/init"
install -m 755 "$here/guest/mv-shell" "$root/bin/mv-shell"

# Path of a module's .ko by module name (kvm_amd and kvm-amd are the same).
ko_path() {
	local n=${1//-/_} f b
	for f in "${kos[@]}"; do
		b=${f##*/}
		b=${b%.ko}
		if [ "${b//-/_}" = "$n" ]; then
			echo "$f"
			return 0
		fi
	done
}
mapfile -t kos < <(find "$MODDIR/kernel" -name '*.ko')

# Copy modules and their dependencies, in load order, into /lib/modules and
# list them in /etc/modules.
declare -A seen=()
add_module() {
	local f dep name
	f=$(ko_path "$1")
	[ -n "$f" ] || die "module $1 not found under $MODDIR"
	name=${f##*/}
	name=${name%.ko}
	[ -z "${seen[$name]:-}" ] || return 0
	for dep in $(modinfo -F depends "$f" | tr , ' '); do
		add_module "$dep"
	done
	seen[$name]=1
	cp "$f" "$root/lib/modules/$name.ko"
	echo "$name" >>"$root/etc/modules"
}

: >"$root/etc/modules"
case "$kind" in
l2)
	for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
		virtio_pci virtio_mem virtio_balloon virtio-rng pvpanic-mmio button evdev \
		virtio_pmem nfit nd_pmem crc32c_generic ext4 virtio_blk virtio_net \
		vmw_vsock_virtio_transport virtiofs; do
		add_module "$m"
	done
	# busybox has no AF_VSOCK: the vsock tests' guest end, built static here.
	cc -static -O2 -Wall -Wextra -Werror -std=gnu11 -o "$root/bin/mv-vsock" \
		"$here/guest/mv-vsock.c" || die "building guest/mv-vsock.c (gcc, libc6-dev)"
	install -m 755 "$here/guest/rc.l2" "$root/etc/rc"
	cp "$here/guest/inittab.l2" "$root/etc/inittab"
	;;
l1)
	[ -f "$l2_kernel" ] && [ -f "$l2_initrd" ] || die "l1 needs --l2-kernel and --l2-initrd"
	for m in irqbypass kvm ccp kvm-amd tun; do
		add_module "$m"
	done
	install -m 755 "$here/guest/rc.l1" "$root/etc/rc"
	cp "$here/guest/inittab.l1" "$root/etc/inittab"
	install -m 755 "$here/guest/mv-vm" "$root/bin/mv-vm"
	mkdir -p "$root/l2"
	cp "$l2_kernel" "$root/l2/vmlinuz"
	cp "$l2_initrd" "$root/l2/initrd.gz"
	[ -z "$l2_pmem" ] || cp "$l2_pmem" "$root/l2/pmem-root.img"
	for b in "${bins[@]}"; do
		[ -f "$b" ] || die "--bin $b: no such file"
		if ldd "$b" >/dev/null 2>&1; then
			add_dynamic "$b" "/bin/${b##*/}"
		else
			install -m 755 "$b" "$root/bin/${b##*/}"
		fi
	done
	if [ "$qemu" = 1 ]; then
		q=$(command -v qemu-system-x86_64) || die "--qemu: qemu-system-x86_64 not found"
		add_dynamic "$q" /bin/qemu-system-x86_64
		# QEMU looks for firmware relative to its binary (/bin/../share/qemu,
		# /bin/../share/seabios): /bin is not /usr/bin here.
		ln -s usr/share "$root/share"
		mkdir -p "$root/usr/share/qemu" "$root/usr/share/seabios"
		for f in kvmvapic.bin linuxboot.bin linuxboot_dma.bin multiboot.bin \
			multiboot_dma.bin pvh.bin qboot.rom; do
			[ -e "/usr/share/qemu/$f" ] && cp -L "/usr/share/qemu/$f" "$root/usr/share/qemu/"
		done
		for f in bios-256k.bin bios.bin bios-microvm.bin acpi-dsdt.aml; do
			[ -e "/usr/share/seabios/$f" ] && cp -L "/usr/share/seabios/$f" "$root/usr/share/seabios/"
		done
	fi
	;;
*) die "unknown kind $kind (l1 or l2)" ;;
esac

mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/${out##*/}
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1 >"$out.tmp")
mv "$out.tmp" "$out"
