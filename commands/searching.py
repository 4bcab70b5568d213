"""`search` and `collections`: ad-hoc queries and what the store holds."""

from __future__ import annotations

from pathlib import Path

import click

from commands.context import Context, format_option, images_moved_option, interactive, model_options, store_options
from render import safe
from store.example_query import Strategy


@click.command("search")
@click.option("--collection", "-c", help="Collection to query, e.g. corel1k_clip (or --fuse).")
@click.option("--fuse", help="A,B[,C]: collections of one dataset fused by RRF (k 60), asked by --id or --path.")
@click.option(
    "--depth", type=click.IntRange(1), help="With --fuse: each member's candidates [every point up to 10,000]."
)
@click.option("--image", type=click.Path(path_type=Path), help="Query by an image file.")
@click.option("--text", help="Query by text (encoders with a text tower, e.g. clip).")
@click.option("--id", "point_id", help="Query by a stored point's id; the point is not among the hits.")
@click.option("--path", "path", help="Query by a stored point's path, as stored (bus/db_100.jpg).")
@click.option(
    "--like",
    multiple=True,
    help="More like this example (repeatable): a stored point's id, a stored path, or an image file; "
    "stored examples are never hits.",
)
@click.option("--unlike", multiple=True, help="Less like this example (repeatable): an id, a stored path or a file.")
@click.option(
    "--strategy",
    type=click.Choice([str(s) for s in Strategy]),
    default=str(Strategy.BEST),
    show_default=True,
    help="With several examples or --unlike: 'best' ranks by the best match to any --like (when it beats the "
    "best match to any --unlike), 'sum' by the summed cosines to the --like minus those to the --unlike.",
)
@click.option(
    "--diverse",
    is_flag=True,
    help="Re-order the hits by MMR among the 100 nearest (or k, if more), so near copies do not crowd them out.",
)
@click.option(
    "--diversity",
    type=click.FloatRange(0, 1),
    help="With --diverse: 0 keeps the nearest-first order, 1 is the most diverse (MMR lambda = 1 - this) [0.5].",
)
@click.option("--min-score", type=float, help="Drop hits scoring below this (cosine, or the --strategy score).")
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
def search_command(
    obj: Context,
    output,
    print0,
    gallery,
    data_root,
    device,
    weights,
    init,
    fuse,
    depth,
    like,
    unlike,
    strategy,
    diverse,
    diversity,
    min_score,
    **query,
):
    """Nearest stored images to an image file, a text, or a stored point (by id or path); or more like some
    examples and less like others (--like, --unlike)."""
    if (fuse is None) == (query["collection"] is None):
        raise click.UsageError("give exactly one of --collection and --fuse")
    if diversity is not None and not diverse:
        raise click.UsageError("--diversity goes with --diverse")
    if fuse is not None and (like or unlike or diverse or min_score is not None):
        raise click.UsageError("--fuse ranks by RRF alone (no --like, --unlike, --diverse or --min-score)")
    if gallery and (like or unlike):
        raise click.UsageError("--gallery draws one query and its hits; leave it out with --like/--unlike")
    if fuse is not None:
        if gallery or print0 or output == "paths":
            raise click.UsageError("--fuse shows a table or --format json (no --gallery, paths or --print0 yet)")
        _fused(obj, fuse, depth, output, **query)
        return
    if depth is not None:
        raise click.UsageError("--depth goes with --fuse")
    from encoders import parse_weights
    from search import Query, Searcher

    if gallery:  # checked with the store, before any model loads
        from media.folders import writable_folder

        writable_folder(gallery.parent, "--gallery", create=False)

    searcher = Searcher(
        obj.store, device, weights=parse_weights(weights), init=init, embed_ahead=True, data_root=data_root
    )
    from search.examples import Examples
    from store.example_query import Diversity

    refined = {
        "examples": Examples(tuple(like), tuple(unlike), Strategy(strategy)),
        "diversity": Diversity(0.5 if diversity is None else diversity) if diverse else None,
        "min_score": min_score,
    }
    result = searcher.search(Query(**query, **refined))
    if print0 or output == "paths":
        obj.screen.paths(result, nul=print0)
        reading = None
    elif result.unmeasured is not None:  # the table does not read these scores: say why, give none
        reading = None
    else:
        reading = _score_reading(obj, result.info.location, result.info.name, [hit.score for hit in result.hits])
    if output == "json":
        obj.screen.json({**result.to_json(), "score_precision": reading})
    elif output == "table":
        obj.screen.hits(result, reading, reports=obj.reports)
    if gallery:
        from search.result_sheet import write_gallery

        missing = write_gallery(result, gallery)
        note = f" ({missing} of {len(result.hits)} images not found in {result.image_root})"
        obj.screen.note(f"gallery: {safe(gallery)}{safe(note) if missing else ''}")


