"""Qdrant access for every stage: connection, naming, points and queries."""

from store.naming import collection_name, point_id, slug
from store.qdrant_store import DEFAULT_STORAGE, Store
from store.ranking import METHODS, rank_all
from store.types import CollectionInfo, Hit, IndexSettings, Neighbours, Points

__all__ = [
    "DEFAULT_STORAGE", "METHODS", "CollectionInfo", "Hit", "IndexSettings", "Neighbours",
    "Points", "Store", "collection_name", "point_id", "rank_all", "slug",
]
