"""The best and worst queries of an evaluation as gallery sheets (drawn by `media.sheets`).

Images are read from `image_root`, the folder the stored paths are relative
to; when it is None, or a file is missing or unreadable, a grey placeholder
takes the image's place.
"""

from __future__ import annotations

from pathlib import Path

from evaluation.records.gallery_rows import GalleryRow
from media.sheets import OTHER_CLASS, QUERY, SAME_CLASS, TILE, Row, Tile, draw_sheet
from media.thumbnails import thumbnail

NO_ROWS = "no query has an AP (every class has a single member)"


def draw_gallery(rows: list[GalleryRow], image_root: Path | None, out: Path, *, title: str) -> Path:
    """One sheet row per query: the query framed blue, then its first hits, green when relevant, red when not."""
    return draw_sheet([_row(row, image_root) for row in rows] or [Row(NO_ROWS, [])], title, out)


def _row(row: GalleryRow, image_root: Path | None) -> Row:
    query = row.query
    first = Tile(thumbnail(image_root, query.path, TILE), (f"query: {query.label}", query.path), QUERY)
    hits = [
        Tile(
            thumbnail(image_root, hit.path, TILE),
            (f"{hit.score:.3f}  {hit.label}", hit.path),
            SAME_CLASS if row.relevant(hit) else OTHER_CLASS,
        )
        for hit in row.hits
    ]
    heading = f"AP {query.score:.3f} · query #{query.index} · {query.label} · {query.path}"
    return Row(heading, [first, *hits])
