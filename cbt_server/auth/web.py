"""The HTTP side of staff sign-in: login and logout pages, the session cookie, CSRF, and
`require`, the check every staff endpoint makes before it does anything.

Cookies: `cbt_staff` (the session secret) is HttpOnly, SameSite=Strict, Path=/ and Secure
when the request came over HTTPS (the server's own TLS, or a trusted proxy's
X-Forwarded-Proto: `web/forwarded.py`). State-changing requests must also carry the session's
CSRF token, in the `X-CSRF-Token` header or a `csrf_token` form field; pages put it in
`<meta name="csrf-token">` and in their forms. The login form itself is protected by a
double-submit token (`cbt_login` cookie = `login_token` field).
"""

from __future__ import annotations

import hmac
import math
import secrets
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage
from sqlalchemy import select

from cbt_server.auth.access import authorize
from cbt_server.auth.config import AuthConfig
from cbt_server.auth.login import LoginStatus, log_in, log_out
from cbt_server.auth.policy import Action, Duty
from cbt_server.auth.principal import Principal
from cbt_server.auth.ratelimit import SlidingWindow
from cbt_server.auth.sessions import find_session, session_id_of
from cbt_server.db.models import ExamSession
from cbt_server.db.types import utcnow
from cbt_server.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from cbt_server.keys import AUTH_CLOCK, AUTH_CONFIG, LOGIN_LIMITER, SESSIONMAKER
from cbt_server.web.templates import render

"""Where sign-in reads the time (tests may move it)."""

_PRINCIPAL: web.RequestKey[Principal | None] = web.RequestKey("cbt_principal")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
LOGIN_PATH = "/staff/login"
HOME_PATH = "/console"


ROLE_NAMES = {
    "lab_admin": "机房管理员",
    "proctor": "考评员",
    "supervisor": "质量督导员",
    "centre_admin": "市鉴定中心管理员",
    "centre_viewer": "市鉴定中心查看员",
}


def page_context(principal: Principal | None, **extra: Any) -> dict[str, Any]:
    """What every staff page template needs (the header, the CSRF token), plus `extra`."""
    return {
        "principal": principal,
        "csrf_token": principal.csrf_token if principal else "",
        "role_names": ROLE_NAMES,
        **extra,
    }


def now_of(app: web.Application) -> datetime:
    return app[AUTH_CLOCK]()


def client_of(request: web.Request) -> str:
    agent = request.headers.get("User-Agent", "")[:180]
    return f"{request.remote or '?'} {agent}".strip()


async def current_principal(request: web.Request) -> Principal | None:
    """The signed-in staff member of this request, or None (looked up once per request)."""
    if _PRINCIPAL in request:
        return request[_PRINCIPAL]
    config = request.app[AUTH_CONFIG]
    secret = request.cookies.get(config.cookie_name, "")
    principal = None
    if secret:
        async with request.app[SESSIONMAKER].begin() as db:
            principal = await find_session(db, secret, now_of(request.app), config)
    request[_PRINCIPAL] = principal
    return principal


async def read_form(request: web.Request) -> Any:
    """The request's form fields; InvalidInput (400) if the body cannot be read as a form
    (a multipart body without its boundary or with broken part headers, bytes not in the
    declared charset, an unknown charset): aiohttp reports those as ValueError,
    LookupError or BadHttpMessage, which would otherwise be a 500."""
    try:
        form = await request.post()
    except (ValueError, LookupError, BadHttpMessage) as error:
        raise InvalidInput(f"the request body is not a readable form: {error}") from None
    for name, value in form.items():
        if isinstance(value, str) and "\x00" in value:  # PostgreSQL cannot hold it
            raise InvalidInput(f"form field {name[:40]!r}: must not contain NUL characters")
    return form


