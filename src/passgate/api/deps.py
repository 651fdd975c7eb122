"""What every route may ask for: the app's parts (a dependency) and the attempt being observed.

``AppParts`` is an ``Annotated`` alias, so a route's signature says what it
uses (full-stack-fastapi-template's style). Dependencies are ``async def``:
FastAPI would send a plain ``def`` dependency to a thread.

Each dependency a request solves costs FastAPI some 15 microseconds of
bookkeeping, cached or not (measured in-process on FastAPI 0.165). So the
plumbing below the routes (the attempt; the parts, inside dependencies) is
reached through the request: a change-password request solves five
dependencies (parts, caller and its two credential readers, body).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from passgate.api.components import Components
from passgate.api.observe import Attempt


def parts_of(request: Request) -> Components:
    """The app's parts, for the route class and the dependencies below the routes."""
    found: Components = request.app.state.components
    return found


async def components(request: Request) -> Components:
    return parts_of(request)


def attempt_of(request: Request) -> Attempt:
    """The attempt the route class opened for this request (see :mod:`.routing`)."""
    attempt: Attempt = request.state.attempt
    return attempt


AppParts = Annotated[Components, Depends(components)]
