"""The Keycloak extension (``integrations/keycloak``) built, and a Keycloak home that has it.

The provider jar is built by Maven, offline (``mvn -o``: ``scripts/setup.sh``
fetched the dependencies once), and only when a source is newer than the
jar. A Keycloak that loads it needs the jar in ``providers/`` and its own
``kc.sh build``; the shared distribution that ``scripts/setup.sh`` unpacked
is never written to, so the home here is a copy of it, beside it in the
cache, named by the jar's sha256 and built once under a file lock (several
work trees may ask at the same time). A copy is about 160 MB; copies of
jars older than a day are removed when a new one is made.

Measured on a 2-core machine: the Maven build 8-12 s, the copy 1 s, the
``kc.sh build`` with the provider 25-40 s; all skipped when nothing changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from passgate.dev.keycloak import BUILD_OPTIONS, KeycloakUnavailable, find_java, keycloak_home
from passgate.dev.process import find_upwards

JAR_NAME = "passgate-keycloak.jar"
STALE_AFTER = 86400.0  # seconds: older extension homes are removed


def extension_source() -> Path:
    """``integrations/keycloak`` of the source tree."""
    found = find_upwards(Path(__file__), "integrations/keycloak/pom.xml")
    if found is None:
        raise KeycloakUnavailable("integrations/keycloak/pom.xml not found (a source tree)")
    return found.parent


def _newest_source(source: Path) -> float:
    files = [source / "pom.xml", *(p for p in (source / "src").rglob("*") if p.is_file())]
    return max(p.stat().st_mtime for p in files)


def build_jar(source: Path | None = None) -> Path:
    """The provider jar, built offline by Maven unless it is newer than every source."""
    source = source or extension_source()
    jar = source / "target" / JAR_NAME
    if jar.exists() and jar.stat().st_mtime >= _newest_source(source):
        return jar
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KeycloakUnavailable("mvn not found: run scripts/setup.sh")
    java = find_java()
    env = {**os.environ, "JAVA_HOME": str(java.resolve().parent.parent)}
    done = subprocess.run(
        [mvn, "-o", "-q", "-B", "package"],
        cwd=source,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not jar.exists():
        output = (done.stdout + done.stderr)[-3000:]
        raise KeycloakUnavailable(
            f"the extension did not build offline (run scripts/setup.sh once online):\n{output}"
        )
    return jar


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def extension_home(jar: Path, base: Path | None = None) -> Path:
    """A built Keycloak home with ``jar`` in ``providers/``: made once per jar content."""
    base = base or keycloak_home()
    built = base / ".passgate-built"
    if not built.exists() or built.read_text().strip() != BUILD_OPTIONS:
        raise KeycloakUnavailable(f"{base} is not set up: run scripts/setup.sh")
    prefix = f"{base.name}-passgate-ext-"
    home = base.parent / (prefix + _sha256(jar)[:16])
    stamp = home / ".passgate-built"
    with _locked(base.parent / f".{home.name}.lock"):
        if stamp.exists() and stamp.read_text().strip() == BUILD_OPTIONS:
            os.utime(stamp)  # in use: not stale
            return home
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(
            base,
            home,
            symlinks=True,
            ignore=shutil.ignore_patterns(".passgate-built", "build.log"),
        )
        shutil.copy2(jar, home / "providers" / JAR_NAME)
        env = {**os.environ, "JAVA": str(find_java())}
        with (home / "build.log").open("wb") as log:
            done = subprocess.run(
                [str(home / "bin" / "kc.sh"), "build", *BUILD_OPTIONS.split()],
                cwd=home,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0:
            tail = (home / "build.log").read_text(errors="replace")[-3000:]
            raise KeycloakUnavailable(f"kc.sh build with the extension failed:\n{tail}")
        stamp.write_text(BUILD_OPTIONS + "\n")
    _remove_stale(base.parent, prefix, keep=home)
    return home


def _remove_stale(cache: Path, prefix: str, keep: Path) -> None:
    now = time.time()
    for other in cache.glob(prefix + "*"):
        if other == keep or not other.is_dir():
            continue
        stamp = other / ".passgate-built"
        age = now - (stamp.stat().st_mtime if stamp.exists() else other.stat().st_mtime)
        if age > STALE_AFTER:
            shutil.rmtree(other, ignore_errors=True)
            (cache / f".{other.name}.lock").unlink(missing_ok=True)
