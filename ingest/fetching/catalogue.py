"""The public datasets `datasets fetch` can download: where each file comes from, how big it is,
which checksum proves it, and where its contents go.

Data only. Sizes and checksums are the published ones, each with its source; where none is
published the field is None and the source says so (such a file is not verified: its sha256 is
reported after the download so it can be recorded). Archive members are placed by `Place` rules,
relative to the dataset's folder; members no rule takes are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Place:
    """Archive members under `source` go to `target` (a folder in the dataset's folder, ending in '/'),
    keeping the rest of their path, or only their file name when `flatten`; with `suffix` only members
    whose name ends so (any case) are taken."""

    source: str
    target: str
    flatten: bool = False
    suffix: str | None = None

    def to_json(self) -> dict:
        return {"source": self.source, "target": self.target, "flatten": self.flatten, "suffix": self.suffix}


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: an archive whose members `places` put in the dataset's folder, or a plain
    file saved there as `save_as`. `checksum` is 'md5:<hex>' or 'sha256:<hex>', or None when unpublished."""

    url: str
    size: int | None
    size_source: str
    checksum: str | None
    checksum_source: str
    places: tuple[Place, ...] = ()
    save_as: str | None = None

    @property
    def filename(self) -> str:
        return PurePosixPath(self.url.split("?")[0]).name

    @property
    def archive(self) -> str | None:
        """'tar' (any compression), 'zip', or None for a plain file."""
        name = self.filename.lower()
        if name.endswith((".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz")):
            return "tar"
        return "zip" if name.endswith(".zip") else None

    def to_json(self) -> dict:
        return {
            "url": self.url,
            "filename": self.filename,
            "size": self.size,
            "size_source": self.size_source,
            "checksum": self.checksum,
            "checksum_source": self.checksum_source,
            "places": [place.to_json() for place in self.places],
            "save_as": self.save_as,
        }


@dataclass(frozen=True)
class Entry:
    """A fetchable dataset: its files, the folder (relative to the data root) they make, and its terms."""

    name: str
    title: str
    homepage: str
    folder: str
    files: tuple[RemoteFile, ...]
    layout: str
    licence: str

    @property
    def size(self) -> int | None:
        """Total bytes to download, when every file's size is published."""
        sizes = [file.size for file in self.files]
        return None if None in sizes else sum(sizes)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "homepage": self.homepage,
            "folder": self.folder,
            "size": self.size,
            "files": [file.to_json() for file in self.files],
            "layout": self.layout,
            "licence": self.licence,
        }


REVISITOP_GND = "http://cmp.felk.cvut.cz/revisitop/data/datasets"
NO_CHECKSUM = "none published (project page and revisitop's download.py give none): not verified"
GND_SIZE = "not published; the server's Content-Length is shown"
REVISITOP_TERMS = (
    "Flickr photos: use must respect Flickr's terms of use and the VGG dataset's terms of access; "
    "ground truth by Radenovic et al., CVPR 2018 (revisitop)"
)
JPG = (Place("", "jpg/", flatten=True, suffix=".jpg"),)

IMAGENETTE_CLASSES = {
    "n01440764": "tench",
    "n02102040": "english_springer",
    "n02979186": "cassette_player",
    "n03000684": "chain_saw",
    "n03028079": "church",
    "n03394916": "french_horn",
    "n03417042": "garbage_truck",
    "n03425413": "gas_pump",
    "n03445777": "golf_ball",
    "n03888257": "parachute",
}

