#!/bin/sh
# Back up notaus configuration and state into one tar.gz with a SHA-256 manifest.
#
#   sudo deploy/backup.sh [-o /root/notaus-backup.tar.gz] [--root DIR]
#
# SQLite files (journal, state, tokens, incidents) are copied with sqlite3's online backup, so the
# copy is consistent even while the service writes. Contents: etc/notaus/..., var/lib/notaus/...,
# SHA256SUMS (checked by restore.sh).
set -eu
ROOT=/
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=$2; shift 2 ;;
        -o|--output) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "backup.sh: unknown option $1" >&2; exit 1 ;;
    esac
done
R=$(cd "$ROOT" && pwd); R=${R%/}
[ -d "$R/etc/notaus" ] || [ -d "$R/var/lib/notaus" ] || { echo "backup.sh: nothing installed under $ROOT" >&2; exit 1; }
OUT=${OUT:-notaus-backup-$(date -u +%Y%m%dT%H%M%SZ).tar.gz}
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT INT TERM
umask 077

if [ -d "$R/etc/notaus" ]; then
    mkdir -p "$STAGE/etc"
    cp -a "$R/etc/notaus" "$STAGE/etc/notaus"
fi
if [ -d "$R/var/lib/notaus" ]; then
    mkdir -p "$STAGE/var/lib/notaus"
    (cd "$R/var/lib/notaus" && find . -type d) | while read -r d; do mkdir -p "$STAGE/var/lib/notaus/$d"; done
    (cd "$R/var/lib/notaus" && find . -type f ! -name '*.sqlite-wal' ! -name '*.sqlite-shm' ! -name '*.lock') |
    while read -r f; do
        src="$R/var/lib/notaus/$f"
        dst="$STAGE/var/lib/notaus/$f"
        case "$f" in
            *.sqlite)
                if command -v sqlite3 >/dev/null 2>&1; then
                    sqlite3 "$src" ".timeout 10000" ".backup '$dst'"
                else
                    "${NOTAUS_PYTHON:-python3}" -c 'import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close()' "$src" "$dst"
                fi ;;
            *) cp -p "$src" "$dst" ;;
        esac
    done
fi
(cd "$STAGE" && find . -type f ! -name SHA256SUMS | sort | xargs -r sha256sum > SHA256SUMS)
tar -C "$STAGE" -czf "$OUT" .
chmod 0600 "$OUT"
echo "notaus: backup written to $OUT ($(wc -l < "$STAGE/SHA256SUMS") files, manifest SHA256SUMS)"
