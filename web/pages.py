"""Collections, a collection's grid, thumbnails, and queries (stored point, upload, text)."""

from __future__ import annotations

import base64
import io
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response

from encoders import SPECS
from search import SearchResult
from search.query import checked_id
from web.backend import MAX_UPLOAD_BYTES, Backend
from web.templating import page
from web.thumbs import SIZES, ThumbnailCache, content_key, etag

router = APIRouter()
PAGE_SIZE = 100
Hits = Annotated[int, Query(ge=1, le=200)]


def backend(request: Request) -> Backend:
    return request.app.state.backend


def has_text_tower(encoder: str) -> bool:
    return encoder in SPECS and SPECS[encoder].text


@router.get("/", response_class=HTMLResponse)
def collections(request: Request):
    found = backend(request)
    rows = []
    for info in found.collections():
        rows.append(
            {
                "info": info,
                "classes": None if info.busy else len(found.summary(info.name).classes),
                "text": has_text_tower(info.encoder),
                "provenance": found.provenance(info.name),
                "evaluation": found.evaluation(info.name),
            }
        )
    return page(request, "collections.html", rows=rows, location=found.store.location)


@router.get("/c/{name}", response_class=HTMLResponse)
def collection(
    request: Request, name: str, label: str | None = None, page_number: Annotated[int, Query(alias="page", ge=1)] = 1
):
    summary = backend(request).summary(name)
    points = [(pid, p) for pid, p in summary.samples if label is None or label in p.label_set]
    pages = max(1, -(-len(points) // PAGE_SIZE))
    page_number = min(page_number, pages)
    shown = points[(page_number - 1) * PAGE_SIZE : page_number * PAGE_SIZE]
    return page(
        request,
        "collection.html",
        summary=summary,
        label=label,
        points=shown,
        matching=len(points),
        page=page_number,
        pages=pages,
        text=has_text_tower(summary.info.encoder),
        root_found=backend(request).image_root(name) is not None,
    )


@router.get("/c/{name}/thumb/{point_id}")
def thumb(request: Request, name: str, point_id: str, size: str = "grid"):
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
    file = ThumbnailCache(found.options.reports / ".thumbnails").get(key, SIZES[size], root, payload.path)
    if file is None:
        return Response(status_code=404)
    if isinstance(file, bytes):  # the cache could not be written: served, not cached
        return Response(file, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
    return FileResponse(file, media_type="image/jpeg", headers=headers)


@router.get("/c/{name}/p/{point_id}", response_class=HTMLResponse)
def neighbours(request: Request, name: str, point_id: str, k: Hits = 12):
    found = backend(request)
    result = found.neighbours(name, point_id, k)
    ap = found.query_ap(name, result.source_id)
    return _results(request, result, ap=ap)


@router.get("/c/{name}/query", response_class=HTMLResponse)
def query_form(request: Request, name: str):
    info = backend(request).store.info(name)
    return page(request, "query.html", info=info, text=has_text_tower(info.encoder), max_mb=MAX_UPLOAD_BYTES // 2**20)


@router.post("/c/{name}/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    name: str,
    file: Annotated[UploadFile | None, File()] = None,
    k: Annotated[int, Form(ge=1, le=200)] = 12,
):
    data = file.file.read(MAX_UPLOAD_BYTES + 1) if file is not None else b""
    result, preview = backend(request).by_upload(name, data, k)
    return _results(request, result, preview=_data_uri(preview), upload_name=file.filename if file else "")


@router.get("/c/{name}/text", response_class=HTMLResponse)
def text(request: Request, name: str, q: str = "", k: Hits = 12):
    return _results(request, backend(request).by_text(name, q, k))


def _results(request: Request, result: SearchResult, **context) -> HTMLResponse:
    source = result.source
    frames = [
        "neutral"
        if source is None or source.label is None
        else "same"
        if hit.relevant_to(source.label_set)
        else "other"
        for hit in result.hits
    ]
    return page(request, "results.html", result=result, hits=list(zip(result.hits, frames, strict=True)), **context)


def _data_uri(image) -> str | None:
    if image is None:
        return None
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
