"""One presentation layer: the Jinja2 templates, stylesheet and view records of every page.

The web app (`web/`) and the static report (`reports/index.html`, written by
`presentation.static_report` when the command layer asks after an evaluation)
render from the same environment (`presentation.environment`), so a
collection's title with its random-weights mark, a hit's relevance frame and
the escaping of every label and path are decided once. It holds the view
records (what a page or the report shows, shaped from the stages' records and
the comparisons `evaluation.compare_records` computes), the templates and
stylesheets, and writes the report, whose per-dataset PR plots it draws
through `evaluation/report`'s `pr_plot`; no stage imports it. FastAPI loads
with `web/` alone.
"""
