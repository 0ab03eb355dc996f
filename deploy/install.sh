#!/bin/sh
# notaus installer for Debian 12 / Raspberry Pi OS (bookworm). Idempotent: run it again to repair.
#
#   sudo deploy/install.sh --provider-key it-mueller.pub [--hostname notaus.praxis.lan] [--no-start]
#   deploy/install.sh --root /tmp/fakeroot --no-start --link-source   # throwaway root (CI, tests)
#
# --link-source: no build and no download: the venv sees the Python packages of the interpreter that
# creates it (--python, default python3: Debian's packages) and the source tree is linked in (offline
# Raspberry Pi images, CI). Default: pip installs the package and its pinned dependencies.
# --python PY (or NOTAUS_PYTHON): the interpreter the venv is made from, e.g. a checkout's .venv/bin/python.
#
# What it does: python3-venv from apt if missing; system user 'notaus'; venv in /opt/notaus/venv with
# this source tree installed; /etc/notaus (policy, secrets 0600, TLS certificate, pinned provider
# key); /var/lib/notaus (state, journal); the systemd unit, enabled and started (only enabled where
# systemd is not running, e.g. in a chroot building an image); on the first install one staff and
# one provider token, printed once.
set -eu

ROOT=/
SRC=$(cd "$(dirname "$0")/.." && pwd)
PROVIDER_KEY=""
HOSTNAME_CERT=""
START=1
LINK=0
PY=${NOTAUS_PYTHON:-python3}
PIP_ARGS=${NOTAUS_PIP_ARGS:-}
VENV_ARGS=${NOTAUS_VENV_ARGS:-}

usage() {
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=$2; shift 2 ;;
        --source) SRC=$2; shift 2 ;;
        --provider-key) PROVIDER_KEY=$2; shift 2 ;;
        --hostname) HOSTNAME_CERT=$2; shift 2 ;;
        --no-start) START=0; shift ;;
        --link-source) LINK=1; shift ;;
        --python) PY=$2; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
    esac
done

[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
ROOT=$(cd "$ROOT" && pwd)
R=${ROOT%/}
OPT=$R/opt/notaus
ETC=$R/etc/notaus
VAR=$R/var/lib/notaus
UNIT_DIR=$R/etc/systemd/system
say() { printf 'notaus: %s\n' "$*"; }

# ---------------------------------------------------------------- Debian packages
# A fresh Debian 12 / Raspberry Pi OS Lite has python3 but not python3-venv (venv's ensurepip).
need=""
command -v "$PY" >/dev/null 2>&1 || need="python3"
"$PY" -c 'import ensurepip, venv' 2>/dev/null || need="$need python3-venv"
if [ -n "$need" ]; then
    if [ "$R" = "" ] && command -v apt-get >/dev/null 2>&1; then
        say "installing Debian packages:$need"
        # shellcheck disable=SC2086
        { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null; } ||
            { echo "install.sh: could not install$need with apt-get – check the network and" \
                   "/etc/apt/sources.list, then run install.sh again" >&2; exit 1; }
    else
        echo "install.sh: missing Debian packages:$need – 'apt-get install$need', then run install.sh again" >&2
        exit 1
    fi
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "install.sh: notaus needs Python 3.11 or newer (Debian 12 / Raspberry Pi OS bookworm);" \
         "this system has $("$PY" -V 2>&1)" >&2; exit 1; }

# ---------------------------------------------------------------- user
mkdir -p "$R/etc"
if [ "$R" = "" ]; then
    id notaus >/dev/null 2>&1 || useradd --system --home-dir /var/lib/notaus --no-create-home \
        --shell /usr/sbin/nologin --user-group notaus
    OWNER=notaus:notaus
else
    # a throwaway root: the user goes into ITS /etc/passwd, files are owned by its numeric ids
    for f in passwd group; do [ -e "$R/etc/$f" ] || install -m 0644 /dev/null "$R/etc/$f"; done
    for f in shadow gshadow; do [ -e "$R/etc/$f" ] || install -m 0640 /dev/null "$R/etc/$f"; done
    grep -q '^notaus:' "$R/etc/passwd" || useradd --prefix "$R" --system --home-dir /var/lib/notaus \
        --no-create-home --shell /usr/sbin/nologin --user-group notaus
    OWNER="$(awk -F: '$1=="notaus"{print $3}' "$R/etc/passwd"):$(awk -F: '$1=="notaus"{print $4}' "$R/etc/passwd")"
fi
say "user notaus ($OWNER)"

# ---------------------------------------------------------------- directories
install -d -m 0755 "$OPT"
install -d -m 0750 -o "${OWNER%:*}" -g "${OWNER#*:}" "$ETC"
install -d -m 0700 -o "${OWNER%:*}" -g "${OWNER#*:}" "$ETC/secrets" "$ETC/tls"
install -d -m 0755 "$ETC/provider_keys"
install -d -m 0750 -o "${OWNER%:*}" -g "${OWNER#*:}" "$VAR"

# ---------------------------------------------------------------- code + venv
if [ "$SRC" != "$OPT/src" ]; then
    rm -rf "$OPT/src.new"
    mkdir -p "$OPT/src.new"
    (cd "$SRC" && tar --exclude=.git --exclude=.venv --exclude=var --exclude='*.pyc' --exclude=__pycache__ \
        --exclude=test-artifacts --exclude='*.egg-info' --exclude=build -cf - .) | tar -xf - -C "$OPT/src.new"
    rm -rf "$OPT/src"
    mv "$OPT/src.new" "$OPT/src"
