# syntax=docker/dockerfile:1
#
# passgate container images (BuildKit, the default builder of Docker 23+ and
# of `docker compose build`):
#
#   docker build -t passgate .                    # production (the last stage, the default)
#   docker build --target demo -t passgate:demo . # production + slapd, for `passgate dev`
#
# Stages: builder (wheels) -> runtime (passgate installed, non-root, no LDAP
# server) -> demo (runtime + slapd) and production (runtime as is). `demo`
# comes before `production` so that a build without --target gives production.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- builder: passgate and every dependency as wheels ------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the wheel is built from: pyproject reads README.md (the long
# description), and src/passgate/dev/passgate.ldif, packaged for `passgate
# dev`, is a symlink to ldap_schema/openldap/passgate.ldif (the wheel gets
# its content; a dangling link would silently leave it out).
COPY pyproject.toml README.md ./
COPY ldap_schema ./ldap_schema
COPY src ./src
RUN pip wheel --wheel-dir /wheels .

# -- runtime: what production and demo share -----------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 10001 passgate \
 && useradd --system --uid 10001 --gid passgate --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin passgate
# The wheels are mounted from the builder for this one step, so they never
# become a layer of this image; --no-index: nothing is fetched here (so the
# versions are the builder's, hence no pins).
# hadolint ignore=DL3013
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels --root-user-action=ignore passgate
# Settings come from the environment; passgate would also read /app/.env,
# which the image does not contain (.dockerignore) and the user cannot write.
WORKDIR /app
USER 10001:10001
EXPOSE 8080
# Liveness only: /healthz answers while the process serves. /readyz (the
# directory answers) is for orchestrators' readiness probes, not for this.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["passgate"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]

# -- demo: `passgate dev` runs its own throwaway slapd, so this one has it ----------
FROM runtime AS demo
# root (uid 0) to install packages, then back to the passgate user.
USER 0
# Debian 12's slapd, as `passgate dev` and the test suite use (unpinned: a demo).
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slapd ldap-utils \
 && rm -rf /var/lib/apt/lists/*
USER 10001:10001
CMD ["dev", "--host", "0.0.0.0", "--port", "8080"]

# -- production (default): passgate only, no LDAP server, non-root --------------------
FROM runtime AS production
LABEL org.opencontainers.image.title="passgate" \
      org.opencontainers.image.description="Self-service password change in front of an LDAP directory" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 10001:10001
