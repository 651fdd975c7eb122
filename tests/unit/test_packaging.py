"""Packaging: the Dockerfile, docker-compose.yml and the demo stack's files agree, without Docker.

The images and the stack cannot be run here (no Docker engine), so what can be
checked statically is: the Dockerfile's stages (production last and default,
non-root, a health check, no LDAP server), the build context, every file
compose mounts, every ``PASSGATE_*`` variable (a real setting, and together a
configuration passgate accepts), and that the OpenLDAP seed, its cn=config
script and the Keycloak realm say the same as the passgate service's settings.
``docker compose config`` runs too when a docker CLI with compose is installed.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from passgate.config import (
    ENV_PREFIX,
    AuthSettings,
    LdapSettings,
    Settings,
    load_settings,
)
from passgate.dev import demo, seed
from passgate.dev.keycloak import PLACEHOLDER, fill_placeholders

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_FILE = ROOT / "docker-compose.yml"
PRODUCTION = "production"
HEALTH_URL = "http://127.0.0.1:8080/healthz"

# -- Dockerfile ---------------------------------------------------------------

# Where compose mounts the one realm for --import-realm.
REALM_IN = "/opt/keycloak/data/import/passgate-realm.json"


@dataclass
class Stage:
    name: str | None
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def _logical_lines(text: str) -> Iterator[str]:
    """Instructions one per line: comments dropped, backslash continuations joined."""
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and current):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            yield current.strip()
        current = ""


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, in order."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in _logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), words[0])
            stages.append(Stage(name=name, base=base))
        elif not stages:
            if keyword == "ARG":
                key, _, default = rest.partition("=")
                args[key] = default
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text())[1]


def stage(stages: list[Stage], name: str) -> Stage:
    found = [s for s in stages if s.name == name]
    assert len(found) == 1, f"the Dockerfile has no stage `{name}` (FROM ... AS {name})"
    return found[0]


def lineage(stages: list[Stage], last: Stage) -> list[Stage]:
    """The stage and those it is built FROM, oldest first."""
    chain = [last]
    while (parent := next((s for s in stages if s.name == chain[0].base), None)) is not None:
        chain.insert(0, parent)
    return chain


def instructions(stages: list[Stage], last: Stage, keyword: str) -> list[str]:
    """Every `keyword` instruction in effect for `last`, oldest first."""
    return [rest for s in lineage(stages, last) for kw, rest in s.instructions if kw == keyword]


def effective_env(stages: list[Stage], last: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for rest in instructions(stages, last, "ENV"):
        env.update(dict(pair.split("=", 1) for pair in rest.split()))
    return env


def test_production_is_the_last_stage_so_the_default_build(stages: list[Stage]) -> None:
    assert stages[-1].name == PRODUCTION
    assert stages[0].base == "python:3.11-slim-bookworm"
    assert lineage(stages, stages[-1])[0].base == "python:3.11-slim-bookworm"


def test_production_runs_as_a_non_root_user(stages: list[Stage]) -> None:
    users = instructions(stages, stages[-1], "USER")
    assert users, "no USER: the image would run as root"
    user, _, group = users[-1].partition(":")
    assert user == "10001"
    assert group in ("", "10001")


def test_production_serves_on_8080_with_a_health_check(stages: list[Stage]) -> None:
    final = stages[-1]
    assert "8080" in " ".join(instructions(stages, final, "EXPOSE")).split()
    assert json.loads(instructions(stages, final, "ENTRYPOINT")[-1]) == ["passgate"]
    assert json.loads(instructions(stages, final, "CMD")[-1]) == [
        "serve",
        *("--host", "0.0.0.0", "--port", "8080"),
    ]
    check = instructions(stages, final, "HEALTHCHECK")[-1]
    assert not check.upper().startswith("NONE")
    command = json.loads(check[check.index("CMD") + 3 :])
    assert command[:2] == ["python", "-c"]
    assert "urllib.request" in command[2]
    assert HEALTH_URL in command[2]
    env = effective_env(stages, final)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"


def test_production_has_no_ldap_server(stages: list[Stage]) -> None:
    for run in instructions(stages, stages[-1], "RUN"):
        assert "slapd" not in run, run


def test_production_installs_the_wheel_built_by_the_builder(stages: list[Stage]) -> None:
    builder = stage(stages, "builder")
    assert builder not in lineage(stages, stages[-1])
    assert any("pip wheel" in r for kw, r in builder.instructions if kw == "RUN")
    installs = [r for r in instructions(stages, stages[-1], "RUN") if "pip install" in r]
    assert installs, "the production image installs nothing"
    assert all("from=builder" in r and "--no-index" in r for r in installs)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "passgate" in scripts  # the ENTRYPOINT


def test_demo_stage_adds_slapd_and_stays_non_root(stages: list[Stage]) -> None:
    demo_stage = stage(stages, "demo")
    assert stages.index(demo_stage) < len(stages) - 1, "demo must not be the default (last) stage"
    assert demo_stage.base == stages[-1].base, "demo and production share the runtime stage"
    assert any("slapd" in r for kw, r in demo_stage.instructions if kw == "RUN")
    assert instructions(stages, demo_stage, "USER")[-1].partition(":")[0] == "10001"


# -- the build context ---------------------------------------------------------------


def dockerignore_patterns() -> list[str]:
    path = ROOT / ".dockerignore"
    assert path.is_file()
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether .dockerignore leaves this path (or a directory above it) out (no `!` rules)."""
    parts = PurePosixPath(relative).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        pattern = pattern.strip("/")
        for prefix in prefixes:
            name = prefix.split("/")[-1]
            if fnmatch.fnmatch(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatch(name, pattern[3:])
            ):
                return True
    return False


