"""The use case: change a user's password, old password required.

Knows nothing of HTTP. It reads top to bottom: find the entry; bind as it
with the old password; run passgate's own rules; set the new password (the
directory's rules apply there). It records the outcome for operators, never
a password.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydantic import SecretStr

from passgate.auth.base import Caller
from passgate.directory.base import Directory
from passgate.directory.dn import same_dn
from passgate.errors import (
    AccountLocked,
    IncorrectOldPassword,
    PasswordPolicyRejected,
    TooManyAttempts,
    UserNotFound,
)
from passgate.policy.local import LocalRules
from passgate.policy.model import EffectivePolicy, LocalPolicy

log = logging.getLogger(__name__)


class PasswordService:
    def __init__(
        self,
        directory: Directory,
        rules: LocalRules | None = None,
        *,
        lockout_wait: float = 900.0,
    ) -> None:
        self._directory = directory
        self._rules = rules or LocalRules(LocalPolicy())
        # Retry-After when the directory's count resets only on a good bind.
        self._lockout_wait = lockout_wait

    @property
    def directory(self) -> Directory:
        return self._directory

    @property
    def local_policy(self) -> LocalPolicy:
        return self._rules.policy

    def ping(self) -> None:
        """Raise unless the directory answers (readiness)."""
        self._directory.ping()

    # -- the effective policy -----------------------------------------------------

    def policy_for_user_id(self, user_id: str) -> EffectivePolicy:
        return self._policy(self._directory.user_dn_for(user_id))

    def policy_for_caller(self, caller: Caller) -> EffectivePolicy:
        return self._policy(self._dn_of(caller, False))

    def default_policy(self) -> EffectivePolicy:
        return self._policy(None)

    def _policy(self, dn: str | None) -> EffectivePolicy:
        return EffectivePolicy.of(self._rules.policy, self._directory.policy_for(dn))

    def change_password(self, user_id: str, old: SecretStr, new: SecretStr) -> None:
        """Change the password of the entry with this userId (404 if none)."""
        self._change(
            lambda refresh: self._directory.user_dn_for(user_id, refresh=refresh), old, new
        )

    def change_password_for_caller(self, caller: Caller, old: SecretStr, new: SecretStr) -> None:
        """Change the caller's own password: found by user-id claim, else by username."""
        self._change(lambda refresh: self._dn_of(caller, refresh), old, new)

    def _dn_of(self, caller: Caller, refresh: bool) -> str:
        if caller.user_id:
            try:
                return self._directory.user_dn_for(caller.user_id, refresh=refresh)
            except UserNotFound:
                if not caller.username:
                    raise
        if caller.username:
            return self._directory.user_dn_for_username(caller.username, refresh=refresh)
        raise UserNotFound(f"{caller.kind} {caller.name} names no directory user")

    def _change(self, find_dn: Callable[[bool], str], old: SecretStr, new: SecretStr) -> None:
        dn = find_dn(False)
        try:
            try:
                self._set(dn, old, new)
            except IncorrectOldPassword:
                # A cached DN may be stale (entry renamed or moved): the bind then fails
                # like a wrong password. Ask the directory again; retry only if it moved.
                fresh = find_dn(True)
                if same_dn(fresh, dn):  # spelled differently is not moved
                    raise
                log.info("the entry moved from %s to %s", dn, fresh)
                dn = fresh
                self._set(dn, old, new)
        except PasswordPolicyRejected as refusal:
            if refusal.message:
                raise
            # Say which rule, with its limit, from the policy that applies to this entry.
            policy = self._policy(dn)
            message = policy.message(refusal.reason, by_passgate=refusal.by_passgate)
            raise refusal.explained(message) from None
        log.info("password changed for %s", dn)

    def _guard(self, dn: str) -> None:
        """The last straw: never bind when one more failure could lock the account."""
        state = self._directory.failure_state(dn)
        if state is None:
            return  # unreadable: the attempt limiter is the only guard
        if state.locked:
            raise AccountLocked(f"{dn} is locked ({state.source})")
        if state.one_more_locks:
            raise TooManyAttempts(
                state.retry_after(self._lockout_wait),
                f"{dn}: the directory counts {state.failures} of {state.max_failures} failures "
                f"({state.source}); one more could lock it",
            )

    def _set(self, dn: str, old: SecretStr, new: SecretStr) -> None:
        self._guard(dn)
        old_value, new_value = old.get_secret_value(), new.get_secret_value()
        with self._directory.bound_as(dn, old_value) as bound:  # the old password is proven
            names = bound.names() if self._rules.needs_names else []
            self._rules.check(old_value, new_value, names)  # passgate's rules, then the directory's
            bound.set_password(new_value)
