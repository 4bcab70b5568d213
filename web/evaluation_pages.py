"""Evaluation pages from the records `eval` wrote (reports/*/metrics.json), and a per-query drill-down."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from errors import EvaluationError
from evaluation import study_figure, study_table
from evaluation.kind_records import kind_rows
from web.charts import pr_curves
from web.pages import backend
from web.templating import page

router = APIRouter()
DRILL_HITS = 60


@router.get("/eval", response_class=HTMLResponse)
def evaluations(request: Request):
    records = backend(request).evaluations()
    encoders, datasets, found = study_table(records)
    cells = {pair: summaries[0] for pair, summaries in found.items()}  # the full ranking's, before any cut
    study = {(e, d): study_figure(e, d) for e in encoders for d in datasets}
    curves = {
        dataset: pr_curves(
            {
                f"{encoder} ({cells[encoder, dataset]['map'] or 0:.3f})": cells[encoder, dataset]["pr_curve"][
                    "precision"
                ]
                for encoder in encoders
                if (encoder, dataset) in cells
            }
        )
        for dataset in datasets
    }
    heatmaps = {dataset: _heatmap(encoders, dataset, cells) for dataset in datasets}
    beside = kind_rows(backend(request).beside_records())
    return page(
        request,
        "evaluation.html",
        encoders=encoders,
        datasets=datasets,
        cells=cells,
        study=study,
        curves=curves,
        heatmaps=heatmaps,
        beside=beside,
    )


def _heatmap(encoders: list[str], dataset: str, cells: dict) -> dict:
    """Classes x encoders AP of one dataset: {"encoders": [...], "rows": [(label, [ap or None, ...])]}."""
    present = [encoder for encoder in encoders if (encoder, dataset) in cells]
    labels = sorted({label for e in present for label in cells[e, dataset].get("per_class_ap", {})})
    rows = [(label, [cells[e, dataset].get("per_class_ap", {}).get(label) for e in present]) for label in labels]
    return {"encoders": present, "rows": rows}


@router.get("/eval/{name}", response_class=HTMLResponse)
def evaluation(request: Request, name: str):
    record = backend(request).evaluation(name)
    if record is None:
        raise EvaluationError(f"collection '{name}' has no evaluation yet; run `python cli.py eval -c {name}`")
    curve = pr_curves({record["metric"]: record["pr_curve"]["precision"]})
    return page(request, "collection_eval.html", record=record, curves=curve)


@router.get("/eval/{name}/q/{point_id}", response_class=HTMLResponse)
def drill_down(request: Request, name: str, point_id: str):
    found = backend(request)
    ranking = found.ranking(name, point_id)
    relevant_ranks = [rank for rank, relevant in enumerate(ranking.relevant, start=1) if relevant]
    return page(
        request,
        "drilldown.html",
        ranking=ranking,
        hits=list(zip(ranking.hits[:DRILL_HITS], ranking.relevant[:DRILL_HITS], strict=True)),
        relevant_ranks=relevant_ranks,
        curves=pr_curves({"this query": ranking.pr_curve}),
        recorded=found.query_ap(name, ranking.query_id),
    )
