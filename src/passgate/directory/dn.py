"""Distinguished names as servers write them (RFC 4514), read and compared by value.

Directories return the same DN in several spellings: OpenLDAP writes
``cn=Doe\\2C John`` for what was added as ``cn=Doe\\, John``, Active
Directory ``CN=Doe\\, John``, a value may start with ``#`` (its BER
encoding in hex, RFC 4514 section 2.4), and an RDN may hold several
attribute values (``cn=Ann+uid=alee``). ldap3's own parser keeps values
escaped, refuses some of these spellings, and rewrites ``#``-values when it
"makes safe" a search base (``safe_dn``). So passgate reads DNs here:

- :func:`parse_dn` gives each RDN's (type, value) pairs with values unescaped;
- :func:`canonical_dn` writes a DN the way ldap3 leaves untouched and every
  server reads as the same entry (RFC 4514's own escapes, hex for controls);
- :func:`dn_key` / :func:`same_dn` compare by value (types and values case-folded).

Nothing here raises on a DN a server returned: a DN that cannot be read is
used as it came (:func:`canonical_dn`) or compared as text (:func:`dn_key`).
"""

from __future__ import annotations

import functools
import re
import unicodedata

AVA = tuple[str, str]  # (attribute type, value)
RDN = tuple[AVA, ...]

_HEX = "0123456789abcdefABCDEF"
_TYPE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)$")
# RFC 4514 2.4: these are escaped wherever they appear; "#" and "=" too, because
# ldap3 escapes them wherever it finds them bare (so its safe_dn changes nothing).
_ESCAPED = frozenset('"+,;<>\\#=')
# BER string types a "#"-value may carry (RFC 4514 2.4), and how to decode them.
_BER_STRINGS = {
    0x04: "utf-8",  # OCTET STRING (used by some servers for directory strings)
    0x0C: "utf-8",  # UTF8String
    0x13: "ascii",  # PrintableString
    0x14: "latin-1",  # TeletexString (T.61; Latin-1 is what servers put there)
    0x16: "ascii",  # IA5String
    0x1C: "utf-32-be",  # UniversalString
    0x1E: "utf-16-be",  # BMPString
}


class DnError(ValueError):
    """Not a DN this module can read (the message names the position, never a value)."""


def parse_dn(dn: str) -> list[RDN]:
    """``cn=Doe\\2C John+uid=jd,ou=people`` -> ``[(("cn", "Doe, John"), ("uid", "jd")), ...]``.

    Accepts RFC 4514 strings and the lenient forms servers still write (spaces
    around separators, ``;`` between RDNs as RFC 2253 allowed). Hex escapes
    are UTF-8 bytes; a ``#``-value is decoded when it is a BER string.
    """
    rdns: list[RDN] = []
    if not dn.strip():
        return rdns
    position = 0
    current: list[AVA] = []
    while True:
        equals = dn.find("=", position)
        if equals < 0:
            raise DnError(f"no '=' after position {position}")
        kind = dn[position:equals].strip()
        if not _TYPE.fullmatch(kind):
            raise DnError(f"bad attribute type at position {position}")
        value, position = _value(dn, equals + 1)
        current.append((kind, value))
        if position >= len(dn):
            rdns.append(tuple(current))
            return rdns
        separator = dn[position]
        position += 1
        if separator in ",;":
            rdns.append(tuple(current))
            current = []


def _value(dn: str, start: int) -> tuple[str, int]:
    """One attribute value from ``start``: (the value, the position of its separator or end)."""
    i, end = start, len(dn)
    while i < end and dn[i] == " ":
        i += 1  # unescaped leading spaces are not part of the value
    if i < end and dn[i] == "#":
        j = i + 1
        while j < end and dn[j] not in ",;+":
            j += 1
        return _ber_string(dn[i + 1 : j].rstrip(" "), i), j
    data = bytearray()
    kept = 0  # length of data up to its last escaped or non-space byte
    while i < end:
        c = dn[i]
        if c in ",;+":
            break
        if c == "\\":
            if i + 1 >= end:
                raise DnError(f"lone backslash at position {i}")
            following = dn[i + 1]
            if following in _HEX and i + 2 < end and dn[i + 2] in _HEX:
                data.append(int(dn[i + 1 : i + 3], 16))
                i += 3
            else:
                data += following.encode()
                i += 2
            kept = len(data)
            continue
        if c == '"':
            raise DnError(f"unescaped quote at position {i}")
        data += c.encode()
        if c != " ":
            kept = len(data)
        i += 1
    try:
        # Unescaped trailing spaces are not part of the value either.
        return bytes(data[:kept]).decode("utf-8"), i
    except UnicodeDecodeError:
        raise DnError(f"value at position {start} is not UTF-8") from None


