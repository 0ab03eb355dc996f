#!/bin/sh
# A throwaway Debian bookworm root for trying deploy/install.sh the way a real box runs it (CI, tests).
#
#   sudo deploy/chroot-test.sh prepare DIR           # fresh minimal bookworm root in DIR (cached)
#   sudo deploy/chroot-test.sh run DIR [--net] -- CMD [ARG...]   # CMD inside DIR (chroot)
#   sudo deploy/chroot-test.sh cleanup DIR           # unmount anything left under DIR, remove DIR
#
# prepare: debootstrap --variant=minbase from the Debian mirror this machine's apt already uses
# (/etc/apt/sources.list*, or $NOTAUS_CHROOT_MIRROR, e.g. a local apt cache), with python3 and
# systemd (python3-venv is left to install.sh, as on a fresh box); the result is kept as a tarball
# in $NOTAUS_CHROOT_CACHE (default /var/cache/notaus-test) and reused for 30 days. The host's
# resolv.conf and CA bundle are copied in, so apt and pip inside go out through the host's network.
# Exit code 77 = cannot be done here (no debootstrap, mirror or PyPI unreachable): callers skip.
#
# run: CMD runs in private mount and PID namespaces with its own /proc, so no mount outlives it,
# even when it is killed. --net adds a private network namespace with only loopback (for starting
# the service without it reaching for the real router). The environment is clean (env -i) apart from
# PIP_CERT, which points at the host's CA bundle copied in.
set -eu

SUITE=bookworm
INCLUDE=python3,systemd        # what a fresh Debian 12 / Pi OS Lite has; install.sh adds python3-venv
CACHE=${NOTAUS_CHROOT_CACHE:-/var/cache/notaus-test}
MAX_AGE_DAYS=30
NET_TIMEOUT=20          # seconds for one reachability probe
APT_TIMEOUT=120         # seconds for apt-get update / install of debootstrap
DEBOOTSTRAP_TIMEOUT=360 # seconds for one debootstrap run
HOST_CA=/etc/ssl/notaus-test-host-ca.crt

say() { printf 'chroot-test: %s\n' "$*" >&2; }
unavailable() { printf 'chroot-test: SKIP: %s\n' "$*" >&2; exit 77; }
die() { printf 'chroot-test: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

# The first Debian mirror URI that apt on this machine uses for $SUITE (one-line .list and deb822
# .sources files; entries with Enabled: no are ignored).
apt_mirror() {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v suite="$SUITE" '
            $1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                          if ($(i + 1) == suite) { print $i; exit } }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$SUITE" '
            function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") &&
                                   tolower(enabled) != "no" && uris != "") { split(uris, u, " "); print u[1]; found = 1 }
                               types = ""; suites = ""; uris = ""; enabled = "" }
            /^[ \t]*$/ { flush(); if (found) exit; next }
            /^#/ { next }
            { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
              if (key == "types") types = $0; else if (key == "suites") suites = $0
              else if (key == "uris") uris = $0; else if (key == "enabled") enabled = $0 }
            END { if (!found) flush() }' "$f"
    done
}

# GET a URL with a hard time limit; 0 when it answered 2xx/3xx.
probe() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsS -o /dev/null --max-time "$NET_TIMEOUT" "$1" 2>/dev/null
    else
        timeout "$NET_TIMEOUT" python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=15)' "$1" \
            >/dev/null 2>&1
    fi
}

ensure_debootstrap() {
    command -v debootstrap >/dev/null 2>&1 && return 0
    say "installing debootstrap (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    timeout "$APT_TIMEOUT" apt-get install -y -qq debootstrap >/dev/null 2>&1 ||
        { timeout "$APT_TIMEOUT" apt-get update -qq >/dev/null 2>&1 &&
          timeout "$APT_TIMEOUT" apt-get install -y -qq debootstrap >/dev/null 2>&1; } ||
        unavailable "debootstrap is not installed and apt-get could not install it"
}

tar_compress_flag() { if command -v zstd >/dev/null 2>&1; then echo --zstd; else echo --gzip; fi; }

cache_file() {
    key=$(printf '%s %s %s minbase' "$SUITE" "$INCLUDE" "$(dpkg --print-architecture 2>/dev/null || uname -m)" |
        sha256sum | cut -c1-12)
    ext=tar.gz; [ "$(tar_compress_flag)" = --zstd ] && ext=tar.zst
    echo "$CACHE/$SUITE-minbase-$key.$ext"
}

