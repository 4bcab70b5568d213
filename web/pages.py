"""Collections, a collection's grid, thumbnails, and queries (stored point, upload, text)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, Field

from encoders import SPECS
from errors import CollectionBusyError
from search import SearchResult
from search.examples import Examples, Side
from search.point_refs import checked_id
from search.query_checks import unknown_encoder
from store import share_label
from store.example_query import Strategy
from tune.findings import tune_paths
from web.backend import MAX_UPLOAD_BYTES, Backend
from web.explore import Explorer, dashboard_url
from web.templating import page
from web.thumbs import SIZES, ThumbnailCache, content_key, etag

router = APIRouter()
PAGE_SIZE = 100
Hits = Annotated[int, Query(ge=1, le=200)]


def backend(request: Request) -> Backend:
    return request.app.state.backend


def explorer(request: Request) -> Explorer:
    return request.app.state.explorer


def has_text_tower(encoder: str) -> bool:
    return encoder in SPECS and SPECS[encoder].text


@router.get("/", response_class=HTMLResponse)
def collections(request: Request):
    found = backend(request)
    rows = []
    for info in found.collections():
        if info.broken:  # listed with why, its pages not linked: nothing of it can be read
            rows.append({"info": info})
            continue
        classes = None
        if not info.busy:
            try:
                classes = len(found.summary(info.name).classes)
            except CollectionBusyError as error:  # taken by another process since it was listed
                info = replace(info, busy=str(error).split("; ")[0])
        rows.append(
            {
                "info": info,
                "classes": classes,
                "text": has_text_tower(info.encoder),
                "provenance": found.provenance(info.name),
                "evaluation": found.evaluation(info.name),
                "dashboard": dashboard_url(found.store.location, info.name),
            }
        )
    return page(request, "collections.html", rows=rows, location=found.store.location, skipped=found.skipped_records())


@router.get("/c/{name}", response_class=HTMLResponse)
def collection(
    request: Request,
    name: str,
    *,
    label: str | None = None,
    sort: str = "dataset",
    to: str | None = None,
    page_number: Annotated[int, Query(alias="page", ge=1)] = 1,
):
    """The grid: every point, or those with `label` among their labels (any case), in the order `sort` names."""
    found = backend(request)
    summary = found.summary(name)
    ordered, aps = explorer(request).sorted_points(name, sort, to)
    wanted = (label.strip().casefold(),) if label else None
    points = [(pid, p) for pid, p in ordered if wanted is None or share_label(map(str.casefold, p.label_set), wanted)]
    pages = max(1, -(-len(points) // PAGE_SIZE))
    page_number = min(page_number, pages)
    shown = points[(page_number - 1) * PAGE_SIZE : page_number * PAGE_SIZE]
    keep = {key: value for key, value in (("label", label), ("sort", sort), ("to", to)) if value and value != "dataset"}
    return page(
        request,
        "collection.html",
        summary=summary,
        label=label,
        sort=sort,
        to=to,
        keep=keep,
        aps=aps,
        points=shown,
        matching=len(points),
        page=page_number,
        pages=pages,
        text=has_text_tower(summary.info.encoder),
        root_found=found.image_root(name) is not None,
        dashboard=dashboard_url(found.store.location, name),
        tuned=tune_paths(found.options.reports, name)[0].is_file(),
    )


@router.get("/c/{name}/thumb/{point_id}")
def thumb(request: Request, name: str, point_id: str, *, size: str = "grid"):
    """A stored point's thumbnail, found by id alone, cached by the image's content and validated by ETag;
    404 when the point or its image is missing."""
    found = backend(request)
    if size not in SIZES:
        return Response(status_code=400)
    pid = checked_id(point_id)
    payload = found.store.payload(name, pid) if found.store.exists(name) else None
    if payload is None:
        return Response(status_code=404)
    root = found.image_root(name)
    key = content_key(payload, root)
    if key is None:
        return Response(status_code=404)
    headers = {"ETag": etag(key, SIZES[size]), "Cache-Control": "no-cache"}
    if headers["ETag"] in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    file = ThumbnailCache(found.options.reports / ".thumbnails").get(key, SIZES[size], root=root, relative=payload.path)
    if file is None:
        return Response(status_code=404)
    if isinstance(file, bytes):  # the cache could not be written: served, not cached
        return Response(file, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
    return FileResponse(file, media_type="image/jpeg", headers=headers)


@router.get("/c/{name}/p/{point_id}", response_class=HTMLResponse)
def neighbours(request: Request, name: str, point_id: str, *, k: Hits = 12):
    found = backend(request)
    result = found.neighbours(name, point_id, k)
    ap = found.query_ap(name, result.source_id)
    return results_page(request, result, ap=ap, siblings=explorer(request).siblings(name))


class Asked(BaseModel):
    """A "more like these" request's query string: `like` and `unlike` point ids, and the grid's or map's
    `pick`ed points, which join the `side` their button named."""

    like: list[str] = []
    unlike: list[str] = []
    pick: list[str] = []
    side: Side = Side.LIKE
    strategy: Strategy = Strategy.BEST
    k: int = Field(12, ge=1, le=200)

    def examples(self) -> Examples:
        like, unlike = list(self.like), list(self.unlike)
        (like if self.side is Side.LIKE else unlike).extend(self.pick)
        return Examples(tuple(dict.fromkeys(like)), tuple(dict.fromkeys(unlike)), self.strategy)


@router.get("/c/{name}/like", response_class=HTMLResponse)
def more_like(request: Request, name: str, asked: Annotated[Asked, Query()]):
    """More like the `like` points, less like the `unlike` ones: the examples shown above the hits, which
    never include them."""
    return results_page(request, backend(request).by_examples(name, asked.examples(), asked.k))


@router.get("/c/{name}/query", response_class=HTMLResponse)
def query_form(request: Request, name: str):
    info = backend(request).store.info(name)
    text, refused = has_text_tower(info.encoder), unknown_encoder(info)  # refused: no forms that would be refused
    return page(request, "query.html", info=info, text=text, refused=refused, max_mb=MAX_UPLOAD_BYTES // 2**20)


@router.get("/c/{name}/text", response_class=HTMLResponse)
def text(request: Request, name: str, *, q: str = "", k: Hits = 12):
    return results_page(request, backend(request).by_text(name, q, k))


def results_page(request: Request, result: SearchResult, **context) -> HTMLResponse:
    """Hits framed by whether they share the stored query point's class (the template's `relevance`), with a k
    control."""
    return page(request, "results.html", result=result, **context)