def test_dockerignore_keeps_environments_and_caches_out() -> None:
    patterns = dockerignore_patterns()
    assert not any(p.startswith("!") for p in patterns), "the test's matcher knows no `!` rules"
    for path in (
        ".git",
        ".venv",
        ".env",
        ".hypothesis",
        ".pytest_cache",
        "tests/unit",
        ".benchmarks",
    ):
        assert ignored(path, patterns), path
    assert ignored("src/passgate/__pycache__/app.cpython-311.pyc", patterns)
    assert ignored("src/passgate.egg-info/PKG-INFO", patterns)


def test_the_builder_has_everything_the_wheel_is_built_from(stages: list[Stage]) -> None:
    patterns = dockerignore_patterns()
    copied: list[str] = []
    for rest in (r for kw, r in stage(stages, "builder").instructions if kw == "COPY"):
        words = [w for w in rest.split() if not w.startswith("--")]
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert not ignored(source, patterns), f"COPY {source}: excluded by .dockerignore"
            copied.append(source)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert {"pyproject.toml", project["readme"], "src"} <= set(copied)
    # A symlink in src/ (the packaged passgate.ldif) must point at something
    # the builder has too, or setuptools silently leaves the file out.
    for link in (p for p in (ROOT / "src").rglob("*") if p.is_symlink()):
        target = link.resolve().relative_to(ROOT).as_posix()
        assert any(target == c or target.startswith(c + "/") for c in copied), (link, target)
        assert not ignored(target, patterns), target


# -- docker-compose.yml ------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def with_defaults(value: str) -> str:
    """A compose value as `docker compose up` sees it with nothing set in the environment."""

    def default(match: re.Match[str]) -> str:
        assert match["op"] in (":-", "-"), f"{match[0]}: no default, compose needs it set"
        return match["arg"]

    return _VARIABLE.sub(default, value).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    result: dict[str, str] = {}
    for key, value in raw.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        result[key] = with_defaults(text)
    return result


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host path, container path) of each bind mount."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                mounts.append((volume["source"], volume["target"]))
        else:
            source, target, *_ = volume.split(":")
            if source.startswith((".", "/")):
                mounts.append((source, target))
    return mounts


def host_file(service: dict[str, Any], container_path: str) -> Path:
    for source, target in bind_mounts(service):
        if target == container_path:
            return (COMPOSE_FILE.parent / source).resolve()
    raise AssertionError(f"nothing is mounted at {container_path}")


