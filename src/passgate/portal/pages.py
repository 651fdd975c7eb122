"""The page's routes: sign in, the change form, the change itself, sign out.

Backend-for-frontend: the browser holds only the HttpOnly session cookie;
every token stays in it, sealed (:mod:`.session`), and never reaches a page,
a script or a URL. The change calls the same use case as the workspace
endpoint, through the same authenticator and attempt limiter, in-process.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import SecretStr
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from passgate.api.callers import authenticate
from passgate.api.components import Components
from passgate.api.observe import log_refusal, observed
from passgate.api.passwords import password_field
from passgate.auth.base import Caller, CallerKind, Credentials
from passgate.config import PortalSettings
from passgate.errors import (
    FieldProblem,
    InvalidCredentials,
    NoCredentials,
    PassgateError,
    ProblemKind,
    ValidationFailed,
)
from passgate.policy.model import EffectivePolicy
from passgate.portal import views
from passgate.portal.forms import FormRefused, from_this_page, normal_origin, read_form
from passgate.portal.messages import Messages, messages_for
from passgate.portal.session import (
    CSRF,
    NAME,
    TOKEN_COOKIE,
    TokenBox,
    Tokens,
    csrf_matches,
    csrf_token,
)
from passgate.portal.signin import (
    ISSUER_TROUBLE,
    REFUSED,
    OAuthError,
    failure_name,
    oidc_client,
    signed_in_tokens,
)

log = logging.getLogger("passgate.portal")
ENDPOINT = "portal_change_password"  # the metric's and the audit line's endpoint label
NOTICE = "notice"  # a message for the next page (after a sign-in that was needed again)
NOTICES = ("error.session",)
SESSION_SECONDS = 8 * 3600  # the cookies' life; the tokens in them expire on their own


@dataclass(frozen=True)
class Passwords:
    old: SecretStr
    new: SecretStr


def read_passwords(form: FormData, parts: Components) -> Passwords:
    """The form's three fields, checked as the workspace endpoint checks its two, plus confirm."""
    problems: list[FieldProblem] = []
    local = parts.service.local_policy
    old = password_field(form.get("current"), "CurrentPassword", problems, min_length=1)
    new = password_field(
        form.get("new"),
        "NewPassword",
        problems,
        min_length=local.min_length,
        max_length=local.max_length,
    )
    confirm, typed = form.get("confirm"), form.get("new")
    if confirm is None or confirm == "":
        problems.append(FieldProblem("confirm", "required", ProblemKind.REQUIRED))
    elif not isinstance(confirm, str):
        problems.append(FieldProblem("confirm", "must be a string", ProblemKind.INVALID_TYPE))
    elif isinstance(typed, str) and confirm != typed:
        problems.append(FieldProblem("confirm", "differs", ProblemKind.INVALID_TYPE))
    if problems or old is None or new is None:
        raise ValidationFailed(problems)
    return Passwords(old, new)


