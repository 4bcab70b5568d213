"""The one presentation layer: one escaping rule for every page and report, no markup built in Python, and a
static report that carries its stylesheets so it opens from disk."""

from __future__ import annotations

import re
from pathlib import Path

from presentation.environment import environment
from presentation.static_report import write_index
from tests.conftest import ROOT


def test_every_page_shows_control_and_bidi_characters_as_escapes_then_html_escapes():
    """One rule for the web pages and reports/index.html (one environment): text is made inert, then escaped;
    markup the templates build (a macro's output) is left as it is."""
    shown = environment.from_string("{% macro m(x) %}<b>{{ x }}</b>{% endmacro %}{{ x }}|{{ n }}|{{ m(x) }}")
    assert shown.render(x="nul\x00<\u202eevil>&'\"", n=None) == (
        "nul\\x00&lt;\\u202eevil&gt;&amp;&#39;&#34;|None|<b>nul\\x00&lt;\\u202eevil&gt;&amp;&#39;&#34;</b>"
    )


def test_no_python_module_holds_html():
    """Every page and report is a Jinja2 template (presentation/templates): no markup is built in Python."""
    root = Path(__file__).resolve().parents[1]
    tag = re.compile(r"</?(html|head|body|table|tr|td|th|h[1-6]|p|div|span|section|figure|img|a|ul|li|nav|br)\b[^>]*>")
    folders = [path.parent for path in root.glob("*/__init__.py") if path.parent.name != "tests"] + [root / "bench"]
    files = [*root.glob("*.py"), *(file for folder in folders for file in folder.rglob("*.py"))]
    assert any(file.parent.name == "presentation" for file in files)
    found = [
        f"{file.relative_to(root)}:{number}"
        for file in files
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1)
        if tag.search(line)
    ]
    assert found == []


def test_the_static_report_carries_the_apps_stylesheets_inline(tmp_path):
    page = write_index(tmp_path, "memory", set(), command="python cli.py eval", order=[]).read_text()
    for sheet in ("style.css", "marks.css"):
        for rule in (ROOT / "presentation" / "static" / sheet).read_text().splitlines():
            assert rule in page
    assert "<link" not in page  # nothing to fetch: it opens from disk
