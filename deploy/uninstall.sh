#!/bin/sh
# Remove notaus. The journal and state in /var/lib/notaus and the configuration in /etc/notaus are
# KEPT (they are evidence) unless --purge is given.
#
#   sudo deploy/uninstall.sh [--purge] [--root DIR]
set -eu
ROOT=/
PURGE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=$2; shift 2 ;;
        --purge) PURGE=1; shift ;;
        -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "uninstall.sh: unknown option $1" >&2; exit 1 ;;
    esac
done
R=$(cd "$ROOT" && pwd); R=${R%/}
SYSTEMD_UP=0
if [ -z "$R" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then SYSTEMD_UP=1; fi
if [ "$SYSTEMD_UP" -eq 1 ]; then
    systemctl disable --now notaus.service 2>/dev/null || true
elif [ -z "$R" ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable notaus.service 2>/dev/null || true     # chroot/image: works offline
fi
# enablement links that systemctl could not see (a --root install, a unit edited by hand)
rm -f "$R/etc/systemd/system/notaus.service" "$R"/etc/systemd/system/*.wants/notaus.service
if [ "$SYSTEMD_UP" -eq 1 ]; then systemctl daemon-reload || true; fi
rm -rf "$R/opt/notaus"
if [ "$PURGE" -eq 1 ]; then
    rm -rf "$R/etc/notaus" "$R/var/lib/notaus"
    if [ -z "$R" ]; then
        userdel notaus 2>/dev/null || true
    elif grep -q '^notaus:' "$R/etc/passwd" 2>/dev/null; then
        userdel --prefix "$R" notaus 2>/dev/null || true
    fi
    echo "notaus: removed, including configuration, journal and state (--purge)"
else
    echo "notaus: removed; kept /etc/notaus and /var/lib/notaus (journal = evidence). --purge removes them."
fi
