"""Side by side, the full-size viewer, uploads at a GET URL, and the favicon."""

from __future__ import annotations

import io
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from PIL import Image

from errors import QueryError
from evaluation.records.variant import FULL
from media.thumbnails import file_thumbnail, file_under
from presentation.environment import STATIC
from search.point_refs import checked_id
from web.backend import MAX_UPLOAD_BYTES
from web.pages import Hits, backend, explorer, results_page
from web.templating import page

router = APIRouter()
PREVIEW = 360  # an upload's picture on its results page


@router.get("/favicon.ico", include_in_schema=False)
def favicon():
    return FileResponse(STATIC / "favicon.png", media_type="image/png")


@router.get("/c/{name}/compare/{point_id}", response_class=HTMLResponse)
def compare(
    request: Request,
    name: str,
    point_id: str,
    *,
    other: Annotated[list[str] | None, Query(alias="with")] = None,
    k: Hits = 12,
):
    """The stored point's neighbours in `name` and in each `with` collection (every sibling when none is named)."""
    found = explorer(request)
    siblings = found.siblings(name)
    chosen = [o for o in other or siblings if o != name]
    for sibling in chosen:
        if sibling not in siblings:
            raise QueryError(
                f"'{sibling}' is not a collection of the same dataset as '{name}'; choose among {siblings}"
            )
    columns = found.columns([name, *chosen], point_id, k)
    if columns[0].result is None:
        raise QueryError(f"no point in '{name}' has id '{point_id}'")
    return page(
        request, "compare.html", name=name, columns=columns, siblings=siblings, chosen=chosen, k=k, query=columns[0]
    )


@router.get("/c/{name}/v/{point_id}", response_class=HTMLResponse)
def viewer(request: Request, name: str, point_id: str):
    """A stored point's image at full size with its facts, and the points before and after it."""
    found = backend(request)
    pid = checked_id(point_id)
    samples = found.summary(name).samples
    position = next((i for i, (sample_id, _) in enumerate(samples) if sample_id == pid), None)
    if position is None:
        raise QueryError(f"no point in '{name}' has id '{pid}'")
    payload = samples[position][1]
    file = file_under(found.image_root(name), payload.path)
    size = None
    if file is not None:
        try:
            with Image.open(file) as opened:
                size = (opened.width, opened.height, file.stat().st_size)
        except (OSError, Image.DecompressionBombError):
            size = None  # the page says the file could not be read
    return page(
        request,
        "viewer.html",
        name=name,
        info=found.store.info(name),
        point_id=pid,
        payload=payload,
        size=size,
        ap=found.query_ap(name, pid, FULL),
        before=samples[position - 1][0] if position > 0 else None,
        after=samples[position + 1][0] if position + 1 < len(samples) else None,
        labels=payload.label_set,
    )


@router.get("/c/{name}/image/{point_id}")
def image(request: Request, name: str, point_id: str):
    """The stored point's original file, never one outside the collection's image root."""
    found = backend(request)
    payload = found.store.payload(name, checked_id(point_id)) if found.store.exists(name) else None
    file = None if payload is None else file_under(found.image_root(name), payload.path)
    if file is None:
        return Response(status_code=404)
    return FileResponse(file, headers={"Cache-Control": "max-age=3600"})


@router.get("/c/{name}/upload/{digest}", response_class=HTMLResponse)
def upload_results(request: Request, name: str, digest: str, *, k: Hits = 12, file: str = ""):
    """The results of a kept upload: a URL that can be reloaded and shared while the server runs."""
    found = explorer(request)
    data = found.upload(digest)
    try:
        result = backend(request).by_upload(name, data, k)
    except QueryError:
        found.forget_upload(digest)
        raise
    return results_page(request, result, upload=digest, upload_name=file)


@router.get("/c/{name}/upload/{digest}/preview")
def upload_preview(request: Request, name: str, digest: str):
    file = explorer(request).upload_path(digest)
    shown = file_thumbnail(file, PREVIEW) if file.is_file() else None
    if shown is None:
        return Response(status_code=404)
    buffer = io.BytesIO()
    shown.save(buffer, "JPEG", quality=85)
    return Response(buffer.getvalue(), media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})


@router.post("/c/{name}/upload")
def upload(
    request: Request,
    name: str,
    *,
    file: Annotated[UploadFile | None, File()] = None,
    k: Annotated[int, Form(ge=1, le=200)] = 12,
):
    """Keep the upload and send the browser to its results' GET URL (303: a reload is a GET, not a resend)."""
    data = file.file.read(MAX_UPLOAD_BYTES + 1) if file is not None else b""
    if len(data) > MAX_UPLOAD_BYTES:
        raise QueryError(f"the upload is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    backend(request).store.require(name)
    digest = explorer(request).keep_upload(data)
    query = urlencode({"k": k, "file": (file.filename or "") if file else ""})
    path = request.app.url_path_for("upload_results", name=name, digest=digest)
    return RedirectResponse(f"{path}?{query}", status_code=303)  # a path: no Host header reflected