def _ber_string(hex_text: str, where: int) -> str:
    try:
        raw = bytes.fromhex(hex_text)
    except ValueError:
        raise DnError(f"bad hex value at position {where}") from None
    if len(raw) < 2 or raw[0] not in _BER_STRINGS:
        raise DnError(f"hex value at position {where} is not a BER string")
    length, offset = raw[1], 2
    if length & 0x80:  # long form: the next (length & 0x7f) bytes hold the length
        count = length & 0x7F
        length, offset = int.from_bytes(raw[2 : 2 + count], "big"), 2 + count
    if offset + length != len(raw):
        raise DnError(f"hex value at position {where} has a wrong length")
    try:
        return raw[offset:].decode(_BER_STRINGS[raw[0]])
    except UnicodeDecodeError:
        raise DnError(f"hex value at position {where} does not decode") from None


def escape_value(value: str) -> str:
    """An attribute value for a DN (RFC 4514 2.4), in a form ldap3 passes on unchanged."""
    out = []
    last = len(value) - 1
    for index, c in enumerate(value):
        if c in _ESCAPED:
            out.append("\\" + c)
        elif c == " " and index in (0, last):
            out.append("\\ ")
        elif unicodedata.category(c) == "Cc":  # NUL, line breaks ...: hex, readable in logs
            out.append("".join(f"\\{b:02X}" for b in c.encode()))
        else:
            out.append(c)
    return "".join(out)


def format_dn(rdns: list[RDN]) -> str:
    return ",".join(
        "+".join(f"{kind}={escape_value(value)}" for kind, value in rdn) for rdn in rdns
    )


@functools.lru_cache(maxsize=4096)
def canonical_dn(dn: str) -> str:
    """The same DN, escaped one way (what passgate binds, searches and logs with).

    A DN this module cannot read is returned as it came: the server wrote it.
    Every lookup writes its search base and the entry it found this way: the
    last few thousand are remembered (a pure function of the string).
    """
    try:
        return format_dn(parse_dn(dn))
    except DnError:
        return dn


@functools.lru_cache(maxsize=4096)
def dn_key(dn: str) -> str:
    """A comparison key: the same entry, however it is spelled, has the same key.

    Types and values are case-folded (directory names match case-insensitively
    almost everywhere) and the AVAs of a multi-valued RDN are sorted. Every
    change asks for its entry's key (the limiter counts per entry): the last
    few thousand are remembered.
    """
    try:
        rdns = parse_dn(dn)
    except DnError:
        return dn.casefold()
    folded = [
        tuple(sorted((kind.casefold(), " ".join(value.casefold().split())) for kind, value in rdn))
        for rdn in rdns
    ]
    return format_dn(folded)


def same_dn(first: str, second: str) -> bool:
    return dn_key(first) == dn_key(second)


def rdn_values(dn: str, attribute: str) -> list[str]:
    """The values of ``attribute`` in the DN's first RDN (unescaped), e.g. the username.

    Every change with local rules on names asks for its entry's: the last few
    thousand are remembered.
    """
    return list(_rdn_values(dn, attribute.lower()))


@functools.lru_cache(maxsize=4096)
def _rdn_values(dn: str, attribute: str) -> tuple[str, ...]:
    try:
        rdns = parse_dn(dn)
    except DnError:
        return ()
    if not rdns:
        return ()
    return tuple(value for kind, value in rdns[0] if kind.lower() == attribute)


def dc_suffix(dn: str) -> str | None:
    """The trailing ``DC=`` RDNs: ``CN=x,OU=y,DC=corp,DC=example`` -> ``DC=corp,DC=example``."""
    try:
        rdns = parse_dn(dn)
    except DnError:
        return None
    suffix: list[RDN] = []
    for rdn in reversed(rdns):
        if len(rdn) != 1 or rdn[0][0].lower() != "dc":
            break
        suffix.insert(0, (("DC", rdn[0][1]),))
    return format_dn(suffix) or None
