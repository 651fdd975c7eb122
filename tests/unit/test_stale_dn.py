"""The stale-DN retry compares DNs by value: a respelled DN is not a moved entry."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from passgate.errors import IncorrectOldPassword
from passgate.policy.lockout import FailureState
from passgate.policy.model import DirectoryPolicy
from passgate.service import PasswordService

USER_ID = "a" * 24


class RespellingDirectory:
    """The cached lookup says ``CN=Doe\\, John``; asked again, ``cn=doe\\2C john`` (same entry)."""

    def __init__(self, fresh: str) -> None:
        self.fresh = fresh
        self.binds: list[str] = []

    def user_dn_for(self, user_id: str, *, refresh: bool = False) -> str:
        return self.fresh if refresh else "CN=Doe\\, John,CN=Users,DC=corp"

    def user_dn_for_username(self, username: str, *, refresh: bool = False) -> str:
        return self.user_dn_for(username, refresh=refresh)

    @contextlib.contextmanager
    def bound_as(self, dn: str, old_password: str) -> Iterator[None]:
        self.binds.append(dn)
        raise IncorrectOldPassword("wrong")
        yield  # pragma: no cover

    def policy_for(self, dn: str | None) -> DirectoryPolicy | None:
        return None

    def failure_state(self, dn: str) -> FailureState | None:
        return None


@pytest.mark.parametrize(
    "fresh", ["cn=doe\\2C john,cn=users,dc=corp", "CN=Doe\\2c John, CN=Users, DC=corp"]
)
def test_one_wrong_password_is_one_bind_however_the_dn_is_spelled(fresh: str) -> None:
    directory = RespellingDirectory(fresh)
    service = PasswordService(directory)  # type: ignore[arg-type]
    with pytest.raises(IncorrectOldPassword):
        service.change_password(USER_ID, SecretStr("Wrong-Passw0rd!"), SecretStr("New-Passw0rd!"))
    assert len(directory.binds) == 1  # a second bind would be a second failure in the directory


def test_a_moved_entry_is_tried_again() -> None:
    directory = RespellingDirectory("CN=Doe\\, John,OU=Moved,DC=corp")
    service = PasswordService(directory)  # type: ignore[arg-type]
    with pytest.raises(IncorrectOldPassword):
        service.change_password(USER_ID, SecretStr("Wrong-Passw0rd!"), SecretStr("New-Passw0rd!"))
    assert len(directory.binds) == 2
