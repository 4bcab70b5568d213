"""What a request may cost and what every answer carries: one ASGI middleware around the whole app.

- The body is counted as it arrives, with a Content-Length or chunked: past `max_body` bytes the
  request is answered 413 and nothing more is read (a form parser never spools more than that).
- The Host header must name the address served: 127.0.0.1, localhost, ::1, the bound host, or one
  allowed by `serve --allowed-host`, so a page reached through DNS rebinding is refused (400).
  `hosts` None (the app used as a library, in tests) checks nothing.
- Every answer, error pages and static files too, carries nosniff, DENY framing, a same-origin
  content security policy and a referrer policy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class BodyTooLarge(Exception):
    """Raised into the app from `receive` once the body passes the limit."""


class Guard:
    """The middleware (see the module); `page(request, status, title=..., message=...)` draws the error pages."""

    def __init__(self, app: ASGIApp, *, max_body: int, hosts: tuple[str, ...] | None, page: Callable[..., Any]) -> None:
        self.app = app
        self.max_body = max_body
        self.hosts = None if hosts is None else {host.lower().strip("[]") for host in (*LOCAL_HOSTS, *hosts)}
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode("latin-1").lower() not in LOWER]
                headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        request = Request(scope)
        host = request_host(request.headers.get("host", ""))
        if self.hosts is not None and host not in self.hosts:
            message = f"this server answers to {', '.join(sorted(self.hosts))}, not to '{host}'"
            await self.page(request, 400, title="Unknown host", message=message)(scope, receive, send_secured)
            return
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            await self._too_large(request, scope, receive=receive, send=send_secured)
            return
        received = 0
        refused = False
        started = False

        async def counted() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    refused = True
                    raise BodyTooLarge(f"more than {self.max_body} bytes")
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if refused:  # the app's answer to the broken body is replaced by the 413 below
                return
            started = True
            await send_secured(message)

        try:
            await self.app(scope, counted, answer)
        except BodyTooLarge:
            refused = True
        if refused and not started:
            await self._too_large(request, scope, receive=receive, send=send_secured)

    async def _too_large(self, request: Request, scope: Scope, *, receive: Receive, send: Send) -> None:
        megabytes = self.max_body // (1024 * 1024)
        response = self.page(request, 413, title="Too large", message=f"the upload is larger than {megabytes} MB")
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


LOWER = {name.lower() for name in SECURITY_HEADERS}


def request_host(header: str) -> str:
    """The host name of a Host header, lower-case, without its port or IPv6 brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header
