"""The tune page: what `python cli.py tune` measured on a collection (reports/<collection>/tune.json) and its
frontier figure, both found by the collection's name alone (`tune.findings`), never by a request's path."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from errors import QueryError
from tune.findings import read_tune, tune_paths
from web.pages import backend
from web.templating import page

router = APIRouter()
PATH_CHARACTERS = ("/", "\\", "\x00")


def checked_name(request: Request, name: str) -> str:
    """`name` when it names a collection of the store; a name with path characters is refused first."""
    if name in ("", ".", "..") or any(c in name for c in PATH_CHARACTERS):
        raise QueryError(f"'{name}' is not a collection name (it holds path characters); pick one on the front page")
    backend(request).store.info(name)  # CollectionNotFoundError, a 404 page, where there is none
    return name


@router.get("/c/{name}/tune", response_class=HTMLResponse)
def tune_page(request: Request, name: str):
    """The settings' table, the frontier marked, the recommendation, why, the commands that apply it, the figure."""
    name = checked_name(request, name)
    reports = backend(request).options.reports
    result = read_tune(reports, name)
    figure = result is not None and tune_paths(reports, name)[1].is_file()
    info = backend(request).store.info(name)
    return page(request, "tune.html", name=name, info=info, result=result, figure=figure)


@router.get("/c/{name}/tune.png")
def tune_figure(request: Request, name: str):
    """reports/<collection>/tune.png; 404 where `tune` drew none."""
    path = tune_paths(backend(request).options.reports, checked_name(request, name))[1]
    if not path.is_file():
        return Response(status_code=404)
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-cache"})
