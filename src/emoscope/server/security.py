"""The guard in front of the app: bearer token on every API request, upload size, headers.

A pure ASGI middleware, so it runs before any body is read: a request without the right token,
or announcing a body larger than the limit, is answered without receiving the body; a body sent
without a length is counted as it arrives and cut off at the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from emoscope.server.errors import ApiError, error_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC_PATHS = frozenset({"/"})
"""Paths served without a token: the page and its static files, which hold no data."""

PUBLIC_PREFIX = "/static/"
MULTIPART_SLACK = 64 * 1024
"""Bytes allowed beyond the file limit for multipart framing and the option fields."""

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
"""Content security policy of the page: only its own files, no inline code, no other hosts."""

REPORT_CSP = "sandbox allow-scripts allow-popups; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:"  # noqa: E501
"""Policy of a served report: runs sandboxed, with no access to the service's origin."""


REPORT_LINK_S = 300
"""How long a signed report link stays valid, in seconds."""

_REPORT_PATH = re.compile(r"^/v1/analyses/([0-9a-f-]{36})/report$")


def sign_report_link(token: str, job_id: str, expires: int) -> str:
    """Return the signature of a report link (HMAC-SHA256 keyed by the service's token).

    Examples:
        >>> sig = sign_report_link("k" * 32, "0f0e8a4c-3b9d-4c55-8d7e-1f2a3b4c5d6e", 2000000000)
        >>> len(sig), sig == sign_report_link("k" * 32, "0f0e8a4c-3b9d-4c55-8d7e-1f2a3b4c5d6e", 1)
        (64, False)
    """
    message = f"report:{job_id}:{expires}".encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def report_link(token: str, job_id: str, *, now: float | None = None) -> tuple[str, int]:
    """Return a signed, expiring URL of a job's report and its expiry (Unix time)."""
    expires = int((time.time() if now is None else now) + REPORT_LINK_S)
    sig = sign_report_link(token, job_id, expires)
    return f"/v1/analyses/{job_id}/report?expires={expires}&sig={sig}", expires


def _signed_report(scope: Scope, token: str) -> bool:
    """Whether the request is a GET of a report with a valid, unexpired signature."""
    match = _REPORT_PATH.match(scope["path"])
    if scope["method"] != "GET" or match is None:
        return False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    try:
        expires = int(query["expires"][0])
        sig = query["sig"][0]
    except (KeyError, ValueError, IndexError):
        return False
    if not 0 <= expires - time.time() <= REPORT_LINK_S:
        return False
    return hmac.compare_digest(sig, sign_report_link(token, match.group(1), expires))


def bearer_token(scope: Scope) -> str | None:
    """Return the token of an ``Authorization: Bearer ...`` header, or ``None``."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None


class GuardMiddleware:
    """Check the token and the upload size; add security headers to every answer.

    Args:
        app: The wrapped application.
        token: The expected bearer token.
        max_upload_bytes: Largest accepted upload file.
        upload_path: The path that receives uploads.
    """

    def __init__(
        self, app: ASGIApp, *, token: str, max_upload_bytes: int, upload_path: str
    ) -> None:
        self.app = app
        self.token = token.encode()
        self.max_body = max_upload_bytes + MULTIPART_SLACK
        self.upload_path = upload_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a request: reject it, or pass it on with counting and headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIX)
        send = self._with_headers(send, page=public)
        if not public and not _signed_report(scope, self.token.decode()):
            token = bearer_token(scope)
            if token is None:
                await self._reject(scope, receive, send, 401, "missing_token", _MISSING)
                return
            if not hmac.compare_digest(token.encode(), self.token):
                await self._reject(scope, receive, send, 401, "bad_token", _BAD)
                return
        if scope["method"] == "POST" and path == self.upload_path:
            length = _content_length(scope)
            if length is not None and length > self.max_body:
                await self._reject(scope, receive, send, 413, "too_large", self._too_large(length))
                return
            receive = self._counting(receive)
        await self.app(scope, receive, send)

    def _too_large(self, length: int | None = None) -> str:
        limit = (self.max_body - MULTIPART_SLACK) / 1024 / 1024
        got = f" (this one has {length / 1024 / 1024:.1f} MiB)" if length else ""
        return (
            f"The upload is larger than the limit of {limit:g} MiB{got}. Send a shorter or "
            "compressed recording (flac, ogg, mp3), or start the service with a larger "
            "--max-upload-mb."
        )

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise ApiError(413, "too_large", self._too_large())
            return message

        return counted

    @staticmethod
    def _with_headers(send: Send, *, page: bool) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cache-control", b"no-store"),
                    (b"content-security-policy", PAGE_CSP.encode()),
                ]
                headers += [(k, v) for k, v in extra if k not in present]
                message["headers"] = headers
            await send(message)

        return sending

    @staticmethod
    async def _reject(
        scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str
    ) -> None:
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status == 413:
            headers = {"Connection": "close"}
        await error_response(status, code, message, headers)(scope, receive, send)


_MISSING = (
    "This request needs the service's access token: send the header "
    "'Authorization: Bearer <token>'. The token was printed when the service first started "
    "and is kept in <data dir>/token (or set by EMOSCOPE_TOKEN)."
)
_BAD = (
    "The access token is not the service's token. Use the one printed when the service "
    "first started (kept in <data dir>/token) or the value of EMOSCOPE_TOKEN."
)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
