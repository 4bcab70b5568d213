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
@click.option("--text-queries", is_flag=True, help="Also text->image: each class label a text query (clip, siglip).")
@click.option(
    "--template",
    "templates",
    multiple=True,
    help="Text query template with {label} (repeatable: averaged) [default: 'a photo of a {label}'].",
)
@click.option("--fuse", multiple=True, help="A,B[,C]: also collections of one dataset fused (repeatable).")
@click.option(
    "--fusion",
    "fusions",
    multiple=True,
    type=click.Choice(["rrf", "sum"]),
    help="How --fuse fuses (repeatable) [default: both]: reciprocal rank fusion, min-max normalised score sum.",
)
@click.option("--rrf-k", default=60, show_default=True, type=click.IntRange(1), help="RRF constant: 1/(k + rank).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
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
    text_queries,
    templates,
    fuse,
    fusions,
    rrf_k,
    device,
):
    """Leave-one-out evaluation: mAP, P@k, PR curves, best and worst queries, reports/index.html."""
    from evaluation import collections_to_evaluate, measure_ann

    store = obj.store()
    beside = _beside_options(text_queries, templates, fuse, fusions, rrf_k, device)
    named = list(dict.fromkeys([*collections, *(beside.members if beside else [])]))
    names = collections_to_evaluate(store, named)
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
    single = len(collections) == 1 and stage is None and beside is None
    drawn = Sample(sample, seed) if sample else None
    evaluate(obj, names, k, data_root, method, as_json, single, bool(named), stage, exclude_duplicates, drawn, beside)


def _beside_options(text_queries, templates, fuse, fusions, rrf_k, device):
    """The text-to-image and fusion options as one record; None when neither is asked."""
    from evaluation.beside import BesideOptions

    if templates and not text_queries:
        raise click.UsageError("--template needs --text-queries")
    if fusions and not fuse:
        raise click.UsageError("--fusion needs --fuse A,B")
    if not text_queries and not fuse:
        return None
    groups = tuple(tuple(name.strip() for name in group.split(",") if name.strip()) for group in fuse)
    for group in groups:
        if len(set(group)) < 2:
            raise click.UsageError(f"--fuse {','.join(group)}: name two or more different collections, A,B")
    defaults = BesideOptions()
    return BesideOptions(
        text_queries=text_queries,
        templates=tuple(templates) or defaults.templates,
        fuse=groups,
        fusions=tuple(dict.fromkeys(fusions)) or defaults.fusions,
        rrf_k=rrf_k,
        device=device,
    )


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
    beside=None,
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
        beside=beside,
    )
    if as_json:
        obj.screen.evaluation_notes(run)
        obj.screen.json(run.to_json()[0] if single else run.to_json())
    else:
        obj.screen.evaluation(run, study=not single)
