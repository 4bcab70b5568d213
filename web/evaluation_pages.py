"""Evaluation pages from the records `eval` wrote (`evaluation.records.run_records`), and a per-query drill-down.

Every record has its page: /eval/<collection> (the full ranking's record, else
the collection's first), /eval/<collection>/v/<variant slug> for any other
variant (a cut at k, a sample, a re-ranking), each with a drill-down that ranks
one query the way that variant did. Thumbnails always come from the source
collection's points.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from encoders import SPECS
from errors import EvaluationError
from evaluation import RunRecord, study_figure, study_table
from evaluation.records.study_grid import cell_text
from presentation.charts import pr_curves
from store.provenance import no_labels
from web.pages import backend
from web.templating import page

router = APIRouter()
DRILL_HITS = 60
Page = Annotated[int, Query(alias="page", ge=1)]


@router.get("/eval", response_class=HTMLResponse)
def evaluations(request: Request):
    found = backend(request)
    records = found.evaluations()
    rows, datasets, cells = study_table(records, tuple(SPECS))
    study = {(row, d): study_figure(row.encoder, d) if row.full else None for row in rows for d in datasets}
    full = [row for row in rows if row.full]
    curves = {
        dataset: pr_curves(
            {
                f"{row.label} ({cells[row, dataset].map or 0:.3f})": cells[row, dataset].data["pr_curve"]["precision"]
                for row in full
                if (row, dataset) in cells
            }
        )
        for dataset in datasets
    }
    heatmaps = {dataset: _heatmap(full, dataset, cells) for dataset in datasets}
    return page(
        request,
        "evaluation.html",
        rows=rows,
        datasets=datasets,
        cells=cells,
        texts={pair: cell_text(record) for pair, record in cells.items()},
        study=study,
        curves=curves,
        heatmaps=heatmaps,
        rankings=found.rankings(),
        href=_href,
        kinds={record.kind for record in records},
        skipped=found.skipped_records(),
    )


def _heatmap(rows: list, dataset: str, cells: dict) -> dict:
    """Classes x encoders AP of one dataset's full runs: {"encoders": [...], "rows": [(label, [ap or None, ...])]}."""
    present = [row for row in rows if (row, dataset) in cells]
    per_class = {row: cells[row, dataset].data.get("per_class_ap", {}) for row in present}
    labels = sorted({label for row in present for label in per_class[row]})
    table = [(label, [per_class[row].get(label) for row in present]) for label in labels]
    return {"encoders": [row.label for row in present], "rows": table}


def _href(request: Request, record: RunRecord) -> str:
    """The page of `record`: /eval/<collection> for the full ranking, /eval/<collection>/v/<slug> otherwise; a
    path without scheme or host, so no Host header is ever reflected into a link."""
    if record.variant.is_full:
        return request.app.url_path_for("evaluation", name=record.collection)
    return request.app.url_path_for("evaluation_variant", name=record.collection, slug=record.variant.slug)


def _record_page(request: Request, record: RunRecord | None, name: str) -> HTMLResponse:
    store = backend(request).store
    if record is None and store.exists(name) and not store.info(name).labeled:
        raise EvaluationError(f"{no_labels(name)}: evaluation needs labels (class folders, a list file)")
    if record is None:
        raise EvaluationError(f"collection '{name}' has no evaluation yet; run `python cli.py eval -c {name}`")
    curve = pr_curves({f"{record.metric} ({record.variant.label})": record.data["pr_curve"]["precision"]})
    others = [r for r in backend(request).variants(record.collection) if r.variant != record.variant]
    return page(
        request,
        "collection_eval.html",
        record=record,
        data=record.data,
        curves=curve,
        others=others,
        href=_href,
        slug=None if record.variant.is_full else record.variant.slug,
    )


@router.get("/eval/{name}", response_class=HTMLResponse)
def evaluation(request: Request, name: str):
    return _record_page(request, backend(request).evaluation(name), name)


@router.get("/eval/{name}/v/{slug}", response_class=HTMLResponse)
def evaluation_variant(request: Request, name: str, slug: str):
    return _record_page(request, backend(request).evaluation(name, slug), name)


@router.get("/eval/{name}/q/{point_id}", response_class=HTMLResponse)
def drill_down(request: Request, name: str, point_id: str, *, page_number: Page = 1):
    return _drill_down(request, name, point_id, slug=None, page_number=page_number)


@router.get("/eval/{name}/v/{slug}/q/{point_id}", response_class=HTMLResponse)
def drill_down_variant(request: Request, name: str, slug: str, *, point_id: str, page_number: Page = 1):
    return _drill_down(request, name, point_id, slug=slug, page_number=page_number)


def _drill_down(request: Request, name: str, point_id: str, *, slug: str | None, page_number: int) -> HTMLResponse:
    """One query ranked as the record of variant `slug` ranked it (the full ranking without one), DRILL_HITS
    ranks a page."""
    found = backend(request)
    record = found.evaluation(name, slug)
    if slug is None and record is not None and not record.variant.is_full and record.collection == name:
        record = None  # the collection's full ranking, which it has no record of
    if slug is not None and record is None:
        raise EvaluationError(f"collection '{name}' has no evaluation '{slug}' yet; run `python cli.py eval -c {name}`")
    collection = record.collection if record is not None else name
    ranking = found.ranking(collection, point_id, record.variant if record is not None else None)
    relevant_ranks = [rank for rank, relevant in enumerate(ranking.relevant, start=1) if relevant]
    pages = max(1, -(-len(ranking.hits) // DRILL_HITS))
    page_number = min(page_number, pages)
    shown = slice((page_number - 1) * DRILL_HITS, page_number * DRILL_HITS)
    return page(
        request,
        "drilldown.html",
        ranking=ranking,
        info=found.store.info(collection),
        hits=list(zip(ranking.hits[shown], ranking.relevant[shown], strict=True)),
        first_rank=(page_number - 1) * DRILL_HITS + 1,
        page=page_number,
        pages=pages,
        relevant_ranks=relevant_ranks,
        curves=pr_curves({"this query": ranking.pr_curve}),
        recorded=found.query_ap(collection, ranking.query_id, slug),
        variant=record.variant.label if record is not None else "full",
        slug=slug,
    )
