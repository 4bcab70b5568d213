"""`duplicates`: identical and nearly identical images within a collection, or leaks across two."""

from __future__ import annotations

import click

from commands.context import Context, store_options

FORMATS = ["table", "json", "paths"]


@click.command()
@click.option("--collection", "-c", help="Collection to search for duplicates (labels not needed).")
@click.option(
    "--across",
    nargs=2,
    metavar="A B",
    help="Points of collection B that duplicate points of collection A (same encoder): leaks between splits.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(-1, 1),
    help="Cosine at or above which two images are near duplicates (default: the encoder's measured value).",
)
@click.option("--exact-only", is_flag=True, help="Only identical files (same sha256); no vectors are read.")
@click.option(
    "--format",
    "output",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="A table per group; JSON (a list of groups); or paths, one group per block, for scripts.",
)
@store_options
@click.pass_obj
def duplicates(obj: Context, collection, across, threshold, exact_only, output):
    """Exact duplicates (same content hash) and near duplicates (cosine >= threshold), grouped, largest first.

    \b
    python cli.py duplicates -c corel1k_colorhist
    python cli.py duplicates -c photos_dinov2 --threshold 0.95 --format paths
    python cli.py duplicates --across train_dinov2 test_dinov2 --threshold 0.95
    """
    from duplicates import DuplicateOptions, find_across, find_within

    if (collection is None) == (across is None):
        raise click.UsageError("give one collection (-c NAME) or two (--across A B)")
    options = DuplicateOptions(threshold=threshold, exact_only=exact_only)
    if across:
        report = find_across(obj.store(), *across, options=options)
    else:
        report = find_within(obj.store(), collection, options)
    if output == "json":
        obj.screen.json(report.groups)
    elif output == "paths":
        obj.screen.duplicate_paths(report)
    else:
        obj.screen.duplicates(report)
