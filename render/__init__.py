"""Everything the command line shows: progress bars, tables, messages and JSON.

A `Screen` draws on the consoles it is given (stdout and stderr by default);
it computes nothing. Its views are grouped by command, one module each.
Text that comes from files or payloads goes through `safe` first, so a label
or path can neither inject rich markup nor send terminal control codes.
"""

from __future__ import annotations

from render.cells import figure, safe
from render.deduplicating import DuplicateViews
from render.evaluating import EvaluationViews
from render.ingesting import IngestViews
from render.listings import ListingViews
from render.searching import SearchViews
from render.tuning import TuneViews

__all__ = ["Screen", "figure", "safe"]


class Screen(ListingViews, IngestViews, EvaluationViews, SearchViews, TuneViews, DuplicateViews):
    """The command line's output: results on `out`, progress and notes on `err`."""