CATALOGUE: dict[str, Entry] = {
    entry.name: entry
    for entry in (
        Entry(
            name="roxford5k",
            title="Revisited Oxford 5k (Radenovic et al., CVPR 2018)",
            homepage="https://github.com/filipradenovic/revisitop",
            folder="roxford5k",
            files=(
                RemoteFile(
                    url="https://www.robots.ox.ac.uk/~vgg/data/oxbuildings/oxbuild_images-v1.tgz",
                    size=1_938_238_004,
                    size_source="Content-Length measured by a third party (not published by VGG)",
                    checksum=None,
                    checksum_source=NO_CHECKSUM,
                    places=JPG,
                ),
                RemoteFile(
                    url=f"{REVISITOP_GND}/roxford5k/gnd_roxford5k.pkl",
                    size=None,
                    size_source=GND_SIZE,
                    checksum=None,
                    checksum_source=NO_CHECKSUM,
                    save_as="gnd_roxford5k.pkl",
                ),
            ),
            layout="roxford5k/jpg/*.jpg (every archive member flattened, as revisitop's download.py does) "
            "and roxford5k/gnd_roxford5k.pkl",
            licence=REVISITOP_TERMS,
        ),
        Entry(
            name="rparis6k",
            title="Revisited Paris 6k (Radenovic et al., CVPR 2018)",
            homepage="https://github.com/filipradenovic/revisitop",
            folder="rparis6k",
            files=(
                RemoteFile(
                    url="https://www.robots.ox.ac.uk/~vgg/data/parisbuildings/paris_1-v1.tgz",
                    size=None,
                    size_source="not published; the server's Content-Length is shown",
                    checksum=None,
                    checksum_source=NO_CHECKSUM,
                    places=JPG,
                ),
                RemoteFile(
                    url="https://www.robots.ox.ac.uk/~vgg/data/parisbuildings/paris_2-v1.tgz",
                    size=None,
                    size_source="not published; the server's Content-Length is shown",
                    checksum=None,
                    checksum_source=NO_CHECKSUM,
                    places=JPG,
                ),
                RemoteFile(
                    url=f"{REVISITOP_GND}/rparis6k/gnd_rparis6k.pkl",
                    size=None,
                    size_source=GND_SIZE,
                    checksum=None,
                    checksum_source=NO_CHECKSUM,
                    save_as="gnd_rparis6k.pkl",
                ),
            ),
            layout="rparis6k/jpg/*.jpg (the landmark subfolders flattened, as revisitop's download.py does) "
            "and rparis6k/gnd_rparis6k.pkl",
            licence=REVISITOP_TERMS,
        ),
        Entry(
            name="voc2007",
            title="PASCAL VOC 2007 trainval",
            homepage="http://host.robots.ox.ac.uk/pascal/VOC/voc2007/",
            folder="VOCdevkit/VOC2007",
            files=(
                RemoteFile(
                    url="http://host.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtrainval_06-Nov-2007.tar",
                    size=460_032_000,
                    size_source="tensorflow/datasets url_checksums/voc.txt",
                    checksum="md5:c52e279531787c972589f7e41ab4ae64",
                    checksum_source="torchvision/datasets/voc.py (same URL; the VOC page publishes none)",
                    places=(Place("VOCdevkit/VOC2007/", ""),),
                ),
            ),
            layout="VOCdevkit/VOC2007/{JPEGImages,Annotations,ImageSets/Main,...} as in the archive",
            licence="Flickr photos: use must respect Flickr's terms of use (VOC2007 page); annotations by the "
            "PASCAL VOC project",
        ),
        Entry(
            name="imagenette",
            title="Imagenette 160 px, validation split (fast.ai; 10 ImageNet classes)",
            homepage="https://github.com/fastai/imagenette",
            folder="imagenette",
            files=(
                RemoteFile(
                    url="https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",
                    size=99_003_388,
                    size_source="tensorflow/datasets datasets/imagenette/checksums.tsv",
                    checksum="md5:e793b78cc4c9e9a4ccc0c1155377a412",
                    checksum_source="torchvision/datasets/imagenette.py (same URL; fast.ai publishes none)",
                    places=tuple(
                        Place(f"imagenette2-160/val/{wnid}/", f"{name}/") for wnid, name in IMAGENETTE_CLASSES.items()
                    ),
                ),
            ),
            layout="imagenette/<class>/*.JPEG: the val split only, WordNet ids renamed to class names "
            "(torchvision's names); the train split is left in the archive",
            licence="a subset of ImageNet: ImageNet's terms of access (non-commercial research and education)",
        ),
    )
}
