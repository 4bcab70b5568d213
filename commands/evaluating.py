"""`eval`: leave-one-out (or a benchmark protocol) over collections, and its reports."""

from __future__ import annotations

from pathlib import Path

import click

from commands.context import Context, command_line, images_moved_option, store_options
from evaluation.query_encoders import QueryEncoders
from evaluation.ranking.request import Method
from evaluation.ranking.rerankers import RERANKERS, parameter


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
    help="Tables, or the records on stdout, each naming its variant (a list unless one -c).",
)
@click.option(
    "--method", type=click.Choice([method.value for method in Method]), default=Method.AUTO.value, hidden=True
)
@click.option("--ann", is_flag=True, help="recall@K (default 10) of approximate vs exact search.")
@click.option(
    "--rerank",
    type=click.Choice(list(RERANKERS)),
    help="Also evaluate re-ranked as its own record: "
    + "; ".join(f"{name}: {reranker.help}" for name, reranker in RERANKERS.items())
    + ".",
)
@click.option(
    "--rerank-k",
    default=parameter("k").default,
    show_default=True,
    type=click.IntRange(int(parameter("k").minimum)),
    help=parameter("k").help,
)
@click.option(
    "--alpha",
    default=parameter("alpha").default,
    show_default=True,
    type=click.FloatRange(parameter("alpha").minimum),
    help=parameter("alpha").help,
)
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
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help="Also ndcg@K, recall@K or mrr (repeatable), stored in the record under that name.",
)
@click.option(
    "--trec",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each record's TREC run (<collection>.<variant>.run) and the qrels into this folder.",
)
@click.option(
    "--trec-depth", default=1000, show_default=True, type=click.IntRange(1), help="Hits per query in a --trec run."
)
@click.option(
    "--run",
    "run_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also score this TREC run made elsewhere against the collection (-c, one) as a row of its own.",
)
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
    metrics,
    trec,
    trec_depth,
    run_file,
    device,
):
    """Leave-one-out evaluation, one record per variant: mAP, P@k, PR curves, best and worst queries, index.html."""
    from evaluation import collections_to_evaluate

    store = obj.store()
    beside = _beside_options(text_queries, templates, fuse, fusions, rrf_k)
    named = list(dict.fromkeys([*collections, *(beside.members if beside else [])]))
    names = collections_to_evaluate(store, named)
    as_json = output == "json"
    if ann:
        from tune.ann_recall import ann_recall  # an index measurement: tune's, asked through eval

        results = [ann_recall(store, name, k or 10) for name in names]
        if as_json:
            obj.screen.json(results[0] if len(collections) == 1 else results)
        else:
            obj.screen.ann(results, k or 10, store.location)
        return
    from evaluation import EvalOptions, Sample
    from evaluation.formats.trec_export import TrecExport

    if trec is None and click.get_current_context().get_parameter_source("trec_depth").name != "DEFAULT":
        raise click.UsageError("--trec-depth needs --trec DIR")
    if run_file is not None and len(set(collections)) != 1:
        raise click.UsageError("--run scores a run against one collection's ground truth: name it with -c")
    if beside is not None and beside.fuse:  # refused before any collection is ranked, not after the members'
        if sample:
            raise click.UsageError("--fuse ranks every point of the fused collections; leave out --sample")
        if Method(method) is Method.BATCH_QUERY:
            raise click.UsageError("--fuse scores the members' vectors in this process; leave out --method batch-query")
    options = EvalOptions(
        k=k,
        sample=Sample(sample, seed) if sample else None,
        rerank=RERANKERS[rerank].stage(k=rerank_k, alpha=alpha) if rerank else None,
        exclude_duplicates=exclude_duplicates,
        method=Method(method),
        data_root=data_root,
        explicit=bool(named),
        command=command_line(),
        beside=beside,
        encoders=query_encoders(device),
        metrics=_named_metrics(metrics),
        trec=None if trec is None else TrecExport(trec, trec_depth),
        run=run_file,
    )
    single = len(collections) == 1 and not (options.rerank or exclude_duplicates or beside or run_file)
    evaluate(obj, names, options, as_json, single)


def _named_metrics(names: tuple[str, ...]):
    """`--metric` values as `NamedMetric`s, each once; a name not understood is a usage error naming the choices."""
    from evaluation.metrics.named_metrics import NamedMetric

    try:
        return tuple(dict.fromkeys(NamedMetric.parse(name) for name in names))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--metric") from None


def _beside_options(text_queries, templates, fuse, fusions, rrf_k):
    """The text-to-image and fusion options as one record (`EvalOptions.beside`); None when neither is asked."""
    from evaluation.options import BesideOptions

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
    )


def query_encoders(text_device: str = "auto") -> QueryEncoders:
    """The registry's side of an evaluation (`evaluation.query_encoders`): its order, its text towers, and builders
    of the encoder that made a collection, each built only when a protocol asks. Text towers run on
    `text_device` (`eval --device`); the Revisited queries on the automatic choice, as before."""
    from encoders import SPECS, build_encoder, build_text_encoder

    return QueryEncoders(
        order=tuple(SPECS),
        text=frozenset(name for name, spec in SPECS.items() if spec.text),
        text_tower=lambda name, init, precision: build_text_encoder(name, text_device, init=init, precision=precision),
        image_encoder=lambda name, init: build_encoder(name, "auto", init=init),
    )


def evaluate(obj: Context, names: list[str], options, as_json: bool = False, single: bool = False) -> None:
    """Evaluate with `options` (an `EvalOptions`), write the store's reports/index.html, and render; `single`
    prints one record's JSON, not a list."""
    from evaluation import evaluate_collections
    from presentation.static_report import write_index

    store = obj.store()
    run = evaluate_collections(store, names, obj.reports, options=options, progress=obj.screen.progress)
    skipped: list[str] = []
    index = write_index(
        obj.reports,
        store.location,
        set(store.collection_names()),
        command=options.command,
        order=run.order,
        skipped=skipped,
    )
    run.notes += skipped
    if as_json:
        obj.screen.evaluation_notes(run)
        obj.screen.json(run.to_json()[0] if single else run.to_json())
    else:
        obj.screen.evaluation(run, index, study=not single)