class Portal:
    """The routes' shared state: settings, the app's parts, the OIDC client, the templates."""

    def __init__(self, settings: PortalSettings, parts: Components) -> None:
        self.settings = settings
        self.parts = parts
        self.oidc = oidc_client(settings)
        secret = settings.cookie_secret.get_secret_value() if settings.cookie_secret else ""
        self.box = TokenBox(secret)
        self.callback_url = str(settings.redirect_url)
        self.base_url = self.callback_url.removesuffix("/callback")
        self.base = urlsplit(self.base_url).path  # links in pages: the public path
        self.origin = normal_origin(settings.public_origin)  # what the forms' Origin must be
        self.templates = Environment(
            loader=PackageLoader("passgate.portal", "templates"),
            autoescape=select_autoescape(default=True),
        )

    def __repr__(self) -> str:
        return f"Portal(base_url={self.base_url!r})"

    # -- answers ------------------------------------------------------------

    def render(self, request: Request, name: str, status: int = 200, **values: Any) -> Response:
        t: Messages = values.pop("t", None) or messages_for(request.headers.get("accept-language"))
        body = self.templates.get_template(name).render(
            t=t,
            base=self.base,
            settings=self.settings,
            name=request.session.get(NAME),
            csrf=csrf_token(request.session),
            **values,
        )
        return HTMLResponse(body, status_code=status, headers={"Content-Language": t.language})

    def redirect(self, path: str) -> Response:
        return RedirectResponse(self.base + path, status_code=303)

    def problem(self, request: Request, status: int, key: str) -> Response:
        t = messages_for(request.headers.get("accept-language"))
        return self.render(request, "problem.html", status, t=t, message=t(key))

    def form(
        self,
        request: Request,
        t: Messages,
        policy: EffectivePolicy | None,
        refusal: views.Refusal | None = None,
    ) -> Response:
        refusal = refusal or views.Refusal(status=200)
        response = self.render(
            request,
            "change.html",
            refusal.status,
            t=t,
            rules=views.rules(policy, t) if policy else [],
            refusal=refusal,
        )
        if refusal.retry_after is not None:
            response.headers["Retry-After"] = str(refusal.retry_after)
        return response

    # -- who is signed in -----------------------------------------------------

    async def caller(self, request: Request) -> Caller | None:
        """The person of the session's access token, checked as the API checks a bearer token."""
        tokens = self.box.open(request.cookies.get(TOKEN_COOKIE))
        return None if tokens is None else await self.caller_of(tokens)

    async def caller_of(self, tokens: Tokens) -> Caller | None:
        try:
            caller = await authenticate(self.parts, Credentials(bearer_token=tokens.access_token))
        except (InvalidCredentials, NoCredentials) as exc:  # expired, or keys withdrawn
            log.info("portal: the session's access token is refused (%s)", exc.log_message)
            return None
        if caller.kind is not CallerKind.USER:  # a service account has no password here
            log.info("portal: %s %s refused: not a person", caller.kind, caller.name)
            return None
        return caller

    def same_origin(self, request: Request) -> bool:
        return from_this_page(request, self.origin)

    async def checked_form(self, request: Request) -> FormData | Response:
        """The post's form, or the problem page that refuses it.

        The origin first, before the body is read; then the body, capped and parsed
        (413, 400); then the anti-forgery token (403).
        """
        status, key = 403, "error.csrf"
        if not self.same_origin(request):
            why = "sent from another origin"
        else:
            try:
                form = await read_form(request)
            except FormRefused as refused:
                status, key, why = refused.status, refused.key, refused.why
            else:
                if csrf_matches(request.session, form.get("csrf")):
                    return form
                why = "without this session's anti-forgery token"
        log.warning("portal: %s %s refused: %s", request.method, request.url.path, why)
        return self.problem(request, status, key)

    # -- routes ---------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        t = messages_for(request.headers.get("accept-language"))
        try:
            caller = await self.caller(request)
            if caller is None:
                return self.redirect("/login")
            policy = await self.parts.threads.on_loop(self.parts.service.policy_for_caller, caller)
        except PassgateError as error:
            log_refusal(request, error)
            return self.form(request, t, None, views.refusal(error, None, t, self.helpdesk))
        notice = request.session.pop(NOTICE, None)
        if notice in NOTICES:
            return self.form(request, t, policy, views.Refusal(general=[t(notice)], status=200))
        return self.form(request, t, policy)

    @property
    def helpdesk(self) -> str:
        return self.settings.helpdesk

    def sign_in_failed(self, request: Request, exc: Exception) -> Response:
        """Refused (400: try again) or unavailable (503: later), as :mod:`.signin` sorts them."""
        if isinstance(exc, REFUSED):
            log.warning("portal: sign-in refused: %s", failure_name(exc))
            return self.problem(request, 400, "error.sign_in_failed")
        log.warning("portal: sign-in unavailable: %s", failure_name(exc))
        return self.problem(request, 503, "error.sign_in_unavailable")

    async def login(self, request: Request) -> Response:
        t = messages_for(request.headers.get("accept-language"))
        try:
            response: Response = await self.oidc.authorize_redirect(
                request, self.callback_url, ui_locales=t.language
            )
        except ISSUER_TROUBLE as exc:
            return self.sign_in_failed(request, exc)
        return response

    async def callback(self, request: Request) -> Response:
        try:
            token = await signed_in_tokens(self.oidc, request, str(self.settings.client_id))
        except ISSUER_TROUBLE as exc:
            return self.sign_in_failed(request, exc)
        request.session.pop(CSRF, None)  # a new sign-in, a new anti-forgery token
        tokens = Tokens(str(token["access_token"]), token.get("id_token"))
        caller = await self.caller_of(tokens)
        if caller is None:
            return self.problem(request, 403, "error.forbidden")
        request.session[NAME] = caller.username or caller.name
        response = self.redirect("/")
        response.set_cookie(
            TOKEN_COOKIE,
            self.box.seal(tokens),
            max_age=SESSION_SECONDS,
            path=self.base or "/",
            secure=self.settings.secure_cookie,
            httponly=True,
            samesite="lax",
        )
        return response

    def forget_tokens(self, response: Response) -> Response:
        response.delete_cookie(
            TOKEN_COOKIE,
            path=self.base or "/",
            secure=self.settings.secure_cookie,
            httponly=True,
            samesite="lax",
        )
        return response

    async def change(self, request: Request) -> Response:
        t = messages_for(request.headers.get("accept-language"))
        form = await self.checked_form(request)
        if isinstance(form, Response):
            return form
        caller = await self.caller(request)
        if caller is None:
            # The access token expired while the person typed (Keycloak's last 5 minutes by
            # default): sign in again, silently while the issuer's session lasts, and say so.
            request.session[NOTICE] = "error.session"
            return self.redirect("/login")
        try:
            async with observed(request, self.parts, ENDPOINT, audit=True) as attempt:
                attempt.caller = caller
                attempt.target = caller.user_id or caller.username
                passwords = read_passwords(form, self.parts)
                await self.parts.threads.on_loop(
                    self.parts.service.change_password_for_caller,
                    caller,
                    passwords.old,
                    passwords.new,
                )
        except PassgateError as error:
            log_refusal(request, error)
            policy = await self.policy_or_none(caller)
            return self.form(request, t, policy, views.refusal(error, policy, t, self.helpdesk))
        return self.redirect("/done")

    async def policy_or_none(self, caller: Caller) -> EffectivePolicy | None:
        try:
            return await self.parts.threads.on_loop(self.parts.service.policy_for_caller, caller)
        except PassgateError:
            return None

    async def done(self, request: Request) -> Response:
        if await self.caller(request) is None:
            return self.redirect("/login")
        return self.render(request, "done.html")

    async def logout(self, request: Request) -> Response:
        form = await self.checked_form(request)
        if isinstance(form, Response):
            return form
        tokens = self.box.open(request.cookies.get(TOKEN_COOKIE))
        request.session.clear()
        if tokens is None:
            return self.forget_tokens(self.redirect("/signed-out"))
        # RP-initiated logout by client_id, not id_token_hint: no token ever goes into a
        # URL (contract section 8). The issuer then asks the person to confirm.
        try:
            response: Response = await self.oidc.logout_redirect(
                request,
                post_logout_redirect_uri=self.base_url + "/signed-out",
                client_id=self.settings.client_id,
            )
        except ISSUER_TROUBLE as exc:
            # Signed out here all the same; the page says the issuer's session may remain.
            log.warning("portal: sign-out at the issuer not reached: %s", failure_name(exc))
            page = self.render(request, "signed_out.html", text="signed_out.here_only")
            return self.forget_tokens(page)
        response.status_code = 303
        return self.forget_tokens(response)

    async def signed_out(self, request: Request) -> Response:
        """Where the issuer sends the person back; it signs nobody out by itself.

        A GET any site can cause: a person still signed in here goes to the form
        (only the POST of sign-out ends a session).
        """
        try:
            signed_in = await self.caller(request) is not None
        except PassgateError as error:  # the token cannot be checked now: leave it be
            log_refusal(request, error)
            signed_in = True
        if signed_in:
            return self.redirect("/")
        if request.query_params.get("state"):
            with contextlib.suppress(OAuthError):  # stale or foreign: the page says the same
                await self.oidc.validate_logout_response(request)
        request.session.clear()
        page = self.render(request, "signed_out.html", text="signed_out.text")
        return self.forget_tokens(page)

    async def theme(self, request: Request) -> Response:
        s = self.settings
        css = (
            ":root {\n"
            f"  --pg-accent: {s.accent_colour};\n"
            f"  --pg-background: {s.background_colour};\n"
            f"  --pg-text: {s.text_colour};\n"
            "}\n"
        )
        return Response(css, media_type="text/css")
