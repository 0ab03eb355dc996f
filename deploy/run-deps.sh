#!/bin/sh
# Debian packages `make run` needs: only what lets the Python that builds .venv make a venv with pip
# (python3-venv on Debian 12 / Raspberry Pi OS, where python3 comes without it). Everything else
# notaus needs to run comes from PyPI into .venv. As root: install what is missing; otherwise say how.
set -eu
PY=${PYTHON:-python3}
"$PY" -c 'import venv, ensurepip' 2>/dev/null && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "notaus: '$PY -m venv' needs the Debian package python3-venv: sudo apt-get install python3-venv" >&2
    exit 1
fi
echo "notaus: installing Debian package: python3-venv"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
