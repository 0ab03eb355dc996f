#!/bin/sh
# Upgrade notaus in place from a new source tree: back up, install, restart, check.
#
#   sudo deploy/upgrade.sh [--source DIR] [--root DIR] [--no-start] [--link-source] [--python PY]
#
# Configuration, tokens, certificate and journal stay as they are (install.sh never overwrites
# them); a backup is written to /var/lib/notaus/backups first, so a bad upgrade can be undone with
# restore.sh.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=/
SRC=$(cd "$HERE/.." && pwd)
PASS=""
START=1
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=$2; shift 2 ;;
        --source) SRC=$2; shift 2 ;;
        --no-start) START=0; PASS="$PASS --no-start"; shift ;;
        --link-source) PASS="$PASS --link-source"; shift ;;
        --python) NOTAUS_PYTHON=$2; export NOTAUS_PYTHON; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "upgrade.sh: unknown option $1" >&2; exit 1 ;;
    esac
done
R=$(cd "$ROOT" && pwd); R=${R%/}
[ -d "$R/opt/notaus" ] || { echo "upgrade.sh: notaus is not installed under $ROOT – use install.sh" >&2; exit 1; }
mkdir -p "$R/var/lib/notaus/backups"
"$HERE/backup.sh" --root "$ROOT" -o "$R/var/lib/notaus/backups/pre-upgrade-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"
# a running systemd only (not in a chroot building an image, where stop/start cannot work)
SYSTEMD_UP=0
if [ -z "$R" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then SYSTEMD_UP=1; fi
if [ "$SYSTEMD_UP" -eq 1 ]; then systemctl stop notaus.service || true; fi
# shellcheck disable=SC2086
"$SRC/deploy/install.sh" --root "$ROOT" --source "$SRC" --no-start $PASS
if [ "$SYSTEMD_UP" -eq 1 ] && [ "$START" -eq 1 ]; then
    systemctl daemon-reload
    systemctl start notaus.service
    "$R/opt/notaus/venv/bin/notaus" --config /etc/notaus/policy.yaml doctor || true
fi
echo "notaus: upgraded"
