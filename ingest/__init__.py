"""Reading datasets and loading them into the store through an encoder."""

from ingest.datasets import Dataset, Item, Problem, discover, read_dataset
from ingest.pipeline import IngestOptions, IngestReport, write_report
from ingest.pipeline import ingest as ingest_dataset

__all__ = [
    "Dataset", "IngestOptions", "IngestReport", "Item", "Problem", "discover", "ingest_dataset",
    "read_dataset", "write_report",
]
