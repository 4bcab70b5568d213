"""`duplicates`: exact duplicates by content hash and near duplicates by cosine, grouped, within a collection
or across two (leaks between splits). Entry points: `find_within`, `find_across`; `search_within` keeps a
collection's pairs for higher thresholds (the web page's cache)."""

from duplicates.across import find_across
from duplicates.duplicate_options import DuplicateOptions
from duplicates.report import DuplicateReport
from duplicates.thresholds import MEASURED, Threshold, threshold_for
from duplicates.within import WithinPairs, find_within, search_within

__all__ = [
    "MEASURED",
    "DuplicateOptions",
    "DuplicateReport",
    "Threshold",
    "WithinPairs",
    "find_across",
    "find_within",
    "search_within",
    "threshold_for",
]