# Build the cached root tarball unless a fresh one exists. Serialised by a lock: several test runs
# on one machine share the cache.
ensure_cache() {
    tarball=$1
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    timeout 900 flock 9 || die "waited 15 minutes for $CACHE/.lock"
    if [ -s "$tarball" ] && [ -z "$(find "$tarball" -mtime +"$MAX_AGE_DAYS")" ]; then
        exec 9>&-
        return 0
    fi
    ensure_debootstrap
    mirror=${NOTAUS_CHROOT_MIRROR:-$(apt_mirror | head -n 1)}
    [ -n "$mirror" ] || unavailable "no Debian mirror for $SUITE in /etc/apt/sources.list*"
    probe "${mirror%/}/dists/$SUITE/Release" || unavailable "the Debian mirror $mirror does not answer"
    build=$(mktemp -d "$CACHE/build.XXXXXX")
    say "debootstrap $SUITE from $mirror (once; cached in $tarball)"
    if ! timeout "$DEBOOTSTRAP_TIMEOUT" debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$build/root" \
            "$mirror" >"$build/log" 2>&1; then
        tail -n 5 "$build/log" >&2
        rm -rf --one-file-system "$build"
        unavailable "debootstrap $SUITE from $mirror failed (see the lines above)"
    fi
    rm -rf "$build/root/var/cache/apt/archives/"*.deb "$build/root/var/lib/apt/lists/"*_Packages
    tar --numeric-owner --xattrs -C "$build/root" "$(tar_compress_flag)" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf --one-file-system "$build"
    # roots built for an older package list are not used any more
    find "$CACHE" -maxdepth 1 -name "$SUITE-minbase-*.tar.*" ! -name "$(basename "$tarball")" -delete
    exec 9>&-
}

cmd_prepare() {
    dir=$1
    [ "$(id -u)" -eq 0 ] || unavailable "needs root (debootstrap, chroot)"
    probe "https://pypi.org/simple/pip/" || unavailable "PyPI does not answer (pip inside the root needs it)"
    tarball=$(cache_file)
    ensure_cache "$tarball"
    mkdir -p "$dir"
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
    tar --numeric-owner --xattrs -C "$dir" "$(tar_compress_flag)" -xf "$tarball"
    cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
    # the host's trust (it may include a local CA of an inspecting proxy) where the root's own
    # ca-certificates package will not overwrite it
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
        mkdir -p "$dir/etc/ssl"
        cp -L /etc/ssl/certs/ca-certificates.crt "$dir/$HOST_CA"
    fi
    say "root ready in $dir (from $tarball)"
}

cmd_run() {
    dir=$1; shift
    net=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --net) net=--net; shift ;;
            --) shift; break ;;
            *) die "run: unknown option $1" ;;
        esac
    done
    [ $# -gt 0 ] || die "run: give a command after --"
    [ -x "$dir/bin/sh" ] || die "$dir is not a prepared root"
    HOST_CA_ENV=""
    [ ! -f "$dir/$HOST_CA" ] || HOST_CA_ENV="PIP_CERT=$HOST_CA"
    set -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        TERM=dumb ${HOST_CA_ENV:+"$HOST_CA_ENV"} "$@"
    if [ -n "$net" ]; then
        # loopback up before entering the root (which has no ip(8))
        exec unshare --mount --pid --fork --kill-child --mount-proc="$dir/proc" --net \
            sh -c 'ip link set lo up && dir=$1 && shift && exec chroot "$dir" "$@"' sh "$dir" "$@"
    fi
    exec unshare --mount --pid --fork --kill-child --mount-proc="$dir/proc" chroot "$dir" "$@"
}

cmd_cleanup() {
    dir=$(cd "$1" 2>/dev/null && pwd) || return 0
    [ "$dir" != / ] || die "refusing to remove /"
    # deepest mount points first; there should be none (run keeps its mounts in a private namespace)
    awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
    rm -rf --one-file-system "$dir"
}

[ $# -ge 1 ] || usage 1
action=$1; shift
case "$action" in
    prepare) [ $# -eq 1 ] || usage 1; cmd_prepare "$1" ;;
    run) [ $# -ge 2 ] || usage 1; cmd_run "$@" ;;
    cleanup) [ $# -eq 1 ] || usage 1; cmd_cleanup "$1" ;;
    mirror) apt_mirror | head -n 1 ;;
    -h|--help) usage 0 ;;
    *) usage 1 ;;
esac
