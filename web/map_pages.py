"""The embedding map of a collection (drawn by static/map.js from compact JSON) and its class confusion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from errors import QueryError
from evaluation.records.variant import FULL
from presentation.charts import share_class
from store import CollectionInfo
from store.provenance import no_labels
from web.layout import METHODS
from web.pages import backend, explorer
from web.templating import page

DEFAULT_K = 10  # top hits a confusion counts

router = APIRouter()
QUERIES_PAGE = 24  # queries on a page of a confusion cell's pairs, each with all its confused hits
K = Annotated[int, Query(ge=1, le=100)]


def labeled(request: Request, name: str) -> CollectionInfo:
    """The collection's info where it has labels, which the class confusion needs; else one line saying so."""
    info = backend(request).store.info(name)
    if not info.labeled:
        raise QueryError(f"{no_labels(name)}: the class confusion needs labels; its map and neighbours need none")
    return info


@router.get("/c/{name}/map", response_class=HTMLResponse)
def embedding_map(request: Request, name: str, method: str = "auto"):
    if method not in METHODS:
        raise QueryError(f"unknown projection '{method}'; choose one of {', '.join(METHODS)}")
    info = backend(request).store.info(name)
    return page(request, "map.html", info=info, method=method, methods=METHODS)


@router.get("/c/{name}/map.json")
def map_data(request: Request, name: str, method: str = "auto"):
    """Every point's id, class and integer position: arrays, not objects, so 20,000 points stay small; with a
    note on the layout and `pending` while UMAP is computed (the page asks again and swaps).

    The cached JSON is sent as it is, the note put in front of its members: no parsing of a megabyte of JSON.
    """
    if method not in METHODS:
        raise QueryError(f"unknown projection '{method}'; choose one of {', '.join(METHODS)}")
    answer = explorer(request).map_answer(name, method)
    return Response(answer.body(), media_type="application/json", headers={"Cache-Control": "no-store"})


@router.get("/c/{name}/confusion", response_class=HTMLResponse)
def class_confusion(request: Request, name: str, k: K = DEFAULT_K):
    """The heatmap, each class beside its AP in the collection's full leave-one-out record where there is one."""
    info = labeled(request, name)
    found = explorer(request).confusion(name, k)
    rows = [
        (label, queries, [(share, share_class(share)) for share in shares]) for label, queries, shares in found.rows()
    ]
    record = backend(request).evaluation(name, FULL)
    class_ap = (record.data.get("per_class_ap") or {}) if record is not None else None
    return page(request, "confusion.html", info=info, confusion=found, rows=rows, k=k, class_ap=class_ap)


@router.get("/c/{name}/confusion/pairs", response_class=HTMLResponse)
def confusion_pairs(
    request: Request,
    name: str,
    *,
    row: str,
    column: str,
    k: K = DEFAULT_K,
    page_number: Annotated[int, Query(alias="page", ge=1)] = 1,
):
    """The query-hit pairs behind one cell: class-`row` queries and their class-`column` hits in the top k."""
    info = labeled(request, name)
    found = explorer(request).confusion(name, k)
    for label in (row, column):
        if label not in found.classes:
            raise QueryError(f"collection '{name}' has no class '{label}'")
    pairs = found.pairs(row, column)
    by_query: dict[int, list[tuple[int, int]]] = {}  # each query once, its confused hits beside it in rank order
    for query, hit, rank in pairs:
        by_query.setdefault(query, []).append((hit, rank))
    groups = list(by_query.items())
    pages = max(1, -(-len(groups) // QUERIES_PAGE))
    page_number = min(page_number, pages)
    points = found.neighbours.points
    shown = [
        (
            points.ids[query],
            points.payloads[query],
            [(points.ids[hit], points.payloads[hit], rank) for hit, rank in hits],
        )
        for query, hits in groups[(page_number - 1) * QUERIES_PAGE : page_number * QUERIES_PAGE]
    ]
    return page(
        request,
        "pairs.html",
        name=name,
        info=info,
        row=row,
        column=column,
        k=k,
        share=found.share(found.classes.index(row), found.classes.index(column)),
        total=len(pairs),
        queries=len(groups),
        groups=shown,
        page=page_number,
        pages=pages,
    )
