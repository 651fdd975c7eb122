"""The directory's own lockout counter for one entry, and when one more failure locks it.

passgate must never be the reason an account is locked. Before it binds
with an old password it reads, as the service account, how many failures
the directory already counts for the entry (whoever made them: Keycloak
logins, other applications, passgate) and the threshold of the policy that
applies; when one more failure could lock the account, it refuses (429 /
4029) without binding. Each dialect knows where its directory keeps these
(OpenLDAP ``pwdFailureTime``, 389's ``passwordRetryCount``, AD's
``badPwdCount``); this module only decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class FailureState:
    """What the directory counts for one entry now."""

    failures: int  # failed binds the directory counts towards the lockout now
    max_failures: int  # the lockout threshold that applies (0: the directory never locks)
    # Seconds until the count falls by one (the oldest counted failure ages out);
    # None: only a successful bind or an administrator resets it.
    resets_in: float | None = None
    locked: bool = False  # already locked (the bind would be refused anyway)
    source: str = ""  # where the numbers were read, for the log

    @property
    def one_more_locks(self) -> bool:
        """Whether a single further failure could reach the threshold."""
        return self.max_failures > 0 and self.failures + 1 >= self.max_failures

    def retry_after(self, fallback: float) -> int:
        """Whole seconds to wait before a failure could no longer lock (at least 1)."""
        wait = self.resets_in if self.resets_in is not None else fallback
        return max(1, math.ceil(wait))
