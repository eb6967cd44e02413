#!/usr/bin/env bash
# Regenerates the lock files, with every wheel's and sdist's sha256, from the requirements files:
#
#   requirements.lock      <- requirements.txt       the app: the Docker image and CI install it
#   requirements-dev.lock  <- requirements-dev.txt   the app + tests and tools: CI installs it
#                             (constrained by requirements.lock, so the app's versions are the same)
#
# Usage, from anywhere:   bash deploy/lock.sh               after editing a requirements file
#                         bash deploy/lock.sh --upgrade     move every unpinned package to its newest
#                         bash deploy/lock.sh --upgrade-package pandas
#
# uv keeps the versions already in a lock unless told to upgrade, so an edit to one requirement moves
# only what it must. One resolution for every platform (--universal) for Python 3.11 (the image's).
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
if ! python3 -m uv --version 2>/dev/null | grep -q " $UV_VERSION"; then
  python3 -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
compile() {  # compile INPUT OUTPUT [more uv options]
  local input=$1 output=$2
  shift 2
  python3 -m uv pip compile "$input" -o "$output" --universal --python-version 3.11 --generate-hashes \
    --no-config --quiet --custom-compile-command "bash deploy/lock.sh" "$@"
}
compile requirements.txt requirements.lock "$@"
compile requirements-dev.txt requirements-dev.lock --constraint requirements.lock "$@"
echo "requirements.lock: $(grep -c '^[a-z0-9]' requirements.lock) packages;" \
  "requirements-dev.lock: $(grep -c '^[a-z0-9]' requirements-dev.lock) packages"
