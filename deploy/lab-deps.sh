#!/bin/sh
# Install what the notaus network lab (tests/lab) needs on Debian / Raspberry Pi OS.
#
# Idempotent: installs only packages that are missing, runs "apt-get update" at most once and only
# when something is missing, and says what it did. Without root it changes nothing: the lab tests
# then skip (they need root for network namespaces anyway).
#
#   sudo deploy/lab-deps.sh          install what is missing
#   deploy/lab-deps.sh --check       only report; exit 1 if something is missing
set -eu

# LAB_DEPS_PACKAGES overrides the list (used to test this script itself).
PACKAGES="${LAB_DEPS_PACKAGES:-iproute2 nftables openssh-server snmpd snmp tcpdump}"

check_only=0
case "${1:-}" in
  --check) check_only=1 ;;
  "") ;;
  -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
  *) echo "unknown option: $1 (use --check or no option)" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "lab-deps: no dpkg here (not Debian/Raspberry Pi OS). Install by hand: $PACKAGES"
  [ "$check_only" -eq 1 ] && exit 1
  exit 0
fi

missing=""
for pkg in $PACKAGES; do
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    echo "lab-deps: $pkg already installed"
  else
    missing="$missing $pkg"
  fi
done
missing="${missing# }"

if [ "$check_only" -eq 1 ]; then
  [ -z "$missing" ] && { echo "lab-deps: all lab packages are installed"; exit 0; }
  echo "lab-deps: missing: $missing"
  exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
  [ -n "$missing" ] && echo "lab-deps: missing: $missing (nothing installed: not root)"
  echo "lab-deps: not root: the network-lab tests will skip (they need root for network namespaces)."
  echo "lab-deps: to run them: sudo $0 && sudo make test"
  exit 0
fi

if [ -z "$missing" ]; then
  echo "lab-deps: nothing to do, all lab packages are installed"
  exit 0
fi

echo "lab-deps: installing: $missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086  # word splitting of the package list is intended
apt-get install -y --no-install-recommends $missing
echo "lab-deps: installed: $missing"
