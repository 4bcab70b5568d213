"""media/: finding a dataset's image folder, safe thumbnails, gallery sheets and the two galleries drawn with them."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFont

import media.thumbnails
from errors import MediaError
from evaluation.records.gallery_rows import GalleryRow
from evaluation.report.galleries import draw_gallery
from media.roots import find_image_root, looked_in, resolve_image_root
from media.sheets import (
    CAPTION_LINES,
    HEADING_HEIGHT,
    LINE_HEIGHT,
    MIN_COLUMNS,
    NEUTRAL,
    OTHER_CLASS,
    PAD,
    PLACEHOLDER,
    QUERY,
    SAME_CLASS,
    TEXT_BACKGROUND,
    TILE,
    TILE_HEIGHT,
    TILE_WIDTH,
    TITLE_HEIGHT,
    Row,
    Tile,
    draw_sheet,
    fit,
    text_tile,
)
from media.thumbnails import thumbnail
from search.query_records import Query, SearchResult
from search.result_sheet import write_gallery
from store import CollectionInfo, Hit, ImagePayload

SAMPLES = ["red/00.jpg", "green/01.jpg", "blue/03.jpg"]


def test_the_resolver_finds_the_images_folder_of_the_named_dataset(data_root):
    assert find_image_root(data_root, "shapes", SAMPLES) == data_root / "Shapes" / "images"


def test_the_resolver_prefers_a_folder_named_like_the_dataset(data_root):
    for name in ("Another", "A_copy"):  # sorted before 'Shapes', and holding the same paths
        for path in SAMPLES:
            (data_root / name / path).parent.mkdir(parents=True, exist_ok=True)
            (data_root / name / path).write_bytes(b"x")
    assert find_image_root(data_root, "shapes", SAMPLES) == data_root / "Shapes" / "images"
    assert find_image_root(data_root, "another", SAMPLES) == data_root / "Another"


def test_the_resolver_accepts_the_data_root_itself(data_root):
    assert find_image_root(data_root / "Shapes" / "images", "corel1k", SAMPLES) == data_root / "Shapes" / "images"


def test_the_resolver_gives_none_without_the_paths_or_the_data_root(data_root, tmp_path):
    assert find_image_root(data_root, "shapes", ["red/00.jpg", "red/99.jpg"]) is None
    assert find_image_root(data_root, "shapes", []) is None
    assert find_image_root(tmp_path / "nowhere", "shapes", SAMPLES) is None


def test_the_recorded_folder_comes_first_and_the_data_root_is_the_fallback(data_root, tmp_path):
    images = data_root / "Shapes" / "images"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert resolve_image_root(str(images), elsewhere, "shapes", paths=SAMPLES) == images  # a data root, unused
    assert resolve_image_root(str(tmp_path / "moved"), data_root, "shapes", paths=SAMPLES) == images
    assert resolve_image_root(str(tmp_path / "moved"), elsewhere, "shapes", paths=SAMPLES) is None
    where = looked_in(str(tmp_path / "moved"), elsewhere)
    assert f"in {tmp_path / 'moved'} (the folder the collection recorded)" in where
    assert f"nor under {elsewhere}" in where and "\n" not in where
    assert looked_in(str(images), None) == f"in {images} (the folder the collection recorded)"


def test_thumbnails_decode_like_ingest_and_give_none_when_they_cannot_be_shown(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned; the picture is 60 wide and 120 high
    Image.new("RGB", (120, 60), (200, 40, 40)).save(tmp_path / "turned.jpg", exif=exif)
    assert thumbnail(tmp_path, "turned.jpg", 180).size == (60, 120)  # upright; smaller than 180, so not scaled
    assert thumbnail(tmp_path, "turned.jpg", 30).size == (15, 30)  # shrunk to fit, proportions kept
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    assert (np.asarray(thumbnail(tmp_path, "clear.png", 180)) == 255).all()  # transparency on white, as ingest sees it
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a picture")
    for relative in ("missing.jpg", "broken.jpg", ""):
        assert thumbnail(tmp_path, relative, 180) is None
    assert thumbnail(None, "turned.jpg", 180) is None


def test_a_thumbnail_never_opens_a_file_outside_its_root(tmp_path, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    Image.new("RGB", (20, 20), (1, 2, 3)).save(tmp_path / "outside.png")
    Image.new("RGB", (20, 20), (4, 5, 6)).save(root / "inside.png")
    (root / "out_link.png").symlink_to(tmp_path / "outside.png")
    (root / "in_link.png").symlink_to(root / "inside.png")
    opened = []
    decode = media.thumbnails.load_rgb
    monkeypatch.setattr(media.thumbnails, "load_rgb", lambda path, **kw: opened.append(path) or decode(path, **kw))
    for relative in ("../outside.png", "out_link.png", str(tmp_path / "outside.png"), "x/../../outside.png"):
        assert thumbnail(root, relative, 180) is None, relative
    assert opened == []
    assert thumbnail(root, "in_link.png", 180).getpixel((0, 0)) == (4, 5, 6)  # a link that stays inside is shown
    assert opened == [root.resolve() / "inside.png"]


def _square(colour: tuple[int, int, int], size=(50, 50)) -> Image.Image:
    return Image.new("RGB", size, colour)


def test_tiles_keep_their_documented_size():
    assert (TILE_WIDTH, TILE_HEIGHT) == (TILE + 2 * PAD, TILE + 2 * PAD + CAPTION_LINES * LINE_HEIGHT + 4) == (192, 226)


@pytest.mark.parametrize(
    "lengths, columns, tiles_wide, tile_lines",
    [
        ([5, 2], None, 5, 2),  # as wide as the longest row
        ([8, 2], 3, 3, 3 + 1),  # 8 tiles wrap onto 3 lines of 3
        ([2], 6, MIN_COLUMNS, 1),  # a short row: as wide as its tiles, but never under MIN_COLUMNS
        ([0], None, MIN_COLUMNS, 0),  # a heading alone (a note)
    ],
)
def test_a_sheet_is_as_big_as_its_rows_and_columns(tmp_path, lengths, columns, tiles_wide, tile_lines):
    rows = [Row(f"row {i}", [Tile(_square((9, 9, 9)), ("c",), NEUTRAL)] * n) for i, n in enumerate(lengths)]
    out = draw_sheet(rows, "title", tmp_path / "sheet.png", columns=columns)
    with Image.open(out) as sheet:
        assert sheet.format == "PNG"
        assert sheet.size == (
            tiles_wide * TILE_WIDTH,
            TITLE_HEIGHT + len(lengths) * HEADING_HEIGHT + tile_lines * TILE_HEIGHT,
        )


def test_a_missing_image_is_a_grey_square_and_frames_follow_the_picture(tmp_path):
    tiles = [
        Tile(None, ("gone.jpg",), NEUTRAL),
        Tile(_square((250, 200, 0)), ("square",), SAME_CLASS),  # fitted to the whole TILE square
        Tile(_square((0, 200, 250), (100, 50)), ("wide",), OTHER_CLASS),  # fitted to TILE x TILE/2, centred
        text_tile("a red bus", ("query: text",), QUERY),
    ]
    with Image.open(draw_sheet([Row("heading", tiles)], "title", tmp_path / "sheet.png")) as sheet:
        sheet = sheet.convert("RGB")
    top = TITLE_HEIGHT + HEADING_HEIGHT
    middle = top + PAD + TILE // 2

    assert sheet.getpixel((PAD + 20, top + PAD + 20)) == PLACEHOLDER
    assert sheet.getpixel((PAD - 2, middle)) == NEUTRAL

    left = TILE_WIDTH
    assert sheet.getpixel((left + PAD + TILE // 2, middle)) == (250, 200, 0)
    assert sheet.getpixel((left + PAD - 2, middle)) == SAME_CLASS
    assert sheet.getpixel((left + PAD + TILE // 2, top + PAD - 2)) == SAME_CLASS

    left = 2 * TILE_WIDTH
    picture_top = top + PAD + TILE // 4
    assert sheet.getpixel((left + PAD + TILE // 2, middle)) == (0, 200, 250)
    assert sheet.getpixel((left + PAD + TILE // 2, picture_top - 2)) == OTHER_CLASS
    assert sheet.getpixel((left + PAD + TILE // 2, top + PAD + 10)) == (255, 255, 255)  # no frame above the picture

    left = 3 * TILE_WIDTH
    assert sheet.getpixel((left + PAD - 2, middle)) == QUERY
    text_area = [sheet.getpixel((x, y)) for x in range(left + PAD, left + PAD + TILE) for y in range(top + PAD, middle)]
    assert TEXT_BACKGROUND in text_area and min(map(sum, text_area)) < 100  # the query's words on a light square


def test_long_captions_are_shortened_to_fit():
    font = ImageFont.load_default(size=12)
    path = "/".join(["a-very-long-folder-name"] * 6) + "/photo.jpg"
    end = fit(path, font, TILE)
    assert end.startswith("...") and end.endswith("/photo.jpg") and font.getlength(end) <= TILE
    start = fit(path, font, TILE, keep_start=True)
    assert start.startswith("a-very-long") and start.endswith("...") and font.getlength(start) <= TILE
    assert fit("short.jpg", font, TILE) == "short.jpg"


def test_a_tile_takes_at_most_two_caption_lines():
    with pytest.raises(ValueError, match="at most 2 caption lines"):
        Tile(None, ("one", "two", "three"), NEUTRAL)


@pytest.mark.parametrize("name", ["a-file/sheet.png", "sheet.unknown"])
def test_an_unwritable_sheet_raises_one_clear_error_naming_it(tmp_path, name):
    (tmp_path / "a-file").write_text("not a folder")
    out = tmp_path / name
    with pytest.raises(MediaError, match=re.escape(f"cannot write the gallery '{out}'")):
        draw_sheet([Row("heading", [])], "title", out)


def _frames(picture: Path, count: int) -> list[tuple[int, int, int]]:
    """The colour at the left edge of each tile's frame, mid-height, on a sheet's first tile line."""
    with Image.open(picture) as sheet:
        y = TITLE_HEIGHT + HEADING_HEIGHT + PAD + TILE // 2
        return [sheet.convert("RGB").getpixel((i * TILE_WIDTH + PAD - 2, y)) for i in range(count)]


def _result(query: Query, source: ImagePayload | None, hits: list[tuple[str, str]], root: Path) -> SearchResult:
    info = CollectionInfo("shapes_colorhist", 12, 3, "Cosine", "shapes", "colorhist", "embedded")
    found = [Hit(str(i), i + 1, 0.9 - i / 10, label, path) for i, (path, label) in enumerate(hits)]
    return SearchResult(query, info, found, source_id="0" if source else None, source=source, image_root=root)


def test_a_search_gallery_frames_hits_by_the_query_label_and_counts_the_missing(data_root, tmp_path):
    hits = [("red/01.jpg", "red"), ("green/00.jpg", "green"), ("red/gone.jpg", "red")]
    query = Query("shapes_colorhist", path="red/00.jpg")
    out = tmp_path / "gallery.png"
    root = data_root / "Shapes" / "images"
    source = ImagePayload("red", "red/00.jpg", "shapes", "colorhist", 0)
    assert write_gallery(_result(query, source, hits, root), out) == 1
    assert _frames(out, 4) == [QUERY, SAME_CLASS, OTHER_CLASS, SAME_CLASS]
    with Image.open(out) as sheet:
        assert sheet.getpixel((3 * TILE_WIDTH + PAD + 20, TITLE_HEIGHT + HEADING_HEIGHT + PAD + 20)) == PLACEHOLDER
    text = _result(Query("shapes_colorhist", text="red"), None, hits[:2], root)
    assert write_gallery(text, out) == 0
    assert _frames(out, 3) == [QUERY, NEUTRAL, NEUTRAL]  # a text query has no label to compare with


def test_an_evaluation_gallery_frames_the_query_blue_and_hits_by_relevance(data_root, tmp_path):
    hits = [Hit("b", 1, 0.9, "red", "red/01.jpg"), Hit("c", 6, 0.8, "blue", "blue/02.jpg")]
    row = GalleryRow(Hit("a", 0, 0.5, "red", "red/00.jpg"), hits)
    out = draw_gallery([row], data_root / "Shapes" / "images", tmp_path / "best.png", title="toy: the 1 best queries")
    assert _frames(out, 3) == [QUERY, SAME_CLASS, OTHER_CLASS]
    with Image.open(out) as sheet:
        assert sheet.size == (MIN_COLUMNS * TILE_WIDTH, TITLE_HEIGHT + HEADING_HEIGHT + TILE_HEIGHT)
        red = sheet.convert("RGB").getpixel((PAD + TILE // 2, TITLE_HEIGHT + HEADING_HEIGHT + PAD + TILE // 2))
    assert red[0] > 120 and red[1] < 120  # the query's own (red) image, not a placeholder
