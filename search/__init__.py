"""Ad-hoc queries and collection management; importing this package loads no model."""

from search.collections import CollectionSummary, collection_info, list_collections, summarize
from search.query import Query, Searcher, SearchResult

__all__ = ["CollectionSummary", "Query", "SearchResult", "Searcher", "collection_info", "list_collections", "summarize"]
