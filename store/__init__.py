"""Qdrant access for every stage: connection, naming, points and queries."""

from store.naming import collection_name, point_id, slug
from store.qdrant_store import DEFAULT_STORAGE, Store
from store.ranking import METHODS, ann_recall, rank_all
from store.types import AnnRecall, CollectionInfo, Hit, IndexSettings, Neighbours, Points

__all__ = [
    "DEFAULT_STORAGE", "METHODS", "AnnRecall", "CollectionInfo", "Hit", "IndexSettings", "Neighbours",
    "Points", "Store", "ann_recall", "collection_name", "point_id", "rank_all", "slug",
]
