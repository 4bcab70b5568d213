"""Qdrant access for every stage: connection, naming, points and queries.

Names, ids and records import at once; the engine (qdrant-client, about 2 s
to import) loads on first use of `Store`, `rank_all` and their kin.
"""

from store.naming import DEFAULT_STORAGE, collection_name, point_id, slug
from store.types import AnnRecall, CollectionInfo, Hit, IndexSettings, Neighbours, Points

_ENGINE = {"Store": "qdrant_store", "METHODS": "ranking", "ann_recall": "ranking", "rank_all": "ranking"}

__all__ = [
    "DEFAULT_STORAGE",
    "AnnRecall",
    "CollectionInfo",
    "Hit",
    "IndexSettings",
    "Neighbours",
    "Points",
    "collection_name",
    "point_id",
    "slug",
    *_ENGINE,
]


def __getattr__(name: str):
    if name in _ENGINE:
        import importlib

        return getattr(importlib.import_module(f"store.{_ENGINE[name]}"), name)
    raise AttributeError(f"module 'store' has no attribute '{name}'")
