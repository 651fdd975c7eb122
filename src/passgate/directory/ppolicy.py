"""The LDAP password-policy response control (draft-behera-ldap-password-policy-10, 6.2).

::

    PasswordPolicyResponseValue ::= SEQUENCE {
        warning [0] CHOICE {
            timeBeforeExpiration [0] INTEGER (0 .. maxInt),
            graceAuthNsRemaining [1] INTEGER (0 .. maxInt) } OPTIONAL,
        error   [1] ENUMERATED { passwordExpired (0), ... } OPTIONAL }

ldap3 hands the control's value back as raw BER; this module turns it into
a :class:`PolicyResponse` and back (the encoder exists for tests and for
round-trip checks). The decoder accepts BER, not only DER: 389 Directory
Server sends non-minimal long-form lengths (``30 84 00 00 00 03 ...``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from pyasn1.codec.ber import decoder as ber_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import namedtype, namedval, tag, univ

OID = "1.3.6.1.4.1.42.2.27.8.5.1"
MAX_INT = 2147483647


class PolicyError(IntEnum):
    PASSWORD_EXPIRED = 0
    ACCOUNT_LOCKED = 1
    CHANGE_AFTER_RESET = 2
    PASSWORD_MOD_NOT_ALLOWED = 3
    MUST_SUPPLY_OLD_PASSWORD = 4
    INSUFFICIENT_PASSWORD_QUALITY = 5
    PASSWORD_TOO_SHORT = 6
    PASSWORD_TOO_YOUNG = 7
    PASSWORD_IN_HISTORY = 8
    PASSWORD_TOO_LONG = 9


class PolicyControlDecodeError(ValueError):
    """The control value is not a valid PasswordPolicyResponseValue."""


@dataclass(frozen=True)
class PolicyResponse:
    time_before_expiration: int | None = None
    grace_authns_remaining: int | None = None
    error: PolicyError | None = None


class _Warning(univ.Choice):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "timeBeforeExpiration",
            univ.Integer().subtype(
                implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 0)
            ),
        ),
        namedtype.NamedType(
            "graceAuthNsRemaining",
            univ.Integer().subtype(
                implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 1)
            ),
        ),
    )


class _Error(univ.Enumerated):
    namedValues = namedval.NamedValues(*((e.name, e.value) for e in PolicyError))


class _ResponseValue(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "warning",
            _Warning().subtype(
                explicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, 0)
            ),
        ),
        namedtype.OptionalNamedType(
            "error",
            _Error().subtype(implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 1)),
        ),
    )


_EMPTY = PolicyResponse()


def decode(value: bytes) -> PolicyResponse:
    """Decode a control value; raise :class:`PolicyControlDecodeError` on anything invalid."""
    if value == b"\x30\x00":
        # The empty SEQUENCE: what OpenLDAP attaches to most binds. It is on every
        # request's path, and pyasn1 takes tens of microseconds to say so.
        return _EMPTY
    try:
        decoded, rest = ber_decoder.decode(bytes(value), asn1Spec=_ResponseValue())
    except (PyAsn1Error, TypeError, ValueError, IndexError) as exc:
        raise PolicyControlDecodeError(
            f"undecodable password-policy control ({type(exc).__name__})"
        ) from None
    if rest:
        raise PolicyControlDecodeError("trailing bytes after the password-policy control")
    time_left = grace = None
    error = None
    try:
        warning = decoded.getComponentByName("warning")
        if warning.isValue:
            which = warning.getName()
            number = int(warning.getComponent())
            if not 0 <= number <= MAX_INT:
                raise PolicyControlDecodeError("warning value out of range")
            if which == "timeBeforeExpiration":
                time_left = number
            else:
                grace = number
        err = decoded.getComponentByName("error")
        if err.isValue:
            error = PolicyError(int(err))
    except (PyAsn1Error, ValueError) as exc:
        if isinstance(exc, PolicyControlDecodeError):
            raise
        raise PolicyControlDecodeError(f"invalid password-policy control: {exc}") from None
    return PolicyResponse(time_left, grace, error)


def encode(response: PolicyResponse) -> bytes:
    """DER-encode a response value (the inverse of :func:`decode`)."""
    value = _ResponseValue()
    if response.time_before_expiration is not None or response.grace_authns_remaining is not None:
        warning = value.setComponentByName("warning").getComponentByName("warning")
        if response.time_before_expiration is not None:
            warning.setComponentByName("timeBeforeExpiration", response.time_before_expiration)
        else:
            warning.setComponentByName("graceAuthNsRemaining", response.grace_authns_remaining)
    if response.error is not None:
        value.setComponentByName("error", int(response.error))
    return bytes(der_encoder.encode(value))


def request_control(criticality: bool = False) -> tuple[str, bool, None]:
    """The request control, in ldap3's ``(oid, criticality, value)`` form (it has no value)."""
    return (OID, criticality, None)
