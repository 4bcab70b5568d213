"""`store migrate` and `collections export|push|reindex`: collections moved between engines and files, or
re-indexed in place."""

from __future__ import annotations

from pathlib import Path

import click

from commands.context import Context, format_option, index_options, secret, store_options
from render import safe


@click.group("store")
def store_group():
    """The store itself: move an earlier release's store to Qdrant Edge."""


@store_group.command("migrate")
@format_option
@store_options
@click.pass_obj
def store_migrate(obj: Context, output):
    """Copy a local-mode store (earlier releases) into a Qdrant Edge store, verify it, then swap folders."""
    from store.transfer import migrate_store

    with obj.screen.progress("migrating", "points") as advance:
        report = migrate_store(Path(obj.storage), lambda name, done, total: advance(done, total))
    if output == "json":
        obj.screen.json(report)
        return
    for name, points in report.collections.items():
        obj.screen.line(f"{safe(name)}: {points:,} points copied and counted")
    for name, reason in report.skipped.items():
        obj.screen.note(f"{safe(name)}: not copied ({safe(reason)})")
    obj.screen.line(
        f"{safe(report.storage)} is now a Qdrant Edge store ({report.verified_queries} sample queries gave the "
        f"same top 10); the local-mode store is kept in {safe(report.backup)} until you remove it"
    )


@click.command("export")
@click.argument("name")
@click.option("--vectors", "vectors_file", required=True, type=click.Path(path_type=Path), help="F.npy to write.")
@click.option("--list", "list_file", required=True, type=click.Path(path_type=Path), help="F.txt to write.")
@format_option
@store_options
@click.pass_obj
def collections_export(obj: Context, name, vectors_file, list_file, output):
    """Write a collection's vectors (dataset order) and list (path, labels) in the format `import` reads."""
    from store.transfer import export_collection

    report = export_collection(obj.store(), name, vectors_file=vectors_file, list_file=list_file)
    if output == "json":
        obj.screen.json(report)
        return
    obj.screen.line(
        f"{safe(name)}: {report.points:,} {report.dim}-d vectors to {safe(report.vectors)}, the list to "
        f"{safe(report.list_file)}; read back with `{safe(report.import_command())}`"
    )


@click.command("push")
@click.argument("name")
@click.option(
    "--to",
    "url",
    required=True,
    callback=secret,
    help="The Qdrant server (or cluster) URL to copy the collection into.",
)
@click.option(
    "--to-api-key", envvar="QDRANT_TARGET_API_KEY", callback=secret, help="Its API key [QDRANT_TARGET_API_KEY]."
)
@store_options
@click.pass_obj
def collections_push(obj: Context, name, url, to_api_key):
    """Copy a collection and its provenance into a Qdrant server or cluster."""
    from store import open_store
    from store.transfer import copy_collection, same_neighbours

    source = obj.store()
    target = open_store(url, to_api_key)
    try:
        if target.exists(name):
            raise click.UsageError(f"'{name}' exists at {target.location}; drop it there first")
        with obj.screen.progress(f"pushing {safe(name)}", "points") as advance:
            points = copy_collection(source, name, target, progress=lambda _, done, total: advance(done, total))
        checked = same_neighbours(source, target, name)
    finally:
        target.close()
    obj.screen.line(
        f"{safe(name)}: {points:,} points and its provenance copied to {safe(target.location)} ({checked} sample "
        f"queries gave the same top 10)"
    )


@click.command("reindex")
@click.argument("name")
@index_options
@store_options
@click.pass_obj
def collections_reindex(obj: Context, name, **options):
    """Give a collection new HNSW and quantization settings from its own stored vectors (no image is read).

    The collection gets exactly the settings given (those left out: Qdrant's defaults, no quantization).
    """
    from store import IndexSettings

    store = obj.store()
    settings = IndexSettings(**options)
    store.reindex(name, settings)
    obj.screen.line(
        f"{safe(name)}: re-indexed from its {store.count(name):,} stored vectors in {safe(store.location)} "
        f"({safe(settings.describe())})"
    )
