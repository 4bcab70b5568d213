"""`encoders` and `datasets`: what can be embedded, and with what; `datasets fetch` downloads public sets."""

from __future__ import annotations

import click

from commands.context import Context, data_root_option, format_option
from render import safe


@click.command()
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


@click.group(invoke_without_command=True)
@data_root_option()
@format_option
@click.pass_context
def datasets(ctx, data_root, output):
    """List the datasets found under the data root; `datasets fetch NAME` downloads a public one."""
    if ctx.invoked_subcommand is not None:
        return
    from ingest import discover, read_dataset
    from ingest.reading.discovery import not_a_dataset

    found = [read_dataset(folder, name) for name, folder in discover(data_root).items()]
    if output == "json":
        ctx.obj.screen.json(found)
    elif not found:
        ctx.obj.screen.note(f"no dataset under '{safe(data_root)}': {safe(not_a_dataset(data_root))}")
    else:
        ctx.obj.screen.datasets(found)


@datasets.command("fetch")
@click.argument("name", required=False)
@data_root_option("Folder the dataset goes into (downloads are kept in its downloads/).")
@click.option("--list", "show_list", is_flag=True, help="Show the public datasets that can be fetched.")
@click.option(
    "--max-unpacked",
    type=click.IntRange(1),
    help="Bytes an archive may unpack to [default: 3 x its published size, at least 64 MiB].",
)
@click.option("--allow-size-mismatch", is_flag=True, help="Use a file whose size is not the catalogue's.")
@format_option
@click.pass_obj
def datasets_fetch(obj: Context, name, data_root, show_list, max_unpacked, allow_size_mismatch, output):
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
    from ingest.fetching.fetch import FetchSettings

    settings = FetchSettings(max_unpacked, allow_size_mismatch)
    report = fetch_dataset(name, data_root, progress=partial(obj.screen.progress, unit="bytes"), settings=settings)
    if output == "json":
        obj.screen.json(report)
    else:
        obj.screen.fetched(report)
