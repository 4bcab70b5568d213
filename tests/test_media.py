"""media/: finding a dataset's image folder, safe thumbnails and gallery sheets."""

from __future__ import annotations

from media.roots import find_image_root

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
