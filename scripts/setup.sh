#!/usr/bin/env bash
# Installs what memvisor needs to build and test on Debian 12 (run as root).
# Idempotent: installs only what is missing.
set -euo pipefail

PKGS=(gcc make libc6-dev pkg-config libjson-c-dev libnuma-dev libcmocka-dev
      clang libclang-rt-14-dev clang-format
      qemu-system-x86 busybox-static cpio kmod gzip python3 python3-pytest
      acpica-tools socat)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	echo "setup: installing ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi
