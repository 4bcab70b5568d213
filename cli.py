"""Command line: parse, call the library, render. Heavy imports happen inside commands."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click

from encoders import INITS
from errors import DatasetError, RetrievalError, WeightsMissingError
from ingest.parts import parse_part
from media.images import DEFAULT_MAX_PIXELS
from render import Screen, safe
from store import DEFAULT_STORAGE


@dataclass
class Context:
    storage: str
    qdrant_url: str | None
    api_key: str | None
    prefer_grpc: bool
    reports: Path
    screen: Screen
    _store: object = None

    def store(self, create: bool = False):
        """The store, opened on first use (embedded unless a URL is given); only ingest creates one."""
        if self._store is None:
            from store import open_store

            self._store = open_store(self.qdrant_url, self.api_key, self.storage, self.prefer_grpc, create=create)
        return self._store

    def check_store(self) -> None:
        """Before any model loads: open the store if it exists (a locked, damaged or unreachable one
        fails now), else check that it can be created; nothing is created yet."""
        if self._store is None:
            from store import open_existing_store

            self._store = open_existing_store(self.qdrant_url, self.api_key, self.storage, self.prefer_grpc)

    def close(self) -> None:
        """Release the store when the command ends (an embedded store locks its folder)."""
        if self._store is not None:
            self._store.close()


ENV_STORAGE = "RETRIEVAL_STORAGE"
ENV_REPORTS = "RETRIEVAL_REPORTS"
ENV_DATA_ROOT = "RETRIEVAL_DATA_ROOT"


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--storage",
    envvar=ENV_STORAGE,
    show_envvar=True,
    default=DEFAULT_STORAGE,
    show_default=True,
    help="Folder of the embedded Qdrant store (used when no URL is given).",
)
@click.option(
    "--qdrant-url", envvar="QDRANT_URL", show_envvar=True, help="Qdrant server URL, e.g. http://localhost:6333."
)
@click.option("--api-key", envvar="QDRANT_API_KEY", show_envvar=True, help="Qdrant API key.")
@click.option("--prefer-grpc", is_flag=True, help="Talk to the server over gRPC (port 6334).")
@click.option(
    "--reports",
    envvar=ENV_REPORTS,
    show_envvar=True,
    default="reports",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder for reports.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx, storage, qdrant_url, api_key, prefer_grpc, reports, debug):
    """Image retrieval on Qdrant: ingest, evaluate and search image collections.

    The store and report options work before or after the command's name.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        ctx.exit(0)
    ctx.obj = Context(storage, qdrant_url, api_key, prefer_grpc, reports, Screen())
    ctx.call_on_close(ctx.obj.close)


def _override(field: str):
    """A callback that puts an option given after the command's name into the Context."""

    def callback(ctx: click.Context, param: click.Parameter, value):
        if value is not None and value is not False:
            setattr(ctx.find_object(Context), field, value)

    return callback


def store_options(command):
    """The group's store and report options, accepted after the command's name too (they win there)."""
    options = [
        click.option(
            "--storage", callback=_override("storage"), expose_value=False, help=f"Store folder [{ENV_STORAGE}]."
        ),
        click.option(
            "--qdrant-url", callback=_override("qdrant_url"), expose_value=False, help="Server URL [QDRANT_URL]."
        ),
        click.option("--api-key", callback=_override("api_key"), expose_value=False, help="API key [QDRANT_API_KEY]."),
        click.option(
            "--prefer-grpc",
            is_flag=True,
            default=None,
            callback=_override("prefer_grpc"),
            expose_value=False,
            help="Talk to the server over gRPC.",
        ),
        click.option(
            "--reports",
            type=click.Path(path_type=Path),
            callback=_override("reports"),
            expose_value=False,
            help=f"Reports folder [{ENV_REPORTS}].",
        ),
        click.option("--debug", is_flag=True, expose_value=False, help="Show tracebacks."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def data_root_option(help: str = "Folder holding one folder per dataset."):
    return click.option(
        "--data-root",
        envvar=ENV_DATA_ROOT,
        show_envvar=True,
        default="data",
        show_default=True,
        type=click.Path(path_type=Path),
        help=help,
    )


def images_moved_option(command):
    """--data-root for commands that read images of stored collections: only when the images moved."""
    return click.option(
        "--data-root",
        envvar=ENV_DATA_ROOT,
        show_envvar=True,
        type=click.Path(path_type=Path),
        help="Find the images under this folder instead of where each collection recorded them (the data moved).",
    )(command)


def interactive() -> bool:
    """Whether a question can be asked: stdin is a terminal."""
    return sys.stdin.isatty()


def command_line() -> str:
    """This command as typed, with the API key's value hidden (it goes into reports)."""
    words = ["python", "cli.py", *sys.argv[1:]]
    shown = []
    for before, word in zip(["", *words], words, strict=False):
        if before == "--api-key":
            word = "***"
        elif word.startswith("--api-key="):
            word = "--api-key=***"
        shown.append(word)
    return " ".join(shown)


def model_options(command):
    """--device, --weights and --init, for the commands that load an encoder."""
    command = click.option(
        "--init",
        type=click.Choice(INITS),
        default="pretrained",
        show_default=True,
        help="Random weights, for tests and benchmarks (as the collection was ingested).",
    )(command)
    command = click.option("--weights", multiple=True, help="NAME=PATH: a local model folder or weights file.")(command)
    return click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)(
        command
    )


def format_option(command):
    """--format table|json: every listing has a human and a machine form."""
    choice = click.Choice(["table", "json"])
    return click.option(
        "--format", "output", type=choice, default="table", show_default=True, help="A table, or JSON on stdout."
    )(command)


@cli.command()
@click.option(
    "--check", is_flag=True, help="Each encoder's cached weights (identity, size) and what a first run downloads."
)
@format_option
@click.pass_obj
def encoders(obj: Context, check, output):
    """List the registered encoders and whether their weights are present."""
    from encoders import SPECS, weights_present

    if check:
        from encoders.check import check_weights

        checks = check_weights()
        if output == "json":
            obj.screen.json(checks)
        else:
            obj.screen.weights_checks(checks)
        return
    rows = [(spec, weights_present(spec)) for spec in SPECS.values()]
    if output == "json":
        obj.screen.json([{**spec.to_json(), "weights_present": present} for spec, present in rows])
    else:
        obj.screen.encoders(rows)


@cli.group(invoke_without_command=True)
@data_root_option()
@format_option
@click.pass_context
def datasets(ctx, data_root, output):
    """List the datasets found under the data root; `datasets fetch NAME` downloads a public one."""
    if ctx.invoked_subcommand is not None:
        return
    from ingest import discover, read_dataset

    found = [read_dataset(folder, name) for name, folder in discover(data_root).items()]
    if output == "json":
        ctx.obj.screen.json(found)
    else:
        ctx.obj.screen.datasets(found)


@datasets.command("fetch")
@click.argument("name", required=False)
@data_root_option("Folder the dataset goes into (downloads are kept in its downloads/).")
@click.option("--list", "show_list", is_flag=True, help="Show the public datasets that can be fetched.")
@format_option
@click.pass_obj
def datasets_fetch(obj: Context, name, data_root, show_list, output):
    """Download a public dataset (sizes, checksums, resumable), unpacked in the layout its reader expects."""
    from functools import partial

    from ingest import CATALOGUE, fetch_dataset, fetch_plan

    if show_list:
        entries = list(CATALOGUE.values())
        if output == "json":
            obj.screen.json(entries)
        else:
            obj.screen.catalogue(entries)
        return
    if name is None:
        raise click.UsageError(f"name a dataset to fetch: {', '.join(CATALOGUE)} (--list describes them)")
    obj.screen.fetch_plan(fetch_plan(name, data_root))
    report = fetch_dataset(name, data_root, progress=partial(obj.screen.progress, unit="bytes"))
    if output == "json":
        obj.screen.json(report)
    else:
        obj.screen.fetched(report)


@cli.command()
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
@click.option("--split", default="val", show_default=True, help="Pascal VOC: the ImageSets/Main split to read.")
@click.option("--voc-difficult", is_flag=True, help="Pascal VOC: count objects marked difficult.")
@click.option(
    "--voc-single-label",
    is_flag=True,
    help="Pascal VOC: one label per image, the class with the largest total box area (default: every class).",
)
@click.option("--shards", type=click.IntRange(1), help="Server: shards per new collection.")
@click.option("--replicas", type=click.IntRange(1), help="Server: replication factor.")
@click.option("--on-disk", is_flag=True, help="Server: keep vectors on disk (memory-mapped).")
@click.option("--hnsw-m", type=click.IntRange(0), help="Server: HNSW edges per node.")
@click.option("--hnsw-ef-construct", type=click.IntRange(4), help="Server: HNSW build beam.")
@click.option(
    "--quantization", type=click.Choice(["none", "int8", "binary"]), default="none", help="Server: quantization."
)
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
    split,
    voc_difficult,
    voc_single_label,
    **options,
):
    """Embed datasets with encoders into one Qdrant collection per pair."""
    from dataclasses import fields

    from encoders import build_available, parse_weights, resolve_encoder_names
    from ingest import IngestOptions, select_datasets
    from ingest.voc import VocOptions
    from media.folders import writable_folder
    from store import IndexSettings

    datasets = select_datasets(data_root, dataset_names, VocOptions(split, voc_difficult, voc_single_label))
    obj.check_store()  # the store and the reports folder are checked before any model loads
    writable_folder(obj.reports, create=False)
    names = resolve_encoder_names(encoder_names)
    models, skipped = build_available(names, device, parse_weights(weights, names), init, precision)
    if not models:
        raise WeightsMissingError("; ".join(reason for _, reason in skipped))
    obj.screen.skipped_encoders(skipped)
    settings = IndexSettings(**{f.name: options.pop(f.name) for f in fields(IndexSettings)})
    _ingest(obj, list(datasets.values()), models, IngestOptions(**options, settings=settings), output)
    if skipped:
        raise WeightsMissingError(
            f"skipped {', '.join(name for name, _ in skipped)} (no weights; see above); the other encoders were ingested"
        )


def _ingest(obj: Context, datasets: list, models: list, options, output: str = "table") -> None:
    from ingest import ingest_all

    store = obj.store(create=True)
    reports = ingest_all(store, datasets, models, options, obj.reports, obj.screen.progress)
    if output == "json":
        obj.screen.json(reports)
    else:
        obj.screen.ingest(reports, store.location)
    if reports[-1].interrupted:
        sys.exit(130)
    failed = [report.failed for report in reports if report.failed]
    if failed:
        raise DatasetError(f"{failed[0]}; nothing was kept (the per-file reasons are listed above)")


@cli.command()
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
    _evaluate(obj, [collection_name(DEMO_DATASET, model.spec.name) for model in models], None, None)


@cli.command("import")
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
    from ingest import import_vectors

    image_root = images or (list_file.parent / "images" if (list_file.parent / "images").is_dir() else list_file.parent)
    report = import_vectors(obj.store(create=True), vectors, list_file, dataset, encoder, image_root, same_as, recreate)
    if output == "json":
        obj.screen.json(report)
    else:
        obj.screen.line(
            f"imported {report.points} {report.dim}-d vectors into {safe(report.collection)} "
            f"(sha256 {report.sha256[:12]} of {safe(report.vectors_file)})"
        )


@cli.command("eval")
@click.option("--collection", "-c", "collections", multiple=True, help="Collection (repeatable); default all.")
@click.option("-k", "--k", type=click.IntRange(1), help="Rank only the top K: AP@K, denominator min(R, K).")
@images_moved_option
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Tables, or metrics.json on stdout (a list unless one -c).",
)
@click.option("--method", type=click.Choice(["auto", "block", "batch-query"]), default="auto", hidden=True)
@click.option("--ann", is_flag=True, help="recall@K (default 10) of approximate vs exact search.")
@click.option(
    "--rerank",
    type=click.Choice(["aqe", "dba", "dba+aqe"]),
    help="Also evaluate re-ranked (alpha query expansion / database-side augmentation) as its own row.",
)
@click.option("--rerank-k", default=2, show_default=True, type=click.IntRange(0), help="Neighbours re-ranking uses.")
@click.option("--alpha", default=3.0, show_default=True, type=click.FloatRange(0), help="Re-ranking weight exponent.")
@click.option("--exclude-duplicates", is_flag=True, help="Also the mAP with near-duplicates (cosine >= 0.995) as one.")
@click.option("--sample", type=click.IntRange(1), help="Only N seeded random queries, each against every point.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0), help="Seed of --sample's draw.")
@store_options
@click.pass_obj
def eval_(
    obj: Context,
    collections,
    k,
    data_root,
    output,
    method,
    ann,
    rerank,
    rerank_k,
    alpha,
    exclude_duplicates,
    sample,
    seed,
):
    """Leave-one-out evaluation: mAP, P@k, PR curves, best and worst queries, reports/index.html."""
    from evaluation import collections_to_evaluate, measure_ann

    store = obj.store()
    names = collections_to_evaluate(store, list(collections))
    as_json = output == "json"
    if ann:
        results = measure_ann(store, names, k or 10)
        if as_json:
            obj.screen.json(results[0] if len(collections) == 1 else results)
        else:
            obj.screen.ann(results, k or 10, store.location)
        return
    from evaluation import Rerank, Sample

    stage = Rerank(rerank, rerank_k, alpha) if rerank else None
    single = len(collections) == 1 and stage is None
    drawn = Sample(sample, seed) if sample else None
    _evaluate(obj, names, k, data_root, method, as_json, single, bool(collections), stage, exclude_duplicates, drawn)


def _evaluate(
    obj: Context,
    names: list[str],
    k: int | None,
    data_root: Path | None,
    method: str = "auto",
    as_json: bool = False,
    single: bool = False,
    explicit: bool = True,
    rerank=None,
    exclude_duplicates: bool = False,
    sample=None,
) -> None:
    """Evaluate and render; with `explicit` False a collection that cannot be evaluated is skipped."""
    from evaluation import evaluate_collections

    run = evaluate_collections(
        obj.store(),
        names,
        obj.reports,
        data_root,
        k,
        method,
        explicit,
        obj.screen.progress,
        command_line(),
        rerank,
        exclude_duplicates,
        sample,
    )
    if as_json:
        obj.screen.evaluation_notes(run)
        obj.screen.json(run.to_json()[0] if single else run.to_json())
    else:
        obj.screen.evaluation(run, study=not single)


@cli.command("search")
@click.option("--collection", "-c", required=True, help="Collection to query, e.g. corel1k_clip.")
@click.option("--image", type=click.Path(path_type=Path), help="Query by an image file.")
@click.option("--text", help="Query by text (encoders with a text tower, e.g. clip).")
@click.option("--id", "point_id", help="Query by a stored point's id; the point is not among the hits.")
@click.option("--path", "path", help="Query by a stored point's path, as stored (bus/db_100.jpg).")
@click.option("-k", "--k", "limit", default=10, show_default=True, type=click.IntRange(1), help="Hits.")
@click.option("--label", help="Only hits of this class.")
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "paths", "json"]),
    default="table",
    show_default=True,
    help="A table, stored paths one per line (control characters escaped on a terminal), or JSON.",
)
@click.option(
    "--print0", is_flag=True, help="Stored paths as they are, each ended by NUL (for xargs -0); implies paths."
)
@click.option("--gallery", type=click.Path(path_type=Path), help="Also draw the query and hits (PNG).")
@images_moved_option
@model_options
@store_options
@click.pass_obj
def search_command(obj: Context, output, print0, gallery, data_root, device, weights, init, **query):
    """Nearest stored images to an image file, a text, or a stored point (by id or path)."""
    from encoders import parse_weights
    from search import Query, Searcher

    searcher = Searcher(obj.store, device, parse_weights(weights), init, embed_ahead=True, data_root=data_root)
    result = searcher.search(Query(**query))
    if print0 or output == "paths":
        obj.screen.paths(result, nul=print0)
    elif output == "json":
        obj.screen.json(result)
    else:
        obj.screen.hits(result)
    if gallery:
        from search.gallery import write_gallery

        missing = write_gallery(result, gallery)
        note = f" ({missing} of {len(result.hits)} images not found in {result.image_root})"
        obj.screen.note(f"gallery: {safe(gallery)}{safe(note) if missing else ''}")


@cli.group("collections", invoke_without_command=True)
@format_option
@store_options
@click.pass_context
def collections_group(ctx, output):
    """List the collections; `collections show C` and `collections drop C` look inside and remove."""
    if ctx.invoked_subcommand is not None:
        return

    from search import list_collections

    store = ctx.obj.store()
    infos = list_collections(store)
    if output == "json":
        ctx.obj.screen.json(infos)
    else:
        ctx.obj.screen.collections(infos, store.location)


@collections_group.command("show")
@click.argument("name")
@click.option("--samples", default=3, show_default=True, type=click.IntRange(0), help="Points to show.")
@format_option
@store_options
@click.pass_obj
def collections_show(obj: Context, name, samples, output):
    """Class counts and a few sample payloads of one collection."""

    from search import summarize

    summary = summarize(obj.store(), name, samples)
    if output == "json":
        obj.screen.json(summary)
    else:
        obj.screen.collection(summary)


@collections_group.command("drop")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@store_options
@click.pass_obj
def collections_drop(obj: Context, name, yes):
    """Delete a collection and its points (asks first unless --yes)."""
    store = obj.store()
    info = store.info(name)
    if not yes:
        if not interactive():
            raise click.UsageError(f"--yes needed to drop '{name}': there is no terminal to ask on")
        click.confirm(f"drop '{name}' ({info.points} points) from {store.location}?", abort=True, err=True)
    store.drop(name)
    obj.screen.line(
        f"dropped {safe(name)} ({info.points} points, dataset {safe(info.dataset)}, encoder "
        f"{safe(info.encoder)}) from {safe(store.location)}"
    )


