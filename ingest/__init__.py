"""Reading datasets and loading them into the store through an encoder.

The pipeline names load on first use: reading a dataset folder must not pay
for importing torch.
"""

from ingest.reading.dataset_reader import read_dataset, select_datasets
from ingest.reading.dataset_records import Dataset, Item, Problem
from ingest.reading.discovery import discover

_PIPELINE = {
    "IngestOptions": ("pipeline", "IngestOptions"),
    "IngestReport": ("pipeline", "IngestReport"),
    "write_report": ("pipeline", "write_report"),
    "ingest_dataset": ("pipeline", "ingest"),
    "ingest_all": ("run", "ingest_all"),
    "import_vectors": ("imported", "import_vectors"),
    "ImportSource": ("imported", "ImportSource"),
    "CATALOGUE": ("fetching.catalogue", "CATALOGUE"),
    "fetch_plan": ("fetching.fetch", "plan"),
    "fetch_dataset": ("fetching.fetch", "fetch"),
}

__all__ = ["Dataset", "Item", "Problem", "discover", "read_dataset", "select_datasets", *_PIPELINE]


def __getattr__(name: str):
    if name in _PIPELINE:
        import importlib

        module, attribute = _PIPELINE[name]
        return getattr(importlib.import_module(f"ingest.{module}"), attribute)
    raise AttributeError(f"module 'ingest' has no attribute '{name}'")