@pytest.fixture(scope="module")
def passgate_env(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    return environment(services["passgate"])


def strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def test_every_variable_has_a_default(compose: dict[str, Any]) -> None:
    """`docker compose up` works with nothing set in the shell or in .env."""
    for text in strings(compose):
        with_defaults(text)
        assert not re.search(r"(?<!\$)\$(?!\{|\$)\w", text), f"{text}: use ${{VAR:-default}}"


def test_build_targets_exist(services: dict[str, dict[str, Any]]) -> None:
    built = {name: s["build"] for name, s in services.items() if "build" in s}
    assert {"passgate", "demo"} <= set(built)
    for name, build in built.items():
        build = {"context": build} if isinstance(build, str) else build
        context = COMPOSE_FILE.parent / build["context"]
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), name
        names = [s.name for s in parse_dockerfile(dockerfile.read_text())[1]]
        target = build.get("target", names[-1])
        assert target in names, f"{name}: no stage {target} in {dockerfile}"
    assert built["passgate"].get("target", PRODUCTION) == PRODUCTION
    assert built["demo"]["target"] == "demo"
    assert services["demo"].get("profiles") == ["demo"]


def test_bind_mounted_files_exist(services: dict[str, dict[str, Any]]) -> None:
    mounts = [(name, m) for name, s in services.items() for m in bind_mounts(s)]
    assert mounts
    for name, (source, _target) in mounts:
        assert source.startswith("./"), f"{name}: {source} is not inside the repository"
        assert (COMPOSE_FILE.parent / source).exists(), f"{name}: {source} does not exist"


def test_ports_are_published_on_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_passgate_variables_are_settings(services: dict[str, dict[str, Any]]) -> None:
    """Each PASSGATE_* is a setting; Keycloak's may also be a placeholder its realm file uses."""
    known = set(Settings.variables())
    placeholders = set(PLACEHOLDER.findall(host_file(services["keycloak"], REALM_IN).read_text()))
    used = set()
    for name, service in services.items():
        mine = {k for k in environment(service) if k.startswith(ENV_PREFIX)}
        allowed = known | placeholders if name == "keycloak" else known
        assert mine <= allowed, f"{name}: not settings: {sorted(mine - allowed)}"
        used |= mine
    assert used, "no PASSGATE_* variable at all"


def test_keycloak_and_passgate_see_the_same_directory(
    services: dict[str, dict[str, Any]], passgate_env: dict[str, str]
) -> None:
    """The realm's placeholders named like passgate's settings have passgate's values."""
    keycloak_env = environment(services["keycloak"])
    shared = {k for k in keycloak_env if k in Settings.variables()}
    assert shared >= {"PASSGATE_LDAP_BIND_DN", "PASSGATE_LDAP_BIND_CREDENTIAL"}
    for key in shared:
        assert keycloak_env[key] == passgate_env[key], key


