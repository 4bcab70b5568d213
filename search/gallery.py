"""A picture of a query and its hits: the query first, then the hits in rank order.

Stored paths are relative to their dataset's image folder, which is found
under a data root. A hit whose file is not found gets a grey tile, so the
picture is always written. Drawn with Pillow alone (no matplotlib, no torch).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from errors import QueryError
from media.images import BadImage, load_rgb
from media.roots import find_image_root
from search.query import SearchResult

TILE = 180
CAPTION = 34
PAD = 6
COLUMNS = 6
QUERY_COLOUR = (40, 90, 200)
SAME_LABEL = (40, 160, 70)
OTHER_LABEL = (200, 60, 50)
NEUTRAL = (150, 150, 150)


def write_gallery(result: SearchResult, out: Path, data_root: Path) -> int:
    """Write the picture to `out` (format from its suffix); returns how many hit images were not found."""
    paths = [hit.payload.get("path", "") for hit in result.hits]
    if result.source:
        paths.insert(0, result.source.get("path", ""))
    root = find_image_root(data_root, result.info.dataset, paths[:3])
    font = ImageFont.load_default(size=12)
    query_label = (result.source or {}).get("label")
    tiles = [_query_tile(result, root, font)]
    missing = 0
    for rank, hit in enumerate(result.hits, start=1):
        image = _stored(root, hit.payload.get("path", ""))
        missing += image is None
        label = hit.payload.get("label", "?")
        colour = NEUTRAL if query_label is None else SAME_LABEL if label == query_label else OTHER_LABEL
        tiles.append(_tile(image, [f"#{rank}  {hit.score:.3f}  {label}", hit.payload.get("path", "")], colour, font))
    columns = min(COLUMNS, len(tiles))
    rows = -(-len(tiles) // columns)
    width, height = TILE + 2 * PAD, TILE + CAPTION + 2 * PAD
    sheet = Image.new("RGB", (columns * width, rows * height), "white")
    for i, tile in enumerate(tiles):
        sheet.paste(tile, ((i % columns) * width, (i // columns) * height))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(out)
    except (OSError, ValueError) as error:  # an unwritable folder or an unknown picture suffix
        raise QueryError(f"cannot write the gallery '{out}': {error}") from None
    return missing


def _query_tile(result: SearchResult, root: Path | None, font: ImageFont.FreeTypeFont) -> Image.Image:
    query = result.query
    if query.kind == "text":
        return _tile(_text_picture(query.text, font), ["query: text", ""], QUERY_COLOUR, font)
    if query.kind == "image":
        try:
            image = load_rgb(query.image)
        except (BadImage, OSError):
            image = None
        return _tile(image, ["query: image", query.image.name], QUERY_COLOUR, font)
    path = result.source.get("path", "")
    return _tile(_stored(root, path), [f"query: {result.source.get('label', '?')}", path], QUERY_COLOUR, font)


def _stored(root: Path | None, path: str) -> Image.Image | None:
    if root is None or not path:
        return None
    try:
        return load_rgb(root / path, min_side=TILE)
    except (BadImage, OSError):
        return None


def _text_picture(text: str, font: ImageFont.FreeTypeFont) -> Image.Image:
    picture = Image.new("RGB", (TILE, TILE), (245, 245, 245))
    lines = textwrap.wrap(text, width=24)[:9]
    ImageDraw.Draw(picture).multiline_text((8, 8), "\n".join(lines), fill="black", font=font)
    return picture


def _tile(
    image: Image.Image | None, caption: list[str], colour: tuple[int, int, int], font: ImageFont.FreeTypeFont
) -> Image.Image:
    """A framed thumbnail with two caption lines; a grey 'not found' square when there is no image."""
    tile = Image.new("RGB", (TILE + 2 * PAD, TILE + CAPTION + 2 * PAD), "white")
    draw = ImageDraw.Draw(tile)
    if image is None:
        image = Image.new("RGB", (TILE, TILE), (210, 210, 210))
        ImageDraw.Draw(image).text((8, TILE // 2 - 6), "image not found", fill="black", font=font)
    thumb = ImageOps.contain(image, (TILE, TILE))
    left, top = PAD + (TILE - thumb.width) // 2, PAD + (TILE - thumb.height) // 2
    draw.rectangle((left - 4, top - 4, left + thumb.width + 3, top + thumb.height + 3), fill=colour)
    tile.paste(thumb, (left, top))
    for line, text in enumerate(caption):
        draw.text((PAD, TILE + 2 * PAD + 2 + 15 * line), _fit(draw, text, font), fill="black", font=font)
    return tile


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont) -> str:
    """`text`, shortened from the left with '...' until it fits the tile's width."""
    while text and draw.textlength(text, font=font) > TILE:
        text = "..." + text[4:]
    return text
