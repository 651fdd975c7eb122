"""Route classes: each endpoint family observes its requests and answers errors in its shape.

A router made with ``route_class=V1Route`` (or ``WorkspaceRoute``) wraps
each of its routes' handlers, so dependency solving is inside the wrap too:
an authentication failure raised by the caller dependency is counted,
audited and presented exactly like a refusal from the directory.

- a credential over :data:`~passgate.api.callers.MAX_CREDENTIAL_BYTES` is
  refused (401) before any dependency reads it;
- every request: one ``passgate_requests_total`` sample, labelled with the
  route's name; routes marked :func:`audited` also write an audit line;
- a :class:`~passgate.errors.PassgateError` becomes the family's answer;
- FastAPI's own ``RequestValidationError`` becomes ``ValidationFailed``
  (400 / 1001), so no 422 is ever sent;
- anything else propagates to ``ResponseGuard`` (a 500 without a trace),
  which asks the route that matched, :func:`presenter_for`, for the shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from passgate.api.callers import refuse_api_keys, refuse_oversized_credentials
from passgate.api.components import Components
from passgate.api.deps import parts_of
from passgate.api.observe import Attempt, log_refusal, observed
from passgate.api.presenters import v1_error, workspace_error
from passgate.auth.base import OBJECT_ID
from passgate.errors import FieldProblem, PassgateError, ProblemKind, ValidationFailed
from passgate.timing import Phases

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
Presenter = Callable[[PassgateError, Request], Response]

_AUDITED = "__passgate_audited__"
_SOLVER = "__passgate_solver__"
Solver = Callable[[Request], Awaitable[dict[str, Any]]]


def audited(endpoint: Endpoint) -> Endpoint:
    """Mark an endpoint whose every attempt, refused or not, writes an audit line."""
    setattr(endpoint, _AUDITED, True)
    return endpoint


def solved_by(solve: Solver) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint whose arguments ``solve`` builds from the request itself.

    For the change endpoints, the hot path. FastAPI still documents the
    endpoint from its signature (the dependencies name the path parameter,
    the credentials, the body); at run time the route calls
    ``endpoint(**await solve(request))`` and skips FastAPI's per-request
    handler (its dependency solving, telemetry context, body reading and
    response serializing), about 50 microseconds of CPU per change. ``solve``
    calls the same dependency functions the signature names, in its order,
    and the endpoint returns a ready ``Response``.
    """

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _SOLVER, solve)
        return endpoint

    return mark


def timed(parts: Components, phases: Phases, response: Response) -> None:
    """The request's phases observed as metrics, and in ``Server-Timing`` when enabled."""
    parts.metrics.observe_phases(phases)
    if parts.settings.http.server_timing:
        response.headers["server-timing"] = phases.server_timing()


def validation_failed(error: RequestValidationError) -> ValidationFailed:
    """FastAPI's validation errors, as the contract's 1001 (field named by its last location)."""
    problems = []
    for item in error.errors():
        location = item.get("loc") or ("body",)
        kind = ProblemKind.REQUIRED if item.get("type") == "missing" else ProblemKind.INVALID_TYPE
        problems.append(FieldProblem(str(location[-1]), str(item.get("msg", "invalid")), kind))
    return ValidationFailed(problems)


class PresentedRoute(APIRoute):
    """A route whose family decides how errors look (subclasses set :meth:`present`).

    ``direct``: for a :func:`solved_by` endpoint, the whole handler (observed,
    presented), which :func:`dispatch_directly` calls without Starlette's
    routing and FastAPI's per-request wrappers.
    """

    direct: Callable[[Request], Coroutine[Any, Any, Response]] | None = None

    @staticmethod
    def present(error: PassgateError, request: Request) -> Response:
        raise NotImplementedError

    @staticmethod
    def target(request: Request) -> str | None:
        """Whom the request names before anyone is authenticated (for the audit line)."""
        return None

    @staticmethod
    def screen(request: Request) -> None:
        """What the family refuses before any credential is read (nothing, by default)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        solved = self._solved_handler()
        handler = solved or super().get_route_handler()
        endpoint_name = self.name
        audit = bool(getattr(self.endpoint, _AUDITED, False))
        present, target, screen = self.present, self.target, self.screen

        async def observed_and_presented(request: Request) -> Response:
            parts = parts_of(request)
            attempt: Attempt | None = None
            try:
                async with observed(request, parts, endpoint_name, audit=audit) as attempt:
                    attempt.target = target(request)
                    request.state.attempt = attempt
                    screen(request)
                    refuse_oversized_credentials(request.scope)  # before anything reads them
                    try:
                        response = await handler(request)
                    except RequestValidationError as exc:
                        raise validation_failed(exc) from None
            except PassgateError as error:
                log_refusal(request, error)
                assert attempt is not None  # observed() yields before anything can raise
                with attempt.phases.timed("response"):
                    response = present(error, request)
            if audit:  # the change endpoints: where the time went
                timed(parts, attempt.phases, response)
            return response

        if solved is not None:
            self.direct = observed_and_presented
        return observed_and_presented

    def _solved_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]] | None:
        """The endpoint called with its :func:`solved_by` arguments, if it has a solver."""
        solve: Solver | None = getattr(self.endpoint, _SOLVER, None)
        if solve is None:
            return None
        endpoint = self.endpoint

        async def solved(request: Request) -> Response:
            response: Response = await endpoint(**await solve(request))
            return response

        return solved


class V1Route(PresentedRoute):
    """``{"status": false, "error": {...}}`` for every error (contract section 1)."""

    @staticmethod
    def present(error: PassgateError, request: Request) -> Response:
        return v1_error(error)

    @staticmethod
    def target(request: Request) -> str | None:
        """The path's ``userId``, when it is one (an audit line names no garbage)."""
        user_id = request.path_params.get("userId")
        return user_id if user_id is not None and OBJECT_ID.fullmatch(user_id) else None


class WorkspaceRoute(PresentedRoute):
    """The envelope or problem details, with the path as ``instance`` (contract section 2)."""

    @staticmethod
    def present(error: PassgateError, request: Request) -> Response:
        return workspace_error(error, request.url.path)

    @staticmethod
    def screen(request: Request) -> None:
        refuse_api_keys(request)


async def dispatch_directly(
    routes: Sequence[PresentedRoute], scope: Scope, receive: Receive, send: Send
) -> bool:
    """Answer the request if one of these routes (with a ``direct`` handler) matches it fully.

    The change endpoints, the hot path: the route's own ``matches`` decides
    (path, method, root path, path parameters, ``scope["route"]``) as the
    router would, then its handler answers, skipping Starlette's exception
    middleware, FastAPI's exit stacks, the router's walk over every route and
    the request wrapper: about 50 microseconds of CPU per change. Their job
    is done on this path by the route class (every error is presented) and
    ``ResponseGuard`` (anything unexpected). False: the app answers as usual.
    """
    for route in routes:
        if route.direct is None:
            continue
        match, child = route.matches(scope)
        if match is Match.FULL:
            scope.update(child)
            response = await route.direct(Request(scope, receive, send))
            await response(scope, receive, send)
            return True
    return False


WORKSPACE_PREFIX = "/api/workspace/"


def presenter_for(scope: Scope) -> Presenter:
    """The shape of the route that matched this request; else the workspace's under its
    prefix, v1's anywhere else."""
    route = scope.get("route")
    if isinstance(route, PresentedRoute):
        return route.present
    if str(scope.get("path", "")).startswith(WORKSPACE_PREFIX):
        return WorkspaceRoute.present
    return V1Route.present
