"""The use case: change a user's password, old password required.

Knows nothing of HTTP. It reads top to bottom: find the entry (a lookup is
not a guess); take the entry's attempt (its slot and a place in its budget,
counted per entry whichever endpoint or identifier named it); refuse when
one more failure could lock the account (the last straw); bind as it with
the old password; run passgate's own rules; set the new password (the
directory's rules apply there). It records the outcome for operators, never
a password.

A lookup that finds nobody counts as nothing: there is no entry to lock,
and no bind was made. The client address is given only for callers that
can target other users; its budget is checked before the lookup.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from pydantic import SecretStr

from passgate.auth.base import Caller
from passgate.directory.base import Directory
from passgate.directory.dn import dn_key, same_dn
from passgate.errors import (
    AccountLocked,
    IncorrectOldPassword,
    PasswordPolicyRejected,
    TooManyAttempts,
    UserNotFound,
)
from passgate.limiter import Limiter
from passgate.policy.local import LocalRules
from passgate.policy.model import EffectivePolicy, LocalPolicy
from passgate.timing import Phases

log = logging.getLogger(__name__)


class PasswordService:
    def __init__(
        self,
        directory: Directory,
        rules: LocalRules | None = None,
        *,
        limiter: Limiter | None = None,
        lockout_wait: float = 900.0,
    ) -> None:
        self._directory = directory
        self._rules = rules or LocalRules(LocalPolicy())
        self._limiter: Limiter = limiter or Unlimited()
        # Retry-After when the directory's count resets only on a good bind.
        self._lockout_wait = lockout_wait
        self.on_guard: Callable[[], None] = lambda: None  # the last straw refused a bind

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

    def change_password(
        self,
        user_id: str,
        old: SecretStr,
        new: SecretStr,
        address: str | None = None,
        phases: Phases | None = None,
    ) -> None:
        """Change the password of the entry with this userId (404 if none).

        ``address``: the client's, when the caller can target other users
        (its budget applies); None for a person's own change. ``phases``:
        where the time goes (:mod:`passgate.timing`), for the caller to read.
        """
        self._change(
            lambda refresh: self._directory.user_dn_for(user_id, refresh=refresh),
            old,
            new,
            address,
            phases or Phases(),
        )

    def change_password_for_caller(
        self,
        caller: Caller,
        old: SecretStr,
        new: SecretStr,
        address: str | None = None,
        phases: Phases | None = None,
    ) -> None:
        """Change the caller's own password: found by user-id claim, else by username."""
        self._change(
            lambda refresh: self._dn_of(caller, refresh), old, new, address, phases or Phases()
        )

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

    def _change(
        self,
        find_dn: Callable[[bool], str],
        old: SecretStr,
        new: SecretStr,
        address: str | None,
        phases: Phases,
    ) -> None:
        # Before the lookup: an address over its budget learns nothing, not even a 404.
        with phases.timed("limiter"):
            self._limiter.check_address(address)
        with phases.timed("lookup"):
            dn = find_dn(False)
        try:
            try:
                attempt = self._limiter.attempt(dn_key(dn), address)  # alone, counted per entry
                with phases.entering("limiter", attempt, leaving=True):
                    try:
                        self._set(dn, old, new, phases)
                    except IncorrectOldPassword:
                        # A cached DN may be stale (entry renamed or moved): the bind then
                        # fails like a wrong password. Ask the directory again.
                        with phases.timed("lookup"):
                            fresh = find_dn(True)
                        if same_dn(fresh, dn):  # spelled differently is not moved
                            raise
                        raise _Moved(fresh) from None  # not a failure of this entry
            except _Moved as moved:
                log.info("the entry moved from %s to %s", dn, moved.dn)
                dn = moved.dn
                attempt = self._limiter.attempt(dn_key(dn), address)  # alone, counted per entry
                with phases.entering("limiter", attempt, leaving=True):
                    self._set(dn, old, new, phases)
        except PasswordPolicyRejected as refusal:
            if refusal.message:
                raise
            # Say which rule, with its limit, from the policy that applies to this entry.
            policy = self._policy(dn)
            message = policy.message(
                refusal.reason,
                by_passgate=refusal.by_passgate,
                ascii_only=new.get_secret_value().isascii(),
            )
            raise refusal.explained(message) from None
        # DEBUG: the audit line records every change (and the request id) at no extra cost.
        log.debug("password changed for %s", dn)

    def _guard(self, dn: str) -> None:
        """The last straw: never bind when one more failure could lock the account."""
        state = self._directory.failure_state(dn)
        if state is None:
            return  # unreadable: the attempt limiter is the only guard
        if state.locked:
            raise AccountLocked(f"{dn} is locked ({state.source})")
        if state.one_more_locks:
            self.on_guard()
            raise TooManyAttempts(
                state.retry_after(self._lockout_wait),
                f"{dn}: the directory counts {state.failures} of {state.max_failures} failures "
                f"({state.source}); one more could lock it",
            )

    def _set(self, dn: str, old: SecretStr, new: SecretStr, phases: Phases) -> None:
        with phases.timed("guard"):
            self._guard(dn)
        old_value, new_value = old.get_secret_value(), new.get_secret_value()
        binding = self._directory.bound_as(dn, old_value)
        with phases.entering("bind", binding) as bound:  # the old password is proven
            with phases.timed("rules"):
                names = bound.names() if self._rules.needs_names else []
                self._rules.check(old_value, new_value, names)  # passgate's, then the directory's
            with phases.timed("modify"):
                bound.set_password(new_value)


class _Moved(Exception):
    """The cached DN was stale: the entry lives at ``dn`` now (the attempt is given back)."""

    def __init__(self, dn: str) -> None:
        super().__init__("the entry moved")
        self.dn = dn


class Unlimited:
    """No budgets and no serialising: for unit tests of the use case over a fake directory."""

    def check_address(self, address: str | None) -> None:
        return None

    @contextlib.contextmanager
    def attempt(self, entry: str, address: str | None) -> Iterator[None]:
        yield
