"""The duplicates review page: a collection's duplicate groups side by side (thumbnail, stored path, pixel size,
file size), the threshold a form field that reloads the page; what `python cli.py duplicates -c` finds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from PIL import Image, UnidentifiedImageError

from duplicates.groups import Member
from errors import QueryError
from media.containment import containment_problem
from web.pages import backend, explorer
from web.templating import page
from web.tune_pages import checked_name

router = APIRouter()
MAX_GROUPS = 100  # groups shown; the page says how many more there are
MAX_MEMBERS = 60  # images shown of one group, and pair scores listed; the page says how many more
Cosine = Annotated[float | None, Query(ge=-1, le=1)]


@dataclass(frozen=True)
class ShownMember:
    """A group member as the page shows it: the stored image and its pixel size (None where unreadable)."""

    member: Member
    pixels: tuple[int, int] | None


@router.get("/c/{name}/duplicates", response_class=HTMLResponse)
def duplicates_page(request: Request, name: str, *, threshold: Cosine = None):
    """The groups at `threshold` (default: the encoder's measured one; none measured: the page asks for one)."""
    name = checked_name(request, name)
    found = backend(request)
    info = found.store.info(name)
    try:
        report = explorer(request).duplicates(name, threshold)
    except QueryError as error:  # no measured default for this encoder: the field asks for a threshold
        return page(
            request,
            "duplicates.html",
            name=name,
            info=info,
            report=None,
            groups=[],
            problem=str(error),
            asked=threshold,
        )
    root = found.image_root(name)
    groups = [
        [ShownMember(m, _pixels(root, m.path)) for m in group.members[:MAX_MEMBERS]]
        for group in report.groups[:MAX_GROUPS]
    ]
    return page(
        request, "duplicates.html", name=name, info=info, report=report, groups=groups, problem=None, most=MAX_MEMBERS
    )


def _pixels(root: Path | None, relative: str) -> tuple[int, int] | None:
    """Width and height from the image file's header, None where it is missing, outside its folder or unreadable."""
    if root is None or containment_problem(root, relative) is not None:
        return None
    try:
        with Image.open(root / relative) as image:
            return image.size
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return None
