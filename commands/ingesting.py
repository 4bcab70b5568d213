"""`ingest`, `demo` and `import`: datasets and vectors into collections."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from commands.context import (
    Context,
    command_line,
    data_root_option,
    format_option,
    index_options,
    model_options,
    store_options,
)
from commands.evaluating import evaluate, query_encoders
from errors import DatasetError, WeightsMissingError
from ingest.parts import parse_part
from media.images import DEFAULT_MAX_PIXELS
from render import safe


@click.command()
@click.option("--dataset", "-d", "dataset_names", multiple=True, help="Dataset name (repeatable); default all.")
@click.option(
    "--encoder",
    "-e",
    "encoder_names",
    multiple=True,
    help="Encoder (repeatable); default dinov2, clip, resnet18; 'all': every one.",
)
@data_root_option()
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(0), help="Decoding processes.")
@model_options
@click.option("--recreate", is_flag=True, help="Drop and rebuild the collections.")
@click.option("--prune", is_flag=True, help="Delete stored points whose images are no longer listed.")
@click.option(
    "--part",
    callback=lambda _ctx, _param, value: parse_part(value),
    help="I/N: only part I of N of each dataset (by point id), so N machines ingest one collection together.",
)
@click.option("--strict", is_flag=True, help="Any bad file or list line is an error.")
@click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16"]),
    default="fp32",
    show_default=True,
    help="bf16: bfloat16 autocast (CUDA, or CPUs with AVX512-BF16); recorded, and searches use it too.",
)
@click.option(
    "--fast-decode", is_flag=True, help="Decode big JPEGs at 1/2..1/8 size (faster; pixels not the reference's)."
)
@click.option(
    "--max-pixels", default=DEFAULT_MAX_PIXELS, show_default=True, type=click.IntRange(1), help="Skip larger images."
)
@click.option(
    "--layout",
    type=click.Choice(["auto", "classes", "images"]),
    default="auto",
    show_default=True,
    help="A folder of images: auto (class folders only when every image is one folder down), classes (top "
    "folders are labels), images (no labels, any depth; a labeled dataset too).",
)
@click.option("--split", default="val", show_default=True, help="Pascal VOC: the ImageSets/Main split to read.")
@click.option("--voc-difficult", is_flag=True, help="Pascal VOC: count objects marked difficult.")
@click.option(
    "--voc-single-label",
    is_flag=True,
    help="Pascal VOC: one label per image, the class with the largest total box area (default: every class).",
)
@click.option("--shards", type=click.IntRange(1), help="Server: shards per new collection.")
@click.option("--replicas", type=click.IntRange(1), help="Server: replication factor.")
@index_options
@format_option
@store_options
@click.pass_obj
def ingest(
    obj: Context,
    dataset_names,
    encoder_names,
    data_root,
    device,
    weights,
    init,
    precision,
    output,
    layout,
    split,
    voc_difficult,
    voc_single_label,
    **options,
):
    """Embed datasets with encoders into one Qdrant collection per pair."""
    from dataclasses import fields

    from encoders import build_available, parse_weights, resolve_encoder_names
    from ingest import IngestOptions, select_datasets
    from ingest.reading.layouts import Layout
    from ingest.reading.voc import VocOptions
    from media.folders import writable_folder
    from store import IndexSettings, collection_name

    voc = VocOptions(split, voc_difficult, voc_single_label)
    datasets = select_datasets(data_root, dataset_names, voc, layout=Layout(layout))
    store = obj.check_store()  # the store and the reports folder are checked before any model loads
    writable_folder(obj.reports, create=False)
    for dataset in datasets.values():
        if dataset.how_read:
            obj.screen.note(safe(dataset.how_read))
    names = resolve_encoder_names(encoder_names)
    _hold_existing(store, [collection_name(d.name, n) for d in datasets.values() for n in names])
    models, skipped = build_available(
        names, device, weights=parse_weights(weights, names), init=init or "pretrained", precision=precision
    )
    if not models:
        raise WeightsMissingError("; ".join(reason for _, reason in skipped))
    obj.screen.skipped_encoders(skipped)
    settings = IndexSettings(**{f.name: options.pop(f.name) for f in fields(IndexSettings) if f.name in options})
    _ingest(obj, list(datasets.values()), models, IngestOptions(**options, settings=settings), output)
    if skipped:
        raise WeightsMissingError(
            f"skipped {', '.join(name for name, _ in skipped)} (no weights; see above); the other encoders were ingested"
        )


def _ingest(obj: Context, datasets: list, models: list, options, output: str = "table") -> None:
    from ingest import ingest_all

    store = obj.store(create=True)
    reports = ingest_all(
        store, datasets, models, options=options, reports_dir=obj.reports, progress=obj.screen.progress
    )
    if output == "json":
        obj.screen.json(reports)
    else:
        obj.screen.ingest(reports, store.location)
    if reports[-1].interrupted:
        sys.exit(130)
    failed = [report.failed for report in reports if report.failed]
    if failed:
        raise DatasetError(f"{failed[0]}; nothing was kept (the per-file reasons are listed above)")


@click.command()
@data_root_option()
@store_options
@click.pass_obj
def demo(obj: Context, data_root):
    """Generate data/patterns (colour and texture classes) and ingest it with every encoder that can run."""
    from encoders import SEED_ENCODERS, build_available
    from ingest import IngestOptions, read_dataset
    from ingest.demo import DEMO_DATASET, build_patterns
    from media.folders import writable_folder
    from store import collection_name

    obj.check_store()  # the store and the reports folder are checked before any model loads
    writable_folder(obj.reports, create=False)
    folder = data_root / DEMO_DATASET
    count = build_patterns(folder)
    obj.screen.line(f"demo dataset: {count} images in {safe(folder)}")
    models, skipped = build_available(["colorhist", *SEED_ENCODERS])
    obj.screen.skipped_encoders(skipped)
    _ingest(obj, [read_dataset(folder, DEMO_DATASET)], models, IngestOptions())
    from evaluation import EvalOptions

    names = [collection_name(DEMO_DATASET, model.spec.name) for model in models]
    evaluate(obj, names, EvalOptions(command=command_line(), encoders=query_encoders()))


@click.command("import")
@click.option("--vectors", required=True, type=click.Path(path_type=Path, dir_okay=False), help=".npy or .npz file.")
@click.option("--list", "list_file", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Its list.")
@click.option("--dataset", "-d", required=True, help="Dataset name of the collection.")
@click.option("--encoder", "-e", required=True, help="Name of the encoder that made the vectors.")
@click.option("--images", type=click.Path(path_type=Path), help="Folder the listed paths are relative to.")
@click.option(
    "--same-as", is_flag=True, help="The registered encoder of that name made them: allow image/text queries."
)
@click.option("--recreate", is_flag=True, help="Replace an existing collection.")
@format_option
@store_options
@click.pass_obj
def import_(obj: Context, vectors, list_file, dataset, encoder, images, same_as, recreate, output):
    """Store vectors computed elsewhere, row i for line i of a list of images, as a collection."""
    from ingest import ImportSource, import_vectors

    image_root = images or (list_file.parent / "images" if (list_file.parent / "images").is_dir() else list_file.parent)
    source = ImportSource(vectors, list_file, dataset, encoder, image_root)
    report = import_vectors(obj.store(create=True), source, same_as=same_as, recreate=recreate)
    if output == "json":
        obj.screen.json(report)
    else:
        completed = f", {report.written} written to complete it" if report.written < report.points else ""
        obj.screen.line(
            f"imported {report.points} {report.dim}-d vectors into {safe(report.collection)}{completed} "
            f"(sha256 {report.sha256[:12]} of {safe(report.vectors_file)})"
        )


def _hold_existing(store, names: list[str]) -> None:
    """Take the collections a command will write before any model loads: one another process
    holds is waited for (--wait) and then named now, not after minutes of loading."""
    if store is None:
        return
    for name in names:
        if store.exists(name):
            store.hold(name)