async def _submitted_csrf(request: web.Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await read_form(request)
        value = form.get(CSRF_FIELD)
        if isinstance(value, str):
            return value
    return ""


async def check_csrf(request: web.Request, principal: Principal) -> None:
    """Refuse a state-changing request that lacks this session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    submitted = await _submitted_csrf(request)
    if not submitted or not hmac.compare_digest(
        submitted.encode("utf-8", "surrogatepass"), principal.csrf_token.encode()
    ):
        raise Forbidden(
            f"missing or wrong CSRF token (send it in {CSRF_HEADER} or the "
            f"{CSRF_FIELD} form field)",
            code="csrf_failed",
        )


async def require(
    request: web.Request, action: Action, session_id: int | None = None
) -> tuple[Principal, Duty]:
    """The gate of every staff endpoint: signed in, CSRF token if state-changing, and
    allowed by the policy. Raises NotAuthenticated (401) or Forbidden (403)."""
    principal = await current_principal(request)
    if principal is None:
        raise NotAuthenticated("sign in as staff first (/staff/login)")
    await check_csrf(request, principal)
    async with request.app[SESSIONMAKER]() as db:
        duty = await authorize(db, principal, action, session_id)
    return principal, duty


async def require_page(
    request: web.Request, action: Action, session_id: int | None = None
) -> tuple[Principal, Duty]:
    """`require` for HTML pages: a visitor who is not signed in is sent to the login page."""
    if await current_principal(request) is None and request.method in SAFE_METHODS:
        raise web.HTTPSeeOther(f"{LOGIN_PATH}?{urlencode({'next': request.path_qs})}")
    return await require(request, action, session_id)


async def require_session(
    request: web.Request, action: Action, code: str, *, page: bool = False
) -> tuple[Principal, Duty, ExamSession]:
    """The gate of an endpoint about one exam session (by code): signed in first (so that
    anonymous visitors learn nothing about which codes exist), then the session must
    exist (404), then the policy must allow `action` on it (403)."""
    principal = await current_principal(request)
    if principal is None:
        if page and request.method in SAFE_METHODS:
            raise web.HTTPSeeOther(f"{LOGIN_PATH}?{urlencode({'next': request.path_qs})}")
        raise NotAuthenticated("sign in as staff first (/staff/login)")
    await check_csrf(request, principal)
    async with request.app[SESSIONMAKER]() as db:
        exam = await db.scalar(select(ExamSession).where(ExamSession.code == code))
        if exam is None:
            raise NotFound(f"no exam session with code {code!r}")
        duty = await authorize(db, principal, action, exam.id)
    return principal, duty, exam


def see_other(location: str) -> web.Response:
    """A 303 redirect as a plain response (so cookies can be set on it)."""
    return web.Response(status=303, headers={"Location": location})


def set_session_cookie(response: web.StreamResponse, request: web.Request, secret: str) -> None:
    response.set_cookie(
        request.app[AUTH_CONFIG].cookie_name,
        secret,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def _safe_next(target: str) -> str:
    """Only same-site paths: no scheme, no host, no backslash tricks."""
    if (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and len(target) < 512
        and target.isprintable()
    ):
        return target
    return HOME_PATH


def _login_page(
    request: web.Request,
    token: str,
    *,
    status: int = 200,
    error: str = "",
    username: str = "",
    next_path: str = HOME_PATH,
) -> web.Response:
    response = render(
        request,
        "console/login.html",
        page_context(None, login_token=token, error=error, username=username, next_path=next_path),
        status=status,
    )
    response.set_cookie(
        request.app[AUTH_CONFIG].login_cookie_name,
        token,
        path=LOGIN_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )
    return response


async def login_form(request: web.Request) -> web.Response:
    token = request.cookies.get(request.app[AUTH_CONFIG].login_cookie_name) or ""
    if len(token) != 43:
        token = secrets.token_urlsafe(32)
    return _login_page(request, token, next_path=_safe_next(request.query.get("next", "")))


def _field(form: Any, name: str, limit: int) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


async def login_submit(request: web.Request) -> web.Response:
    app = request.app
    config = app[AUTH_CONFIG]
    form = await read_form(request)
    username = _field(form, "username", 128).strip()
    password = _field(form, "password", 1024)
    next_path = _safe_next(_field(form, "next", 512))
    cookie_token = request.cookies.get(config.login_cookie_name, "")
    token = cookie_token if len(cookie_token) == 43 else secrets.token_urlsafe(32)
    submitted = _field(form, "login_token", 128)
    if not cookie_token or not hmac.compare_digest(
        submitted.encode("utf-8", "surrogatepass"), cookie_token.encode("utf-8", "surrogatepass")
    ):
        return _login_page(
            request,
            token,
            status=403,
            error="登录页面已过期，请重新登录。The login form expired; please try again.",
            username=username,
            next_path=next_path,
        )
    # Attempts are limited per client address only: a limit per username would let
    # anyone lock a proctor out. Guesses at one account are counted in the database
    # (auth/lockout.py), per address and, much more loosely, from all addresses.
    wait = app[LOGIN_LIMITER].hit(f"addr:{request.remote}", time.monotonic())
    if wait is not None:
        response = _login_page(
            request,
            token,
            status=429,
            error="登录尝试过于频繁，请稍后再试。Too many login attempts; wait and retry.",
            username=username,
            next_path=next_path,
        )
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    now = now_of(app)
    old_secret = request.cookies.get(config.cookie_name, "")
    outcome = await log_in(
        app[SESSIONMAKER],
        username,
        password,
        now,
        config,
        client_of(request),
        # a new sign-in replaces whatever session this browser had
        replaces=session_id_of(old_secret[:256]) if old_secret else None,
        address=request.remote or "",
    )
    if outcome.status is LoginStatus.LOCKED:
        until = outcome.locked_until.astimezone().strftime("%H:%M") if outcome.locked_until else ""
        here = outcome.lock_scope == "address"
        return _login_page(
            request,
            token,
            status=423,
            error=f"该账户{'在本机' if here else ''}因多次登录失败已被锁定，请于 {until} 后再试"
            f"{'（其他计算机不受影响）' if here else ''}。"
            f"This account is locked {'from this computer ' if here else ''}after repeated "
            f"failures; retry after {until}.",
            username=username,
            next_path=next_path,
        )
    if outcome.status is LoginStatus.BAD_CREDENTIALS:
        return _login_page(
            request,
            token,
            status=401,
            error="用户名或密码错误。Wrong username or password.",
            username=username,
            next_path=next_path,
        )
    response = see_other(next_path)
    set_session_cookie(response, request, outcome.secret)
    response.del_cookie(config.login_cookie_name, path=LOGIN_PATH)
    return response


async def logout(request: web.Request) -> web.Response:
    principal = await current_principal(request)
    if principal is None:
        raise NotAuthenticated("not signed in")
    await check_csrf(request, principal)
    async with request.app[SESSIONMAKER].begin() as db:
        await log_out(db, principal, now_of(request.app))
    response = see_other(LOGIN_PATH)
    response.del_cookie(request.app[AUTH_CONFIG].cookie_name, path="/")
    return response


def configure(app: web.Application, config: AuthConfig) -> None:
    """Install `config` (before the app starts): lockout, lifetimes, login rate limit."""
    app[AUTH_CONFIG] = config
    app[LOGIN_LIMITER] = SlidingWindow(config.login_attempts, config.login_window_seconds)


def setup(app: web.Application, config: AuthConfig | None = None) -> None:
    configure(app, config or AuthConfig())
    app[AUTH_CLOCK] = utcnow
    app.router.add_get(LOGIN_PATH, login_form)
    app.router.add_post(LOGIN_PATH, login_submit)
    app.router.add_post("/staff/logout", logout)
