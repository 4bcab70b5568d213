"""`tune`: the collection's index under a grid of HNSW and quantization settings, measured and compared."""

from __future__ import annotations

import click

from commands.context import Context, command_line, format_option, store_options


@click.command()
@click.option("--collection", "-c", required=True, help="Collection to tune (it is copied, never changed).")
@click.option("--sample", type=click.IntRange(1), help="Only N seeded stored points as queries (default: every one).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0), help="Seed of --sample's draw.")
@click.option("-k", "--k", default=10, show_default=True, type=click.IntRange(1), help="recall@K and mAP@K.")
@click.option(
    "--grid",
    type=click.Choice(["small", "full"]),
    default="small",
    show_default=True,
    help="small: 8 settings over 6 builds; full: 36 settings over 9 builds.",
)
@format_option
@store_options
@click.pass_obj
def tune(obj: Context, collection, sample, seed, k, grid, output):
    """Recall@K, mAP@K, latency, memory and build time of each index setting; the frontier and a recommendation.

    Writes reports/<collection>/tune.json and tune.png.
    """
    from evaluation.metrics.top_k import top_k_quality
    from tune.tune_files import run_tune
    from tune.tuner import TuneOptions

    options = TuneOptions(k=k, sample=sample, seed=seed, grid=grid, quality=top_k_quality)
    result, files = run_tune(
        obj.store(), collection, options, reports_dir=obj.reports, progress=obj.screen.progress, command=command_line()
    )
    if output == "json":
        obj.screen.json(result)
    else:
        obj.screen.tune(result, files)