def test_passgate_environment_is_a_configuration_passgate_accepts(
    passgate_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(key)
    values = {k[len(ENV_PREFIX) :].lower(): v for k, v in passgate_env.items()}
    settings = load_settings(_env_file=None, **values)
    assert settings.ldap.allow_insecure  # ldap:// inside the compose network
    assert settings.auth.jwks_url
    assert settings.auth.issuer


def test_passgate_waits_for_a_healthy_directory(services: dict[str, dict[str, Any]]) -> None:
    depends = services["passgate"]["depends_on"]
    assert depends["openldap"]["condition"] == "service_healthy"
    for name, dependency in depends.items():
        if dependency["condition"] == "service_healthy":
            assert "healthcheck" in services[name], f"{name} has no healthcheck to wait for"


def test_compose_health_check_is_the_images(
    services: dict[str, dict[str, Any]], stages: list[Stage]
) -> None:
    check = instructions(stages, stages[-1], "HEALTHCHECK")[-1]
    image_command = json.loads(check[check.index("CMD") + 3 :])
    assert services["passgate"]["healthcheck"]["test"] == ["CMD", *image_command]


# -- OpenLDAP: the schema, the seed LDIF, the cn=config script ----------------------------------


def parse_ldif(text: str) -> list[list[tuple[str, str]]]:
    """Records as (attribute, value) lists, dn first: folding, comments, base64 values."""
    unfolded: list[str] = []
    for line in text.splitlines():
        if line.startswith(" ") and unfolded:
            unfolded[-1] += line[1:]
        else:
            unfolded.append(line)
    records: list[list[tuple[str, str]]] = [[]]
    for line in unfolded:
        if line.startswith("#"):
            continue
        if not line.strip():
            if records[-1]:
                records.append([])
            continue
        name, colon, value = line.partition(":")
        assert colon, f"not an attribute line: {line!r}"
        if value.startswith(":"):
            value = base64.b64decode(value[1:].strip()).decode()
        else:
            assert not value.startswith("<"), "URL values are not supported here"
            value = value.lstrip(" ")
        records[-1].append((name.strip(), value))
    entries = [r for r in records if r and r[0][0].lower() != "version"]
    for entry in entries:
        assert entry[0][0].lower() == "dn", f"a record does not start with dn: {entry[0]}"
    return entries


def dn_key(dn: str) -> str:
    return ",".join(part.strip().lower() for part in dn.split(","))


def values(entry: list[tuple[str, str]], attribute: str) -> list[str]:
    return [v for a, v in entry if a.lower() == attribute.lower()]


@pytest.fixture(scope="module")
def openldap(services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return services["openldap"]


@pytest.fixture(scope="module")
def directory(openldap: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """The seed LDIF's entries by normalised DN, from the file compose mounts into /ldifs."""
    ldif_dir = environment(openldap)["LDAP_CUSTOM_LDIF_DIR"]
    files = [s for s, t in bind_mounts(openldap) if PurePosixPath(t).parent.as_posix() == ldif_dir]
    assert len(files) == 1, files
    assert files[0].endswith(".ldif"), files
    text = (COMPOSE_FILE.parent / files[0]).read_text()
    for number, line in enumerate(text.splitlines(), 1):
        # ldapadd keeps trailing blanks in values (a password with a space at the end).
        assert line == line.rstrip(), f"line {number}: trailing whitespace"
    entries = parse_ldif(text)
    by_dn = {dn_key(e[0][1]): e for e in entries}
    assert len(by_dn) == len(entries), "a DN appears twice"
    assert dn_key(entries[0][0][1]) == dn_key(environment(openldap)["LDAP_ROOT"])
    seen: set[str] = set()
    for entry in entries:
        key = dn_key(entry[0][1])
        assert not values(entry, "changetype"), "ldapadd of plain entries only"
        assert not seen or key.split(",", 1)[1] in seen, f"{entry[0][1]}: parent not added before"
        seen.add(key)
    return by_dn


def entry_of(directory: dict[str, list[tuple[str, str]]], dn: str) -> list[tuple[str, str]]:
    assert dn_key(dn) in directory, f"{dn} is not in the demo LDIF"
    return directory[dn_key(dn)]


def test_schema_mount_is_the_cn_config_schema(openldap: dict[str, Any]) -> None:
    env = environment(openldap)
    schema_dir = env["LDAP_CUSTOM_SCHEMA_DIR"]
    schemas = [
        s for s, t in bind_mounts(openldap) if PurePosixPath(t).parent.as_posix() == schema_dir
    ]
    assert schemas == ["./ldap_schema/openldap/passgate.ldif"]
    (schema,) = parse_ldif((COMPOSE_FILE.parent / schemas[0]).read_text())
    assert schema[0][1].endswith(",cn=schema,cn=config")
    assert any("NAME 'passgateUserId'" in v for v in values(schema, "olcAttributeTypes"))
    for key in (
        "LDAP_CONFIGURE_PPOLICY",
        "LDAP_PPOLICY_USE_LOCKOUT",
        "LDAP_PPOLICY_HASH_CLEARTEXT",
    ):
        assert env[key] == "yes", key
    assert {"cosine", "inetorgperson"} <= set(env["LDAP_EXTRA_SCHEMAS"].split(","))


def test_demo_users_are_passgate_devs(
    directory: dict[str, list[tuple[str, str]]], passgate_env: dict[str, str]
) -> None:
    users_dn = passgate_env["PASSGATE_LDAP_USERS_DN"]
    defaults = LdapSettings.model_fields
    id_attribute = defaults["user_id_attribute"].default
    name_attribute = defaults["username_attribute"].default
    classes = passgate_env.get(
        "PASSGATE_LDAP_USER_OBJECT_CLASSES", defaults["user_object_classes"].default
    )
    for user in (demo.ALICE, demo.BOB):
        entry = entry_of(directory, f"{name_attribute}={user.uid},{users_dn}")
        assert values(entry, id_attribute) == [user.user_id]
        assert values(entry, name_attribute) == [user.uid]
        assert values(entry, "userPassword") == [user.password]
        object_classes = {c.lower() for c in values(entry, "objectClass")}
        assert {"inetorgperson", "passgateuser"} <= object_classes
        assert {c.strip().lower() for c in classes.split(",")} <= object_classes


def test_policies_are_seeds(directory: dict[str, list[tuple[str, str]]]) -> None:
    expected = parse_ldif(
        seed.policy(seed.DEFAULT_POLICY_DN)
        + "\n"
        + seed.policy(
            seed.SERVICE_POLICY_DN, pwdLockout="FALSE", pwdMustChange="FALSE", pwdInHistory="0"
        )
    )
    for want in expected:
        got = entry_of(directory, want[0][1])
        assert sorted((a.lower(), v) for a, v in got) == sorted((a.lower(), v) for a, v in want)


def test_service_account_is_the_bind_dn(
    directory: dict[str, list[tuple[str, str]]], passgate_env: dict[str, str]
) -> None:
    account = entry_of(directory, passgate_env["PASSGATE_LDAP_BIND_DN"])
    assert values(account, "userPassword") == [passgate_env["PASSGATE_LDAP_BIND_CREDENTIAL"]]
    (policy,) = values(account, "pwdPolicySubentry")
    assert dn_key(policy) == dn_key(seed.SERVICE_POLICY_DN)
    entry_of(directory, policy)
    entry_of(directory, passgate_env["PASSGATE_LDAP_DEFAULT_POLICY_DN"])


def test_cn_config_script_sets_what_passgate_relies_on(
    openldap: dict[str, Any], passgate_env: dict[str, str]
) -> None:
    script = host_file(openldap, "/docker-entrypoint-initdb.d/50-passgate-config.sh")
    text = script.read_text()
    bash = shutil.which("bash")
    if bash is not None:
        result = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    service_dn = passgate_env["PASSGATE_LDAP_BIND_DN"]
    assert f'local service_dn="{service_dn}"' in text
    assert 'by dn.exact="${service_dn}" read' in text
    assert "to attrs=userPassword by self =wx by anonymous auth by * none" in text
    assert f'local default_policy_dn="{passgate_env["PASSGATE_LDAP_DEFAULT_POLICY_DN"]}"' in text
    assert "olcPPolicyDefault: ${default_policy_dn}" in text
    attributes = [
        LdapSettings.model_fields[f].default for f in ("user_id_attribute", "username_attribute")
    ]
    for attribute in attributes:
        assert f"olcDbIndex: {attribute} eq" in text, attribute
        assert re.search(rf"slapindex .*\b{attribute}\b", text), attribute


# -- Keycloak: the one realm (deploy/keycloak/passgate-realm.json) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def keycloak(services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return services["keycloak"]


@pytest.fixture(scope="module")
def realm(keycloak: dict[str, Any]) -> dict[str, Any]:
    (imported,) = [
        t for _, t in bind_mounts(keycloak) if t.startswith("/opt/keycloak/data/import/")
    ]
    assert imported == REALM_IN
    assert "--import-realm" in keycloak["command"]
    # --import-realm fills the realm's ${NAME} placeholders from Keycloak's environment:
    # every one must be set there (fill_placeholders refuses an unknown one).
    text = fill_placeholders(host_file(keycloak, imported).read_text(), environment(keycloak))
    data: dict[str, Any] = json.loads(text)
    assert data["enabled"] is True
    return data


@pytest.fixture(scope="module")
def ldap_provider(realm: dict[str, Any]) -> dict[str, Any]:
    (provider,) = [
        p
        for p in realm["components"]["org.keycloak.storage.UserStorageProvider"]
        if p["providerId"] == "ldap"
    ]
    for key, value in provider["config"].items():
        assert isinstance(value, list), f"config {key}: Keycloak wants a list of strings"
        assert all(isinstance(v, str) for v in value), key
    return provider


def config(provider: dict[str, Any], key: str) -> str:
    (value,) = provider["config"][key]
    assert isinstance(value, str)
    return value


def ldap_mappers(provider: dict[str, Any]) -> dict[str, dict[str, str]]:
    """user model attribute -> the mapper's config (single values)."""
    mappers = provider["subComponents"]["org.keycloak.storage.ldap.mappers.LDAPStorageMapper"]
    result = {}
    for mapper in mappers:
        assert mapper["providerId"] == "user-attribute-ldap-mapper", mapper["name"]
        flat = {k: v[0] for k, v in mapper["config"].items()}
        result[flat["user.model.attribute"]] = flat
    return result


def test_ldap_federation_is_passgates_directory(
    ldap_provider: dict[str, Any], passgate_env: dict[str, str], openldap: dict[str, Any]
) -> None:
    assert config(ldap_provider, "usersDn") == passgate_env["PASSGATE_LDAP_USERS_DN"]
    assert config(ldap_provider, "bindDn") == passgate_env["PASSGATE_LDAP_BIND_DN"]
    assert config(ldap_provider, "bindCredential") == passgate_env["PASSGATE_LDAP_BIND_CREDENTIAL"]
    keycloak_url = urlsplit(config(ldap_provider, "connectionUrl"))
    passgate_url = urlsplit(passgate_env["PASSGATE_LDAP_CONNECTION_URL"])
    assert (keycloak_url.hostname, keycloak_url.port) == (passgate_url.hostname, passgate_url.port)
    assert passgate_url.hostname == "openldap"
    assert with_defaults(openldap["image"]).startswith("bitnami/openldap:2.6")
    assert passgate_url.port == 1389  # bitnami/openldap's LDAP_PORT_NUMBER default
    scope = {"1": "one", "2": "sub"}[config(ldap_provider, "searchScope")]
    assert passgate_env.get("PASSGATE_LDAP_SEARCH_SCOPE", "sub") == scope
    assert (
        config(ldap_provider, "usernameLDAPAttribute")
        == LdapSettings.model_fields["username_attribute"].default
    )
    assert config(ldap_provider, "editMode") == "READ_ONLY"
    assert config(ldap_provider, "vendor") == passgate_env.get("PASSGATE_LDAP_VENDOR", "other")


def test_ldap_users_have_every_mapped_attribute(
    ldap_provider: dict[str, Any],
    directory: dict[str, list[tuple[str, str]]],
    passgate_env: dict[str, str],
) -> None:
    mappers = ldap_mappers(ldap_provider)
    # Keycloak's user profile requires these; a user without them cannot log in by direct grant.
    assert {"username", "firstName", "lastName", "email", "passgateUserId"} <= set(mappers)
    assert (
        mappers["passgateUserId"]["ldap.attribute"]
        == LdapSettings.model_fields["user_id_attribute"].default
    )
    assert mappers["username"]["ldap.attribute"] == config(ldap_provider, "usernameLDAPAttribute")
    users_dn = dn_key(passgate_env["PASSGATE_LDAP_USERS_DN"])
    users = [e for dn, e in directory.items() if dn.endswith("," + users_dn)]
    assert len(users) >= 2
    for entry in users:
        for mapper in mappers.values():
            assert values(entry, mapper["ldap.attribute"]), (entry[0][1], mapper["ldap.attribute"])
        # userObjectClasses: all must match; OpenLDAP matches superclasses of inetOrgPerson too.
        classes = {c.lower() for c in values(entry, "objectClass")}
        if "inetorgperson" in classes:
            classes |= {"organizationalperson", "person", "top"}
        wanted = {c.strip().lower() for c in config(ldap_provider, "userObjectClasses").split(",")}
        assert wanted <= classes, entry[0][1]


def test_portal_tokens_carry_what_passgate_checks(
    realm: dict[str, Any], passgate_env: dict[str, str], ldap_provider: dict[str, Any]
) -> None:
    (client,) = [c for c in realm["clients"] if c["clientId"] == "password-portal"]
    assert client["publicClient"] is True
    assert client["standardFlowEnabled"] is True
    assert client["directAccessGrantsEnabled"] is True
    assert "http://localhost:*" in client["redirectUris"]  # KC_HOSTNAME's host
    assert client["webOrigins"] == ["+"]
    mappers = {m["protocolMapper"]: m["config"] for m in client["protocolMappers"]}
    claim = mappers["oidc-usermodel-attribute-mapper"]
    assert claim["user.attribute"] == "passgateUserId"
    assert claim["user.attribute"] in ldap_mappers(ldap_provider)
    assert claim["claim.name"] == passgate_env["PASSGATE_AUTH_USER_ID_CLAIM"]
    assert claim["access.token.claim"] == "true"
    assert claim["jsonType.label"] == "String"
    audience = mappers["oidc-audience-mapper"]
    assert audience["included.client.audience"] == passgate_env["PASSGATE_AUTH_AUDIENCE"]
    assert audience["access.token.claim"] == "true"
    role = passgate_env.get(
        "PASSGATE_AUTH_ADMIN_ROLE", AuthSettings.model_fields["admin_role"].default
    )
    assert role in [r["name"] for r in realm["roles"]["realm"]]


def test_helpdesk_service_account_holds_the_admin_role(
    realm: dict[str, Any], passgate_env: dict[str, str]
) -> None:
    (client,) = [c for c in realm["clients"] if c["clientId"] == "passgate-helpdesk"]
    assert client["serviceAccountsEnabled"] is True
    assert client["publicClient"] is False
    assert client["secret"]  # from PASSGATE_HELPDESK_SECRET in Keycloak's environment
    (account,) = [
        u for u in realm["users"] if u.get("serviceAccountClientId") == "passgate-helpdesk"
    ]
    role = passgate_env.get(
        "PASSGATE_AUTH_ADMIN_ROLE", AuthSettings.model_fields["admin_role"].default
    )
    assert role in account["realmRoles"]
    audiences = [
        m["config"]["included.client.audience"]
        for m in client["protocolMappers"]
        if m["protocolMapper"] == "oidc-audience-mapper"
    ]
    assert audiences == [passgate_env["PASSGATE_AUTH_AUDIENCE"]]


def test_issuer_and_keys_are_the_realms(
    realm: dict[str, Any], keycloak: dict[str, Any], passgate_env: dict[str, str]
) -> None:
    env = environment(keycloak)
    assert env["KC_BOOTSTRAP_ADMIN_USERNAME"]
    assert env["KC_BOOTSTRAP_ADMIN_PASSWORD"]
    (published,) = keycloak["ports"]
    _, host_port, container_port = published.split(":")
    frontend = urlsplit(env["KC_HOSTNAME"])
    assert frontend.scheme == "http"
    assert frontend.port == int(host_port)
    assert not frontend.path
    assert passgate_env["PASSGATE_AUTH_ISSUER"] == f"{env['KC_HOSTNAME']}/realms/{realm['realm']}"
    assert passgate_env["PASSGATE_AUTH_JWKS_URL"] == (
        f"http://keycloak:{container_port}/realms/{realm['realm']}/protocol/openid-connect/certs"
    )


# -- docker compose itself, when it is installed ---------------------------------------------


def test_docker_compose_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI on PATH: `docker compose config` not run")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("the docker CLI has no compose plugin: `docker compose config` not run")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "--profile", "demo", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
