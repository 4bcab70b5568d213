"""The Jinja2 environment of every page, web and static report: templates from presentation/templates (and
the stylesheet from presentation/static, which the report carries inline), autoescape always on.

Every value a template writes goes through `media.inert_text.inert` first, so control and bidi characters in a
label or path show as visible escapes on every page, then is HTML-escaped.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from evaluation.records.study_grid import figure_text
from media.inert_text import inert
from presentation.charts import HEIGHT, MARGIN, WIDTH, ap_colour, pr_ticks

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
RANDOM_MARK = "random weights: not a result"  # after the name of a collection made with random weights, in every title


def _shown(value: object) -> object:
    """What a template writes for `value`: markup as it is, anything else made inert (escaped afterwards)."""
    return value if isinstance(value, Markup) else inert(value)


environment = Environment(
    loader=FileSystemLoader([TEMPLATES, STATIC]), autoescape=True, finalize=_shown, keep_trailing_newline=True
)
environment.globals.update(
    ap_colour=ap_colour,
    chart={"width": WIDTH, "height": HEIGHT, "margin": MARGIN, "ticks": pr_ticks()},
    RANDOM_MARK=RANDOM_MARK,
)
environment.filters["figure"] = figure_text
environment.filters["signed"] = lambda value: "n/a" if value is None else f"{value:+.4f}"


def render(template: str, **context) -> str:
    """`template` rendered with `context` (every value escaped unless a template says otherwise)."""
    return environment.get_template(template).render(**context)
