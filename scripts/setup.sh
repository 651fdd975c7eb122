#!/usr/bin/env bash
# Installs what passgate needs on a Debian machine (root, or sudo), once:
# OpenLDAP's slapd and ldap-utils, redis-server (for the shared attempt
# limiter's tests), 389 Directory Server and a Samba AD DC (the test suite
# runs the same scenarios on all three) from Debian, and a virtualenv in
# .venv with passgate and its test tools from PyPI.
# Safe to run again. PASSGATE_SETUP_MINIMAL=1 skips 389-DS and Samba.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
[ -x /usr/sbin/slapd ] || missing+=(slapd)
command -v ldapsearch >/dev/null || missing+=(ldap-utils)
command -v redis-server >/dev/null || missing+=(redis-server)  # the shared attempt limiter's tests
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v python3 >/dev/null || missing+=(python3)
if [ "${PASSGATE_SETUP_MINIMAL:-0}" != 1 ]; then
    command -v dscreate >/dev/null || missing+=(389-ds-base)
    command -v samba-tool >/dev/null || missing+=(samba samba-ad-dc)
    [ -d /usr/share/samba/setup/ad-schema ] || missing+=(samba-ad-provision)
    dpkg -s samba-dsdb-modules samba-vfs-modules winbind >/dev/null 2>&1 \
        || missing+=(samba-dsdb-modules samba-vfs-modules winbind)
    command -v ip >/dev/null || missing+=(iproute2)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # Debian's slapd post-install starts nothing without an init system and
    # its default database is never used: passgate runs its own slapd.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=.venv/.passgate-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing passgate and its test tools into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[test]'
    touch "$stamp"
fi
