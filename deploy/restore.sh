#!/bin/sh
# Restore a backup made by backup.sh (configuration and state), after checking its manifest.
#
#   sudo deploy/restore.sh notaus-backup.tar.gz [--root DIR] [--no-start]
#
# Every file's SHA-256 is checked against SHA256SUMS before anything is touched; the journal's hash
# chain is verified after the restore. The current /etc/notaus and /var/lib/notaus are kept next to
# the restored ones as *.before-restore-<time>.
set -eu
ROOT=/
FILE=""
START=1
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=$2; shift 2 ;;
        --no-start) START=0; shift ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "restore.sh: unknown option $1" >&2; exit 1 ;;
        *) FILE=$1; shift ;;
    esac
done
[ -n "$FILE" ] && [ -f "$FILE" ] || { echo "restore.sh: give the backup file (from backup.sh)" >&2; exit 1; }
R=$(cd "$ROOT" && pwd); R=${R%/}
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT INT TERM
tar -C "$STAGE" -xzf "$FILE"
[ -f "$STAGE/SHA256SUMS" ] || { echo "restore.sh: no SHA256SUMS in $FILE – not a notaus backup" >&2; exit 1; }
if ! (cd "$STAGE" && sha256sum --quiet -c SHA256SUMS); then
    echo "restore.sh: the backup is damaged or was changed (SHA-256 mismatch) – nothing restored" >&2
    exit 1
fi
# a running systemd only (not in a chroot building an image, where stop/start cannot work)
SYSTEMD_UP=0
if [ -z "$R" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then SYSTEMD_UP=1; fi
if [ "$SYSTEMD_UP" -eq 1 ]; then systemctl stop notaus.service 2>/dev/null || true; fi
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
for d in etc/notaus var/lib/notaus; do
    [ -d "$STAGE/$d" ] || continue
    if [ -e "$R/$d" ]; then mv "$R/$d" "$R/$d.before-restore-$STAMP"; fi
    mkdir -p "$(dirname "$R/$d")"
    cp -a "$STAGE/$d" "$R/$d"
done
if grep -q '^notaus:' "$R/etc/passwd" 2>/dev/null; then
    OWNER="$(awk -F: '$1=="notaus"{print $3":"$4}' "$R/etc/passwd")"
    chown -R "$OWNER" "$R/var/lib/notaus" 2>/dev/null || true
    chown -R "$OWNER" "$R/etc/notaus/secrets" "$R/etc/notaus/tls" "$R/etc/notaus/policy.yaml" 2>/dev/null || true
fi
if [ -f "$R/var/lib/notaus/journal.sqlite" ]; then
    PY=${NOTAUS_PYTHON:-python3}
    [ -x "$R/opt/notaus/venv/bin/python" ] && PY="$R/opt/notaus/venv/bin/python"
    "$PY" - "$R/var/lib/notaus/journal.sqlite" <<'PY' || { echo "restore.sh: restored journal does not verify" >&2; exit 1; }
import sys
from notaus.controller.journal import Journal
res = Journal(sys.argv[1]).verify()
print(f"notaus: journal {'OK' if res.ok else 'BROKEN'}: {res.checked} entries, head {res.head_hash}")
sys.exit(0 if res.ok else 1)
PY
fi
if [ "$SYSTEMD_UP" -eq 1 ] && [ "$START" -eq 1 ]; then systemctl start notaus.service; fi
echo "notaus: restored from $FILE (previous files kept as *.before-restore-$STAMP)"
