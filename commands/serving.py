"""`serve`: the local web app over the same library."""

from __future__ import annotations

import click

from commands.context import Context, images_moved_option, model_options, store_options
from render import safe

IDLE_RELEASE = 2.0  # seconds a collection stays held after a request, so other commands can use it


@click.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (this machine only by default)."
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    help="Host name the app also answers to (repeatable); 127.0.0.1, localhost and --host always are.",
)
@click.option("--quiet", is_flag=True, help="No line per request (method, path, status, milliseconds) on stderr.")
@images_moved_option
@model_options
@store_options
@click.pass_obj
def serve(obj: Context, host, port, allowed_hosts, quiet, data_root, device, weights, init):
    """Browse collections, neighbours, queries and evaluations in a local web app.

    A command waiting for a collection serve holds gets it within about a second; a page of a collection
    another process holds says so at once (serve never waits, whatever --wait says)."""
    from encoders import parse_weights
    from web import create_app
    from web.app import check_port, is_local, serve
    from web.backend import Options

    if not is_local(host):
        obj.screen.note(
            f"warning: listening on {safe(host)}: anyone who can reach this machine can browse the collections "
            f"and images (there is no login); use 127.0.0.1 unless that is meant (other machines reach it by the "
            f"names given with --allowed-host)"
        )
    check_port(host, port)
    access = None if quiet else (lambda line: obj.screen.note(safe(line)))
    options = Options(
        data_root, obj.reports, device, parse_weights(weights), init, (host, *allowed_hosts), access=access
    )
    obj.idle_release = IDLE_RELEASE
    obj.yielding = True  # a command waiting for a collection gets it after the call in flight; pages never wait
    app = create_app(obj.store, options)
    obj.screen.line(f"serving {safe(obj.store().location)} on http://{safe(host)}:{port}/ (Ctrl-C stops)")
    if not obj.store().capabilities.shared:
        obj.screen.note(
            "note: this store's engine is held by one process at a time, so other commands cannot use it while "
            "serve runs; `python cli.py store migrate` moves it to Qdrant Edge, which they can share"
        )
    serve(app, host, port, stopped=lambda line: obj.screen.note(safe(line)))
