#!/usr/bin/env bash
# Fetch Debian's current stable kernel package (vmlinuz + uncompressed modules)
# into a cache directory, for the nested end-to-end rig. The package name is
# resolved through linux-image-amd64 every time (the ABI number moves with
# security updates); an already unpacked package is reused.
#
# Usage: fetch-kernel.sh [--print]
#   Writes $CACHE/kernel.env with KERNEL_PKG, KERNEL_VERSION, VMLINUZ, MODDIR.
#   --print also prints those lines on stdout. Quiet on success otherwise.
# Env: MEMVISOR_CACHE (default $HOME/.cache/memvisor).
set -euo pipefail

CACHE=${MEMVISOR_CACHE:-$HOME/.cache/memvisor}
PRINT=0
[ "${1:-}" = "--print" ] && PRINT=1

die() { echo "fetch-kernel: $*" >&2; exit 1; }

resolve_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
}

mkdir -p "$CACHE"
pkg=$(resolve_pkg || true)
if [ -z "$pkg" ]; then
	# apt lists are missing or stale on a fresh machine.
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq >/dev/null 2>&1 || true
	elif command -v sudo >/dev/null; then
		sudo -n apt-get update -qq >/dev/null 2>&1 || true
	fi
	pkg=$(resolve_pkg || true)
fi
if [ -z "$pkg" ]; then
	# Offline: fall back to whatever was unpacked before, newest first.
	last=$(ls -d "$CACHE"/linux-image-*-amd64 2>/dev/null | sort -V | tail -n1 || true)
	[ -n "$last" ] || die "cannot resolve the kernel package (apt-cache depends linux-image-amd64 names none)"
	pkg=$(basename "$last")
fi

dir=$CACHE/$pkg
if [ ! -f "$dir/.unpacked" ]; then
	tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download "$pkg" >/dev/null 2>"$tmp/err") ||
		die "apt-get download $pkg failed: $(tail -n1 "$tmp/err")"
	deb=$(ls "$tmp"/*.deb)
	rm -rf "$dir"
	mkdir -p "$tmp/x"
	dpkg-deb -x "$deb" "$tmp/x"
	mv "$tmp/x" "$dir"
	touch "$dir/.unpacked"
fi

vmlinuz=$(ls "$dir"/boot/vmlinuz-* 2>/dev/null | head -n1)
[ -n "$vmlinuz" ] || die "no vmlinuz in $dir/boot"
kver=${vmlinuz##*/vmlinuz-}
moddir=$dir/lib/modules/$kver
[ -d "$moddir/kernel" ] || die "no modules in $moddir"

env_file=$CACHE/kernel.env
cat >"$env_file.tmp" <<EOT
KERNEL_PKG=$pkg
KERNEL_VERSION=$kver
VMLINUZ=$vmlinuz
MODDIR=$moddir
EOT
mv "$env_file.tmp" "$env_file"
[ "$PRINT" = 1 ] && cat "$env_file"
exit 0
