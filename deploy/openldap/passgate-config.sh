#!/bin/bash
# passgate demo: the cn=config settings bitnami/openldap has no variable for.
#
# docker-compose.yml mounts this file into /docker-entrypoint-initdb.d/. The
# image runs the *.sh there once, on its first start: after it has created the
# database and loaded /schemas and /ldifs, with slapd stopped again, and before
# it starts slapd for good. It executes a script that is executable and sources
# one that is not, so this file works both ways (no `exit`, and everything in a
# function). slapd being stopped, cn=config is edited offline with slapmodify,
# as the image's user (uid 1001), who owns the files.
#
# What it sets (README "Running against your own directory"; passgate dev and
# the test suite run slapd with the same rules, src/passgate/dev/slapd.py):
#
# - ACLs on the database. The image sets none, and slapd's default is then
#   "access to * by * read": anyone, anonymous included, reads every entry and
#   every password hash, and only the rootdn writes, so users could not change
#   their own password. Instead:
#     userPassword: the user may write it (=wx: the Password Modify extended
#       operation), anonymous may bind with it, nobody reads it;
#     ppolicy state (history, failures, lock): nobody reads it;
#     everything else: the service account (passgate's lookups, Keycloak's LDAP
#       federation) and the user themselves read; nobody else sees anything.
#   To tighten further: give Keycloak its own read-only account, limit the
#   service account to the attributes it needs (uid, passgateUserId, cn, sn,
#   givenName, mail, entryUUID, objectClass, pwdPolicySubentry, the policy
#   entries), and require TLS (LDAP_ENABLE_TLS, LDAP_REQUIRE_TLS).
# - olcPPolicyDefault: LDAP_CONFIGURE_PPOLICY creates the ppolicy overlay
#   without a default policy, so users without pwdPolicySubentry would have
#   no policy at all (no minimum length, history or lockout).
# - Equality indexes for the attributes passgate (uid, passgateUserId) and
#   Keycloak (uid, entryUUID) search by, built with slapindex since the
#   entries are already there.
#
# The DNs are those of deploy/openldap/50-demo.ldif and docker-compose.yml
# (tests/unit/test_packaging.py checks that they agree).

set -o errexit -o nounset -o pipefail

passgate_configure_slapd() {
    local conf_dir="${LDAP_ONLINE_CONF_DIR:-/bitnami/openldap/slapd.d}"
    local pid_file="${LDAP_PID_FILE:-/opt/bitnami/openldap/var/run/slapd.pid}"
    local suffix="dc=example,dc=org"
    local service_dn="cn=passgate,ou=services,dc=example,dc=org"
    local default_policy_dn="cn=default,ou=policies,dc=example,dc=org"
    # bitnami's database: {-1}frontend, {0}config, {1}monitor, {2}mdb.
    local database="olcDatabase={2}mdb,cn=config"

    if [[ -s "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
        echo "passgate-config: slapd is running, and this script edits cn=config offline" >&2
        return 1
    fi
    echo "passgate-config: ACLs, default password policy and indexes for ${suffix}"
    slapmodify -F "$conf_dir" -n 0 <<EOF
dn: ${database}
changetype: modify
add: olcAccess
olcAccess: {0}to attrs=userPassword by self =wx by anonymous auth by * none
olcAccess: {1}to attrs=pwdHistory,pwdAccountLockedTime,pwdFailureTime,pwdChangedTime by * none
olcAccess: {2}to * by dn.exact="${service_dn}" read by self read by * none
-
add: olcDbIndex
olcDbIndex: uid eq
olcDbIndex: passgateUserId eq
olcDbIndex: entryUUID eq

dn: olcOverlay={0}ppolicy,${database}
changetype: modify
add: olcPPolicyDefault
olcPPolicyDefault: ${default_policy_dn}
EOF
    slapindex -F "$conf_dir" -b "$suffix" uid passgateUserId entryUUID
    echo "passgate-config: done"
}

passgate_configure_slapd
