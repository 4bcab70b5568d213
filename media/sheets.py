"""Gallery sheets: rows of framed thumbnails under a title, drawn with Pillow alone.

Searches and evaluations both draw through `draw_sheet`. The layout, in
pixels, so that a sheet's size follows from its rows:

- every tile is TILE_WIDTH x TILE_HEIGHT: a PAD margin, a TILE square holding
  the picture (fitted, centred, with a FRAME-wide frame in the tile's colour),
  then CAPTION_LINES caption lines of LINE_HEIGHT;
- a sheet is `columns` tiles wide at most (the longest row by default), as wide
  as its widest line and never under MIN_COLUMNS tiles;
- from the top: a title band of TITLE_HEIGHT, then per row a heading line of
  HEADING_HEIGHT and its tiles, `columns` to a line (a longer row wraps).

Text is drawn as is (no markup), with control and bidi characters shown as escapes, and
shortened with '...' when it does not fit: a caption's first line (rank, score, label)
keeps its start, the second (a path) its end, where the file name is.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from errors import MediaError
from media.files import write_bytes_atomic
from media.inert_text import inert

TILE = 180
PAD = 6
FRAME = 4
LINE_HEIGHT = 15
CAPTION_LINES = 2
TILE_WIDTH = TILE + 2 * PAD
TILE_HEIGHT = TILE + 2 * PAD + CAPTION_LINES * LINE_HEIGHT + 4
TITLE_HEIGHT = 34
HEADING_HEIGHT = 22
MIN_COLUMNS = 3

QUERY = (40, 90, 200)
SAME_CLASS = (40, 160, 70)
OTHER_CLASS = (200, 60, 50)
NEUTRAL = (150, 150, 150)
PLACEHOLDER = (210, 210, 210)
TEXT_BACKGROUND = (245, 245, 245)

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Tile:
    """One framed picture with up to CAPTION_LINES caption lines; no image draws a grey 'image not found' square."""

    image: Image.Image | None
    caption: tuple[str, ...]
    colour: Colour

    def __post_init__(self) -> None:
        if len(self.caption) > CAPTION_LINES:
            raise ValueError(f"a tile has at most {CAPTION_LINES} caption lines, not {len(self.caption)}")


@dataclass(frozen=True)
class Row:
    """A heading line and its tiles (none: the heading alone, e.g. a note)."""

    heading: str
    tiles: list[Tile]


def text_tile(text: str, caption: tuple[str, ...], colour: Colour) -> Tile:
    """A tile showing `text` wrapped on a light square: the picture of a text query."""
    picture = Image.new("RGB", (TILE, TILE), TEXT_BACKGROUND)
    lines = textwrap.wrap(inert(text), width=24)[:9]
    ImageDraw.Draw(picture).multiline_text((8, 8), "\n".join(lines), fill="black", font=_font(12))
    return Tile(picture, caption, colour)


def draw_sheet(rows: list[Row], title: str, out: Path, *, columns: int | None = None) -> Path:
    """Draw `rows` under `title` into `out` (format from its suffix) and return `out`.

    `columns` is the most tiles on one line (default: the longest row). Raises
    MediaError naming `out` when the file cannot be written.
    """
    longest = max((len(row.tiles) for row in rows), default=0)
    per_line = max(columns or longest, 1)
    lines = [-(-len(row.tiles) // per_line) for row in rows]
    width = max(min(per_line, longest), MIN_COLUMNS) * TILE_WIDTH
    height = TITLE_HEIGHT + len(rows) * HEADING_HEIGHT + sum(lines) * TILE_HEIGHT
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    font, big = _font(12), _font(18)
    draw.text((PAD, 8), fit(title, big, width - 2 * PAD, keep_start=True), fill="black", font=big)
    top = TITLE_HEIGHT
    for row, count in zip(rows, lines, strict=True):
        draw.text((PAD, top + 4), fit(row.heading, font, width - 2 * PAD, keep_start=True), fill="black", font=font)
        top += HEADING_HEIGHT
        for i, tile in enumerate(row.tiles):
            sheet.paste(_draw_tile(tile, font), ((i % per_line) * TILE_WIDTH, top + (i // per_line) * TILE_HEIGHT))
        top += count * TILE_HEIGHT
    drawn = io.BytesIO()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(drawn, format=Image.registered_extensions().get(out.suffix.lower()))
    except (OSError, ValueError, KeyError) as error:  # an unwritable folder or an unknown picture suffix
        raise MediaError(f"cannot write the gallery '{out}': {error}") from None
    write_bytes_atomic(out, drawn.getvalue())  # a full disk leaves no truncated picture
    return out


def fit(text: str, font: ImageFont.FreeTypeFont, width: int, *, keep_start: bool = False) -> str:
    """`text` made inert (`media.inert_text.inert`: no control or bidi characters) and shortened with '...'
    until it is at most `width` pixels wide: from the left (a path's file name stays) or, with
    `keep_start`, from the right. A binary search over lengths, so a 10 KB label costs a few measures."""
    text = inert(text)
    if len(text) <= width and font.getlength(text) <= width:  # no glyph is narrower than a pixel
        return text

    def cut(keep: int) -> str:
        return text[:keep] + "..." if keep_start else "..." + text[len(text) - keep :]

    low, high = 0, min(len(text) - 1, width)  # the longest kept part that fits is in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(cut(middle)) <= width:
            low = middle
        else:
            high = middle - 1
    return cut(low)


def _draw_tile(tile: Tile, font: ImageFont.FreeTypeFont) -> Image.Image:
    canvas = Image.new("RGB", (TILE_WIDTH, TILE_HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    thumb = ImageOps.contain(tile.image if tile.image is not None else _placeholder(font), (TILE, TILE))
    left, top = PAD + (TILE - thumb.width) // 2, PAD + (TILE - thumb.height) // 2
    frame = (left - FRAME, top - FRAME, left + thumb.width + FRAME - 1, top + thumb.height + FRAME - 1)
    draw.rectangle(frame, fill=tile.colour)
    canvas.paste(thumb, (left, top))
    for line, text in enumerate(tile.caption):
        shown = fit(text, font, TILE, keep_start=line == 0)
        draw.text((PAD, TILE + 2 * PAD + 2 + LINE_HEIGHT * line), shown, fill="black", font=font)
    return canvas


def _placeholder(font: ImageFont.FreeTypeFont) -> Image.Image:
    square = Image.new("RGB", (TILE, TILE), PLACEHOLDER)
    ImageDraw.Draw(square).text((8, TILE // 2 - 6), "image not found", fill="black", font=font)
    return square


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)
