"""The web app's pages from the one presentation environment (`presentation.environment`), with its links.

The app renders through an overlay of that environment with globals of its own (`url_for`), so the static
report, rendered from the shared environment, never sees the app's links."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from presentation.environment import environment

web_environment = environment.overlay()
web_environment.globals = {  # an overlay shares its parent's globals dict: the app's are a copy
    **environment.globals,
    "url_for": pass_context(lambda context, name, /, **params: context["request"].app.url_path_for(name, **params)),
}  # relative URLs: the Host header is never reflected into a page
templates = Jinja2Templates(env=web_environment)


def page(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    """`template` rendered with `context` (every value escaped unless a template says otherwise)."""
    return templates.TemplateResponse(request, template, context, status_code=status_code)
