"""The app: routes, error pages instead of tracebacks, request limits and headers (web.guard), server timing."""

from __future__ import annotations

import logging
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from errors import BusyError, CollectionBusyError, CollectionNotFoundError, RetrievalError
from presentation.environment import STATIC
from redaction import RedactingFilter
from store.admission import one_request
from web.backend import MAX_UPLOAD_BYTES, Backend, Options
from web.guard import LOCAL_HOSTS, Guard
from web.templating import page

if TYPE_CHECKING:
    from store import VectorStore

MAX_REQUEST_BYTES = MAX_UPLOAD_BYTES + 64 * 1024  # an upload and its form fields
BUSY_RETRY = 2  # seconds a page of a collection another process holds asks the browser to wait (Retry-After)
log = logging.getLogger("web")
log.addFilter(RedactingFilter())  # a traceback may hold a server URL


def create_app(open_store: Callable[[], VectorStore], options: Options) -> FastAPI:
    """The web app over the store `open_store` returns (opened on the first request that needs it)."""
    from web import browse_pages, duplicate_pages, evaluation_pages, map_pages, pages, tune_pages
    from web.explore import Explorer

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.explorer.close()  # the kept uploads go when the server stops

    app = FastAPI(
        title="Image retrieval",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
        lifespan=lifespan,
    )
    app.state.backend = Backend(open_store, options)
    app.state.explorer = Explorer(app.state.backend)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router)
    app.include_router(evaluation_pages.router)
    app.include_router(map_pages.router)
    app.include_router(browse_pages.router)
    app.include_router(tune_pages.router)
    app.include_router(duplicate_pages.router)

    app.add_middleware(Guard, max_body=MAX_REQUEST_BYTES, hosts=options.allowed_hosts, page=_error_page)

    @app.middleware("http")
    async def timed(request: Request, call_next):
        started = time.perf_counter()
        with one_request():  # a collection this request begins using stays its own to the end (store/admission.py)
            response = await call_next(request)
        milliseconds = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={milliseconds:.2f}"
        if options.access is not None:
            query = f"?{request.url.query}" if request.url.query else ""
            options.access(f"{request.method} {request.url.path}{query} {response.status_code} {milliseconds:.0f} ms")
        return response

    @app.exception_handler(RetrievalError)
    async def retrieval_error(request: Request, error: RetrievalError) -> HTMLResponse:
        status = 404 if isinstance(error, CollectionNotFoundError) else 400
        return page(request, "error.html", status, message=str(error), title="Cannot show this")

    @app.exception_handler(BusyError)
    async def busy(request: Request, error: BusyError) -> HTMLResponse:
        response = page(request, "error.html", 503, message=str(error), title="Busy")
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(CollectionBusyError)
    async def collection_busy(request: Request, error: CollectionBusyError) -> Response:
        """The busy page for a page; for data (map.json, thumbnails, images) JSON that a script can tell apart."""
        if is_page(request):
            response = page(request, "busy.html", 503, collection=error.collection, holder=error.holder)
        else:
            busy = {"error": str(error), "busy": True, "collection": error.collection, "holder": error.holder}
            response = JSONResponse(busy, 503, headers={"Cache-Control": "no-store"})
        response.headers["Retry-After"] = str(BUSY_RETRY)
        return response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> HTMLResponse:
        return page(request, "error.html", error.status_code, message=str(error.detail), title="Not here")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> HTMLResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return page(request, "error.html", 400, message=f"bad request ({problems})", title="Bad request")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> HTMLResponse:
        log.exception("error answering %s", request.url.path)
        message = f"{type(error).__name__} while answering this page; the server's log has the details"
        return page(request, "error.html", 500, message=message, title="Internal error")

    return app


def is_page(request: Request) -> bool:
    """Whether the request is for a page (its route answers HTML, or a form was posted) rather than data."""
    route = request.scope.get("route")
    return request.method == "POST" or getattr(route, "response_class", None) is HTMLResponse


def _error_page(request: Request, status: int, *, title: str, message: str) -> HTMLResponse:
    return page(request, "error.html", status, message=message, title=title)


def is_local(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    return host in LOCAL_HOSTS or host.startswith("127.")


def check_port(host: str, port: int) -> None:
    """Refuse, in one line, a port another program already listens on (before anything says "serving")."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            raise RetrievalError(
                f"cannot listen on {host}:{port} ({error.strerror}): another program uses it; choose one with --port"
            ) from None


def serve(app: FastAPI, host: str, port: int, *, stopped: Callable[[str], None]) -> None:
    """Run the app with uvicorn until Ctrl-C or SIGTERM; `stopped` is given the line saying it stopped and why.
    Ctrl-C then goes on as KeyboardInterrupt, SIGTERM as exit status 143."""
    import uvicorn

    def terminated(signum: int, _frame) -> None:  # uvicorn raises the signal it caught again once it has stopped
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminated)
    reason = "its server returned"
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    except KeyboardInterrupt:
        reason = "Ctrl-C (SIGINT)"
        raise
    except SystemExit as stop:
        reason = "SIGTERM" if stop.code == 128 + signal.SIGTERM else f"it could not go on (exit status {stop.code})"
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        stopped(f"serve stopped: {reason}")
