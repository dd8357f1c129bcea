"""Who is signed in, CSRF tokens on every form, login rate limits and security headers.

Sessions are Starlette's signed cookie (itsdangerous), HttpOnly, SameSite=Lax, Secure unless the
interface is served on loopback over plain HTTP. A form is refused unless it carries the session's
CSRF token (and, when the browser sends one, an Origin of this site).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

CSRF_KEY = "csrf"
USER_KEY = "user"
LOGIN_ATTEMPTS = 5  # failed sign-ins from one address...
LOGIN_WINDOW = 15 * 60.0  # ...within this many seconds, then refused until the window passes


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return str(token)


def check_form(request: Request, form: FormData) -> None:
    """403 unless the form carries this session's CSRF token and comes from this site."""
    given = str(form.get(CSRF_KEY) or "")
    expected = str(request.session.get(CSRF_KEY) or "")
    if not expected or not given or not secrets.compare_digest(given, expected):
        raise HTTPException(403, "The form's CSRF token is missing or wrong: reload the page.")
    origin = request.headers.get("origin")
    if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise HTTPException(403, "The form was sent from another site.")


def signed_in(request: Request) -> str | None:
    user = request.session.get(USER_KEY)
    return str(user) if user else None


def require_user(request: Request) -> str:
    user = signed_in(request)
    if user is None:
        raise HTTPException(401, "Sign in to change anything.")
    return user


class LoginLimiter:
    """Failed sign-ins per client address in a sliding window (one process: `stablecopy web`)."""

    def __init__(self, attempts: int = LOGIN_ATTEMPTS, window: float = LOGIN_WINDOW) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] < now - self.window:
            failures.popleft()
        return failures

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address, time.monotonic())) >= self.attempts

    def failed(self, address: str) -> None:
        with self._lock:
            self._recent(address, time.monotonic()).append(time.monotonic())

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)


class SecurityHeaders(BaseHTTPMiddleware):
    """Every page: a strict CSP (scripts and styles of this site only; frames of the replay
    server), no framing of these pages, no referrer to other sites, no MIME sniffing."""

    def __init__(self, app: Callable[..., Awaitable[None]], frame_origin: str) -> None:
        super().__init__(app)
        self.csp = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"frame-src {frame_origin}; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; object-src 'none'"
        )

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", self.csp)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
