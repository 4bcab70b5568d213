"""`eval`: leave-one-out (or a benchmark protocol) over collections, and its reports."""

from __future__ import annotations

from pathlib import Path

import click

from commands.context import Context, command_line, images_moved_option, store_options


@click.command("eval")
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
    evaluate(obj, names, k, data_root, method, as_json, single, bool(collections), stage, exclude_duplicates, drawn)


def evaluate(
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
