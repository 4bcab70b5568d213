"""The checks of a query against the collection and the encoder registry: before any model loads (points, a known
encoder, a text tower, a precision this device runs, the --init), and of the vector once embedded (same weights,
precision and dimension as the collection's points)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from encoders import SPECS, get_spec
from encoders.interface import resolve_device
from encoders.precision import precision_problem
from errors import QueryError

if TYPE_CHECKING:
    from search.embedding import Embedded
    from store import CollectionInfo, VectorStore


def query_settings(
    info: CollectionInfo, store: VectorStore, *, device: str, init: str | None, text_only: bool
) -> tuple[str, str]:
    """The precision and --init that embed queries like the collection's points, once the collection is
    known to have points, an encoder this tool knows and (for a text) a text tower: the one check of every
    embedded query. `init` None: the collection's own."""
    if info.points == 0:
        raise QueryError(f"collection '{info.name}' is empty, so its encoder is unknown")
    _check_known_encoder(info)
    if text_only and not get_spec(info.encoder).text:
        raise QueryError(_no_text_tower(info, store))
    return _precision(info, device), init or recorded_init(info)


def _no_text_tower(info: CollectionInfo, store: VectorStore) -> str:
    """Why a text query cannot be asked of `info`, and which collections of its dataset can answer one."""
    capable = [name for name, spec in SPECS.items() if spec.text]
    others = [
        other.name
        for other in map(store.info, store.collection_names())
        if other.dataset == info.dataset and other.encoder in capable
    ]
    where = (
        f"text-capable collections of dataset '{info.dataset}': {', '.join(others)}"
        if others
        else f"dataset '{info.dataset}' has no text-capable collection; create one with "
        f"`python cli.py ingest -d {info.dataset} -e {capable[0]}`"
    )
    return (
        f"collection '{info.name}' uses encoder '{info.encoder}', which has no text tower; "
        f"text queries need {' or '.join(capable)} ({where})"
    )


def recorded_init(info: CollectionInfo) -> str:
    """The --init a collection was ingested with, from its provenance: random or random-tiny, else pretrained."""
    identity = info.provenance.weights_identity if info.provenance else None
    return identity.kind if identity is not None and identity.random else "pretrained"


def check_same_weights(info: CollectionInfo, embedded: Embedded) -> None:
    """A query vector made with other weights than the collection's is meaningless: refuse it."""
    recorded = info.provenance.weights_identity if info.provenance else None
    comparable = recorded is not None and recorded.kind != "imported"  # imported with --same-as: taken on trust
    if comparable and embedded.weights is not None and recorded != embedded.weights:
        raise QueryError(
            f"collection '{info.name}' was made with {recorded.describe()}, but the query would be embedded "
            f"with {embedded.weights.describe()}; use the --init/--weights it was ingested with"
        )
    if info.provenance is not None and embedded.precision != info.provenance.precision:
        raise QueryError(
            f"collection '{info.name}' was computed in {info.provenance.precision}, but the query would be "
            f"embedded in {embedded.precision}"
        )
    if len(embedded.vector) != info.dim:
        raise QueryError(
            f"collection '{info.name}' holds {info.dim}-d vectors but this {info.encoder} "
            f"encoder gives {len(embedded.vector)}-d; use the --init/--weights it was ingested with"
        )


def _precision(info: CollectionInfo, device: str) -> str:
    """The precision the collection's vectors were computed in, refused where this device cannot run it."""
    precision = info.provenance.precision if info.provenance else "fp32"
    problem = None if precision == "fp32" else precision_problem(precision, resolve_device(device))
    if problem is not None:
        raise QueryError(f"collection '{info.name}' was computed in {precision}, and so must its queries be: {problem}")
    return precision


def _check_known_encoder(info: CollectionInfo) -> None:
    """Imported vectors answer image and text queries only when the import said which encoder made them."""
    problem = unknown_encoder(info)
    if problem is not None:
        raise QueryError(problem)


def unknown_encoder(info: CollectionInfo) -> str | None:
    """Why no image or text query can be embedded for `info` (vectors imported without --same-as), or None:
    what the search refuses with, and what the web app's query page says instead of its forms."""
    provenance = info.provenance
    if provenance is None or provenance.weights_identity.kind != "imported" or provenance.same_as:
        return None
    return (
        f"collection '{info.name}' holds vectors imported from {provenance.imported_from}; no encoder is known "
        f"to embed an image or a text like them (query by --id or --path, or import again with --same-as "
        f"if encoder '{info.encoder}' made them)"
    )
