"""A picture of a query and its hits: the query first, then the hits in rank order.

Stored paths are relative to their dataset's image folder, which
`media.roots` finds under a data root. Hits are framed green (sharing a label
with the query: `store.share_label`) or red (none), grey when the query has no label. A hit whose file is
not found gets a grey tile, so the picture is always written. Drawing and
decoding are `media`'s.
"""

from __future__ import annotations

from pathlib import Path

from errors import QueryError
from media.sheets import NEUTRAL, OTHER_CLASS, QUERY, SAME_CLASS, TILE, Row, Tile, draw_sheet, text_tile
from media.thumbnails import file_thumbnail, thumbnail
from search.query_records import SearchResult
from store.provenance import random_marked

COLUMNS = 6


def write_gallery(result: SearchResult, out: Path) -> int:
    """Write the picture to `out` (format from its suffix); returns how many hit images were not found.

    The images come from the folder the search found (`result.image_root`); where it found none, no
    picture of grey tiles is drawn: the error says where the images were looked for.
    """
    root = result.image_root
    if root is None and result.hits:
        raise QueryError(
            f"the images of '{result.info.name}' are not {result.looked_in}; pass --data-root with the folder "
            f"that holds its dataset to draw the gallery"
        )
    query_labels = result.source.label_set if result.source else ()
    tiles = [_query_tile(result, root)]
    missing = 0
    for rank, hit in enumerate(result.hits, start=1):
        image = thumbnail(root, hit.path, TILE)
        missing += image is None
        colour = NEUTRAL if not query_labels else SAME_CLASS if hit.relevant_to(query_labels) else OTHER_CLASS
        tiles.append(Tile(image, (f"#{rank}  {hit.score:.3f}  {', '.join(hit.label_set)}".rstrip(), hit.path), colour))
    query = result.query
    title = f"{random_marked(result.info.name, result.info.random_weights)}: query by {query.kind} {query.value}"
    heading = f"{len(result.hits)} hits, best first" + (
        f" · only label {query.label} (any of a point's labels, case ignored)" if query.label else ""
    )
    draw_sheet([Row(heading, tiles)], title, out, columns=COLUMNS)
    return missing


def _query_tile(result: SearchResult, root: Path | None) -> Tile:
    query = result.query
    if query.kind == "text":
        return text_tile(query.text, ("query: text",), QUERY)
    if query.kind == "image":
        return Tile(file_thumbnail(query.image, TILE), ("query: image", query.image.name), QUERY)
    source = result.source
    shown = ", ".join(source.label_set) or "stored point"  # an unlabeled point: no label to show
    return Tile(thumbnail(root, source.path, TILE), (f"query: {shown}", source.path), QUERY)