@cli.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (this machine only by default)."
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@images_moved_option
@model_options
@store_options
@click.pass_obj
def serve(obj: Context, host, port, data_root, device, weights, init):
    """Browse collections, neighbours, queries and evaluations in a local web app."""
    from encoders import parse_weights
    from web import create_app
    from web.app import is_local, serve
    from web.backend import Options

    if not is_local(host):
        obj.screen.note(
            f"warning: listening on {safe(host)}: anyone who can reach this machine can browse the collections "
            f"and images (there is no login); use 127.0.0.1 unless that is meant"
        )
    options = Options(data_root, obj.reports, device, parse_weights(weights), init)
    app = create_app(obj.store, options)
    obj.screen.line(f"serving {safe(obj.store().location)} on http://{safe(host)}:{port}/ (Ctrl-C stops)")
    serve(app, host, port)


def main() -> None:
    debug = "--debug" in sys.argv
    screen = Screen()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        screen.note("aborted")
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except RetrievalError as error:
        if debug:
            raise
        screen.error(str(error))
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        screen.note("interrupted")
        sys.exit(130)
    except Exception as error:
        if debug:
            raise
        screen.error(f"{type(error).__name__}: {error} (rerun with --debug for the traceback)")
        sys.exit(1)


if __name__ == "__main__":
    main()
