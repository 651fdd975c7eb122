#!/usr/bin/env bash
# Installs what passgate needs on a Debian machine (root, or sudo), once:
# OpenLDAP's slapd and ldap-utils, redis-server (for the shared attempt
# limiter's tests), 389 Directory Server and a Samba AD DC (the test suite
# runs the same scenarios on all three) from Debian, a Java runtime and
# Maven (to fetch Keycloak), the headers python-ldap builds against (the
# bench's C-client anchor), the pinned Keycloak distribution from Maven
# Central (checked against its sha256, unpacked into a cache outside the
# work tree), Debian's chromium and axe-core (npm) for the self-service
# page's browser tests, and a virtualenv in .venv with passgate and its test
# tools from PyPI.
# The test path also builds passgate's Keycloak extension (integrations/keycloak)
# once with Maven, online, which fetches its build dependencies into ~/.m2; the
# tests rebuild it offline (mvn -o) when a source is newer than the jar.
# Safe to run again. PASSGATE_SETUP_MINIMAL=1 skips 389-DS and Samba.
# Keycloak (and Java, Maven, unzip for it) is fetched on the test path, and on
# the demo path (PASSGATE_SETUP_MINIMAL=1, scripts/dev.sh) only with
# --keycloak, for `passgate dev --keycloak`: the plain demo stays light.
set -euo pipefail
cd "$(dirname "$0")/.."

want_keycloak=1
[ "${PASSGATE_SETUP_MINIMAL:-0}" = 1 ] && want_keycloak=0
for arg in "$@"; do
    case "$arg" in
        --keycloak) want_keycloak=1 ;;
        *) echo "setup: unknown option $arg (known: --keycloak)" >&2; exit 2 ;;
    esac
done

# Keycloak for the tests and the demo: one pinned version, checked by sha256.
KEYCLOAK_VERSION=26.5.6
KEYCLOAK_SHA256=490189d9dff05272432d51f71a069462eeca97f2920a694d539a1e6c26a5a347
KEYCLOAK_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/passgate"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
[ -x /usr/sbin/slapd ] || missing+=(slapd)
command -v ldapsearch >/dev/null || missing+=(ldap-utils)
command -v redis-server >/dev/null || missing+=(redis-server)  # the shared attempt limiter's tests
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v python3 >/dev/null || missing+=(python3)
# python-ldap (the bench's anchor: the C client over OpenLDAP's libldap) has
# no wheels; pip builds it against these headers.
[ -f /usr/include/ldap.h ] || missing+=(libldap-dev)
[ -f /usr/include/sasl/sasl.h ] || missing+=(libsasl2-dev)
command -v gcc >/dev/null || missing+=(gcc)
python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(sysconfig.get_path("include") + "/Python.h"))' \
    || missing+=(python3-dev)
if [ "$want_keycloak" = 1 ]; then
    command -v java >/dev/null || missing+=(default-jre-headless)  # Keycloak: Java 17, 21 or 25
    command -v mvn >/dev/null || missing+=(maven)  # fetches Keycloak from Maven Central
    command -v unzip >/dev/null || missing+=(unzip)
fi
if [ "${PASSGATE_SETUP_MINIMAL:-0}" != 1 ]; then
    command -v dscreate >/dev/null || missing+=(389-ds-base)
    command -v samba-tool >/dev/null || missing+=(samba samba-ad-dc)
    [ -d /usr/share/samba/setup/ad-schema ] || missing+=(samba-ad-provision)
    dpkg -s samba-dsdb-modules samba-vfs-modules winbind >/dev/null 2>&1 \
        || missing+=(samba-dsdb-modules samba-vfs-modules winbind)
    command -v ip >/dev/null || missing+=(iproute2)
    # The self-service page's browser tests: Debian's chromium, driven by
    # Playwright (which never downloads a browser of its own here), and npm
    # for axe-core.
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    command -v npm >/dev/null || missing+=(npm)
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
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 .venv/bin/python -m pip install -q -e '.[test]'
    touch "$stamp"
fi
# axe-core for the accessibility checks, pinned by tests/browser/package-lock.json.
if [ "${PASSGATE_SETUP_MINIMAL:-0}" != 1 ] && [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
    echo "setup: installing axe-core for the browser tests"
    npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
fi

# The Keycloak distribution: fetched once into Maven's local repository,
# checked, unpacked beside a stamp that names the checked archive. The
# unpacked copy is never written to by the tests (each server gets its own
# data directory), so several work trees share it.
[ "$want_keycloak" = 1 ] || exit 0
keycloak_home="$KEYCLOAK_CACHE/keycloak-$KEYCLOAK_VERSION"
if [ ! -f "$keycloak_home/.passgate-verified" ]; then
    artifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip"
    zip="${MAVEN_REPO:-$HOME/.m2/repository}/org/keycloak/keycloak-quarkus-dist/$KEYCLOAK_VERSION/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
    if [ ! -f "$zip" ]; then
        echo "setup: fetching Keycloak $KEYCLOAK_VERSION from Maven Central"
        mvn -q dependency:get -Dartifact="$artifact" -Dtransitive=false
    fi
    echo "$KEYCLOAK_SHA256  $zip" | sha256sum --check --quiet - \
        || { echo "setup: $zip does not have the pinned sha256; remove it and run again" >&2; exit 1; }
    mkdir -p "$KEYCLOAK_CACHE"
    staging=$(mktemp -d "$KEYCLOAK_CACHE/.unpack-XXXXXX")
    trap 'rm -rf "$staging"' EXIT
    unzip -q "$zip" -d "$staging"
    rm -rf "$keycloak_home"
    mv "$staging/keycloak-$KEYCLOAK_VERSION" "$keycloak_home"
    echo "$KEYCLOAK_SHA256" >"$keycloak_home/.passgate-verified"
    echo "setup: Keycloak $KEYCLOAK_VERSION unpacked in $keycloak_home"
fi
# Build once (Quarkus augmentation, ~25 s) with the build-time options the
# test fixture and the demo start with (`start --optimized`): an in-memory
# H2 database and the health endpoints. start-dev would re-augment the
# shared copy at its first start instead, racing any other work tree.
build_options="--db=dev-mem --health-enabled=true"
if [ "$(cat "$keycloak_home/.passgate-built" 2>/dev/null)" != "$build_options" ]; then
    echo "setup: building Keycloak ($build_options)"
    # shellcheck disable=SC2086  # the options are words
    "$keycloak_home/bin/kc.sh" build $build_options >"$keycloak_home/build.log" 2>&1 \
        || { cat "$keycloak_home/build.log" >&2; exit 1; }
    echo "$build_options" >"$keycloak_home/.passgate-built"
fi

# passgate's Keycloak extension: built here once, online, so that Maven fetches
# Keycloak's SPI jars and its own plugins from Maven Central; the tests build it
# again offline (mvn -o) whenever a source is newer than the jar, and give it a
# Keycloak home of its own (src/passgate/dev/keycloak_extension.py).
[ "${PASSGATE_SETUP_MINIMAL:-0}" != 1 ] || exit 0
extension=integrations/keycloak
jar="$extension/target/passgate-keycloak.jar"
if [ ! -f "$jar" ] || [ -n "$(find "$extension/pom.xml" "$extension/src" -newer "$jar" -print -quit)" ]; then
    echo "setup: building the Keycloak extension with Maven"
    (cd "$extension" && mvn -q -B package)
fi
