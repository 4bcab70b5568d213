"""Ad-hoc queries and collection management; importing this package loads no model."""

from search.collections import CollectionSummary, collection_info, list_collections, summarize
from search.query_records import Query, SearchResult
from search.searcher import Searcher

__all__ = ["CollectionSummary", "Query", "SearchResult", "Searcher", "collection_info", "list_collections", "summarize"]