fi
if [ "$LINK" -eq 1 ]; then
    [ -x "$OPT/venv/bin/python" ] || "$PY" -m venv --system-site-packages "$OPT/venv"
    site=$("$OPT/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    # the source folders under their installed names (notaus.controller, ...), then the package
    # directories of $PY (a venv's own are not "system" packages)
    mkdir -p "$OPT/ns/notaus"
    for d in controller drivers policies api; do ln -sfn "$OPT/src/$d" "$OPT/ns/notaus/$d"; done
    { echo "$OPT/ns"
      "$PY" -c 'import sys; print("\n".join(p for p in sys.path if p.endswith(("site-packages", "dist-packages"))))'
    } > "$site/notaus-src.pth"
    printf '#!%s\nimport sys\nfrom notaus.controller.cli import main\nsys.exit(main())\n' "$OPT/venv/bin/python" \
        > "$OPT/venv/bin/notaus"
    chmod 0755 "$OPT/venv/bin/notaus"
else
    # shellcheck disable=SC2086
    [ -x "$OPT/venv/bin/python" ] || "$PY" -m venv $VENV_ARGS "$OPT/venv"
    # the versions CI tested, so every practice a provider looks after runs the same code
    [ -f "$OPT/src/deploy/constraints.txt" ] && PIP_ARGS="-c $OPT/src/deploy/constraints.txt $PIP_ARGS"
    # shellcheck disable=SC2086
    "$OPT/venv/bin/python" -m pip install --quiet --disable-pip-version-check $PIP_ARGS "$OPT/src" || {
        echo "install.sh: pip could not install notaus and its dependencies – check the internet connection" \
             "(pypi.org), a proxy or inspecting firewall (PIP_INDEX_URL, PIP_CERT), or install offline with" \
             "--link-source; then run install.sh again" >&2; exit 1; }
    # pip builds in the tree: leftovers would be packed into the next build after a repair run
    rm -rf "$OPT/src/build" "$OPT/src/"*.egg-info
fi
"$OPT/venv/bin/python" -c 'import notaus.controller.cli, notaus.api.app' || {
    echo "install.sh: the installed notaus does not import; see the messages above" >&2; exit 1; }
say "installed into $OPT/venv"

# ---------------------------------------------------------------- configuration
if [ ! -e "$ETC/policy.yaml" ]; then
    install -m 0600 -o "${OWNER%:*}" -g "${OWNER#*:}" "$OPT/src/policies/default.yaml" "$ETC/policy.yaml"
    say "policy template written to /etc/notaus/policy.yaml – fill in router, hosts and contacts"
fi
chmod 0600 "$ETC/policy.yaml"
chown "$OWNER" "$ETC/policy.yaml"
for secret in fritzbox.password; do
    if [ ! -e "$ETC/secrets/$secret" ]; then
        (umask 077; : > "$ETC/secrets/$secret")
    fi
done
find "$ETC/secrets" -type f -exec chmod 0600 {} + -exec chown "$OWNER" {} +

# ---------------------------------------------------------------- TLS certificate
NAMES=${HOSTNAME_CERT:-$(hostname -f 2>/dev/null || hostname)}
"$OPT/venv/bin/python" - "$ETC/tls/cert.pem" "$ETC/tls/key.pem" "$NAMES" <<'PY'
import sys
from notaus.api.tls import ensure_self_signed, fingerprint
cert, key, names = sys.argv[1], sys.argv[2], [n for n in sys.argv[3].split(",") if n]
if ensure_self_signed(cert, key, names):
    print(f"notaus: TLS certificate for {', '.join(names)} created; fingerprint (compare on the tablet):")
    print(f"notaus:   {fingerprint(cert)}")
PY
chmod 0600 "$ETC/tls/key.pem"
chmod 0644 "$ETC/tls/cert.pem"
chown "$OWNER" "$ETC/tls/key.pem" "$ETC/tls/cert.pem"

# ---------------------------------------------------------------- pinned provider key
if [ -n "$PROVIDER_KEY" ]; then
    name=$(basename "$PROVIDER_KEY" .pub)
    "$OPT/venv/bin/python" - "$PROVIDER_KEY" <<'PY'
import sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
key = load_pem_public_key(open(sys.argv[1], "rb").read())
if not isinstance(key, Ed25519PublicKey):
    sys.exit("install.sh: --provider-key must be an Ed25519 public key (PEM), see 'notaus policy keygen'")
PY
    install -m 0644 "$PROVIDER_KEY" "$ETC/provider_keys/$name.pub"
    say "provider key pinned: /etc/notaus/provider_keys/$name.pub"
fi

# ---------------------------------------------------------------- systemd unit
install -d -m 0755 "$UNIT_DIR"
install -m 0644 "$OPT/src/deploy/notaus.service" "$UNIT_DIR/notaus.service"

# ---------------------------------------------------------------- first tokens (printed once)
if [ ! -e "$VAR/tokens.sqlite" ]; then
    say "first access tokens – shown only now, write them down / hand them over:"
    "$OPT/venv/bin/notaus" token create --role staff --name praxis --tokens "$VAR/tokens.sqlite"
    "$OPT/venv/bin/notaus" token create --role provider --name it-dienstleister --tokens "$VAR/tokens.sqlite"
fi
chown -R "$OWNER" "$VAR"
chmod 0600 "$VAR"/tokens.sqlite* 2>/dev/null || true

# ---------------------------------------------------------------- start
if [ "$R" = "" ] && [ "$START" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        systemctl enable --now notaus.service
        say "service started; check with: notaus doctor --config /etc/notaus/policy.yaml"
    else
        # no running systemd: a chroot building an SD-card image, a container. Enabling works offline;
        # daemon-reload and start would fail here.
        systemctl enable notaus.service
        say "systemd is not running here (image/chroot): enabled, starts at the next boot"
    fi
else
    say "not started (--no-start or --root); start with: systemctl enable --now notaus"
fi
say "done"
