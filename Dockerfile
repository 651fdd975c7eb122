# First version: the demo (`passgate dev`) in a container. A production image
# and a compose file with OpenLDAP and Keycloak come with the operations work.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slapd ldap-utils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ldap_schema ./ldap_schema
COPY src ./src
RUN pip install --no-cache-dir . && useradd --system --home /app passgate
USER passgate
EXPOSE 8080
CMD ["passgate", "serve", "--host", "0.0.0.0", "--port", "8080"]
