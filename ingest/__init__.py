"""Reading datasets and loading them into the store through an encoder.

The pipeline names load on first use: reading a dataset folder must not pay
for importing torch.
"""

from ingest.datasets import Dataset, Item, Problem, discover, read_dataset, select_datasets

_PIPELINE = {
    "IngestOptions": "IngestOptions",
    "IngestReport": "IngestReport",
    "write_report": "write_report",
    "ingest_dataset": "ingest",
}

__all__ = ["Dataset", "Item", "Problem", "discover", "read_dataset", "select_datasets", *_PIPELINE]


def __getattr__(name: str):
    if name in _PIPELINE:
        from ingest import pipeline

        return getattr(pipeline, _PIPELINE[name])
    raise AttributeError(f"module 'ingest' has no attribute '{name}'")
