"""One presentation layer: the Jinja2 templates, stylesheet and view records of every page.

The web app (`web/`) and the static report (`reports/index.html`, written by
`presentation.static_report` when the command layer asks after an evaluation)
render from the same environment (`presentation.environment`), so a
collection's title with its random-weights mark, a hit's relevance frame and
the escaping of every label and path are decided once. It shows what the
stages computed (records, comparisons) and computes nothing itself; no stage
imports it. Jinja2 is its only dependency: FastAPI loads with `web/` alone.
"""
