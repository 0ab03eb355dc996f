#!/bin/sh
# Debian packages `make test` needs beyond `make run`'s (deploy/run-deps.sh): the network lab's tools
# (lab-deps.sh), Chromium for the browser tests, poppler-utils to look at the PDF report, debootstrap
# for the chroot install test. As root: install what is missing. As a normal user: say what will skip.
set -eu
here=$(dirname "$0")
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v pdftoppm >/dev/null 2>&1 || missing="$missing poppler-utils"
command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
if [ "$(id -u)" != 0 ]; then
    [ -z "$missing" ] || echo "notaus: not root – missing Debian packages:$missing (related tests skip)"
    sh "$here/lab-deps.sh" || true
    exit 0
fi
if [ -n "$missing" ]; then
    echo "notaus: installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
sh "$here/lab-deps.sh"
