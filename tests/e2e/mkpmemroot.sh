#!/usr/bin/env bash
# Build the ext4 image the virtio-pmem tests boot from (tests/e2e/test_pmem.py):
# a small tree (a static busybox, /bin/hello, /etc/pmem-root, /data) made
# into a 32M ext4 file system with 4K blocks (DAX needs the page size) by
# mkfs.ext4 -d. Cached: rebuilt only when this script or busybox is newer.
#
#   mkpmemroot.sh OUT.img
set -euo pipefail
out=${1:?usage: mkpmemroot.sh OUT.img}
die() { echo "mkpmemroot: $*" >&2; exit 1; }
mkfs=$(command -v mkfs.ext4 || true)
[ -n "$mkfs" ] || die "mkfs.ext4 not found (apt-get install e2fsprogs)"
busybox=$(command -v busybox) || die "busybox not found (apt-get install busybox-static)"
if [ -f "$out" ] && [ "$out" -nt "$0" ] && [ "$out" -nt "$busybox" ]; then
	exit 0
fi
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is not static (apt-get install busybox-static)"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/{bin,etc,data,proc,dev,tmp}
cp "$busybox" "$tree/bin/busybox"
for a in sh cat echo ls grep sync mount; do ln -s busybox "$tree/bin/$a"; done
cat >"$tree/bin/hello" <<'EOS'
#!/bin/sh
echo "hello from the pmem root: $(cat /etc/pmem-root)"
EOS
chmod 755 "$tree/bin/hello"
echo "pmem-root-v1" >"$tree/etc/pmem-root"
rm -f "$out.tmp"
"$mkfs" -q -F -b 4096 -L pmemroot -d "$tree" "$out.tmp" 32M
mv "$out.tmp" "$out"
