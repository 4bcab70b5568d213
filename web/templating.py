"""The Jinja2 environment of every page: templates from web/templates, autoescape always on."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context

from web.charts import HEIGHT, MARGIN, WIDTH, ap_colour

RANDOM_MARK = "random weights: not a result"  # after the name of a collection made with random weights, in every title

HERE = Path(__file__).resolve().parent
environment = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
environment.globals.update(
    ap_colour=ap_colour, chart={"width": WIDTH, "height": HEIGHT, "margin": MARGIN}, RANDOM_MARK=RANDOM_MARK
)
environment.filters["figure"] = lambda value: "n/a" if value is None else f"{value:.4f}"
environment.globals["url_for"] = pass_context(
    lambda context, name, /, **params: context["request"].app.url_path_for(name, **params)
)  # relative URLs: the Host header is never reflected into a page
templates = Jinja2Templates(env=environment)


def page(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    """`template` rendered with `context` (every value escaped unless a template says otherwise)."""
    return templates.TemplateResponse(request, template, context, status_code=status_code)
