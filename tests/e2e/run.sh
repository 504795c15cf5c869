#!/usr/bin/env bash
# Run the end-to-end tests with a Python that has pytest (Debian's
# python3-pytest lives under /usr/bin/python3, which a pyenv python3 earlier
# on PATH does not see). Arguments go to pytest, e.g. -m "not qemu".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for py in python3 /usr/bin/python3; do
	if "$py" -c 'import pytest' 2>/dev/null; then
		exec "$py" -m pytest -q "$here" "$@"
	fi
done
echo "e2e: no python3 with pytest (apt-get install python3-pytest)" >&2
exit 1
