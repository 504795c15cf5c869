#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every memvisor test:
# unit tests, the same under ASan+UBSan, a short fuzzing pass, and the
# end-to-end tests with real Debian guests (nested KVM when /dev/kvm is absent).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
make -j"$(nproc)"
exec tests/run-all.sh