def _score_reading(obj: Context, location: str, name: str, scores: list[float]):
    """Each score's precision on `name`, from its evaluation record's table of score against precision; None
    when no record of it has one."""
    from evaluation.metrics.score_precision import ScoreReading
    from evaluation.records.run_records import score_source

    source = score_source(obj.reports, location, name)
    return None if source is None else ScoreReading.of(source.table, scores, str(source.path))


def _fused(obj: Context, fuse: str, depth, output, collection, image, text, point_id, path, limit, label) -> None:
    """`search --fuse A,B --id ID`: the store's fusion query over the members."""
    from search.fused import FusedQuery, fused_search

    if image is not None or text is not None or label is not None:
        raise click.UsageError(
            "--fuse asks by a stored point (--id or --path); --image, --text and --label are not fused"
        )
    members = tuple(name.strip() for name in fuse.split(",") if name.strip())
    result = fused_search(obj.store(), FusedQuery(members, point_id, path, limit, depth=depth))
    if output == "json":
        obj.screen.json(result)
    else:
        obj.screen.fused_hits(result)


@click.group("collections", invoke_without_command=True)
@format_option
@store_options
@click.pass_context
def collections_group(ctx, output):
    """List the collections; `collections show C` and `collections drop C` look inside and remove; `collections map C`
    computes the web app's embedding map ahead."""
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
    """Class counts, a few sample payloads and the table of score against precision of one collection."""
    from evaluation.records.run_records import score_source
    from search import summarize

    summary = summarize(obj.store(), name, samples)
    source = score_source(obj.reports, summary.info.location, name)
    if output == "json":
        scores = None if source is None else {"record": str(source.path), **source.table.to_json()}
        obj.screen.json({**summary.to_json(), "score_precision": scores})
    else:
        obj.screen.collection(summary)
        if source is not None:
            obj.screen.score_table(f"{name} (from {source.path})", source.table, source.table.rows)


@collections_group.command("map")
@click.argument("name")
@click.option(
    "--method",
    type=click.Choice(["auto", "umap", "pca"]),
    default="auto",
    show_default=True,
    help="The projection: auto is UMAP up to 20,000 points (PCA beyond, or without umap-learn).",
)
@store_options
@click.pass_obj
def collections_map(obj: Context, name, method):
    """Compute the collection's embedding map now and keep it in the reports folder, so `serve` draws it at once
    (its first open otherwise shows a PCA preview while UMAP is computed)."""
    from web.layout import precompute

    done = precompute(obj.store(), name, obj.reports / ".maps", asked=method)
    how = "already computed for this content" if done.seconds is None else f"computed in {done.seconds:.1f} s"
    obj.screen.line(f"map of {safe(name)}: {safe(done.reason)}; {how}; kept in {done.file}")  # the reason names it


@collections_group.command("drop")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@store_options
@click.pass_obj
def collections_drop(obj: Context, name, yes):
    """Delete a collection and its points (asks first unless --yes)."""
    from search import collection_info

    store = obj.store()
    info = collection_info(store, name)  # a broken one can be dropped too
    what = "broken" if info.broken else f"{info.points} points"
    if not yes:
        if not interactive():
            raise click.UsageError(f"--yes needed to drop '{name}': there is no terminal to ask on")
        click.confirm(f"drop '{name}' ({what}) from {store.location}?", abort=True, err=True)
    store.drop(name)
    kept = "" if info.broken else f", dataset {safe(info.dataset)}, encoder {safe(info.encoder)}"
    obj.screen.line(f"dropped {safe(name)} ({what}{kept}) from {safe(store.location)}")
