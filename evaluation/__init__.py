"""Leave-one-out evaluation: pure metrics, the runner over the store, figures and the report."""

from evaluation.report import read_summaries, study_table, write_collection_report, write_index
from evaluation.runner import Evaluation, GalleryRow, leave_one_out

__all__ = [
    "Evaluation",
    "GalleryRow",
    "leave_one_out",
    "read_summaries",
    "study_table",
    "write_collection_report",
    "write_index",
]
