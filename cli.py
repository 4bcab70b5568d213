"""Command line: parse, call the library, render. The commands live in commands/, one module per area.

Heavy imports happen inside the commands, so `--help` and light commands start fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from commands.context import DEFAULT_WAIT, ENGINE_NAMES, ENV_ENGINE, ENV_REPORTS, ENV_STORAGE, ENV_WAIT, Context, secret
from commands.deduplicating import duplicates
from commands.evaluating import eval_
from commands.ingesting import demo, import_, ingest
from commands.listings import datasets, encoders
from commands.searching import collections_group, search_command
from commands.serving import serve
from commands.storing import collections_export, collections_push, collections_reindex, store_group
from commands.tuning import tune
from errors import RetrievalError
from redaction import redact
from render import Screen
from store import DEFAULT_STORAGE


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
    "--qdrant-url",
    envvar="QDRANT_URL",
    show_envvar=True,
    callback=secret,
    help="Qdrant server URL, e.g. http://localhost:6333.",
)
@click.option("--api-key", envvar="QDRANT_API_KEY", show_envvar=True, callback=secret, help="Qdrant API key.")
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
@click.option(
    "--engine",
    envvar=ENV_ENGINE,
    show_envvar=True,
    type=click.Choice(ENGINE_NAMES),
    help="Engine of a new embedded store (default edge); an existing one records its own.",
)
@click.option(
    "--wait",
    envvar=ENV_WAIT,
    show_envvar=True,
    type=click.FloatRange(0),
    default=DEFAULT_WAIT,
    show_default=True,
    help="Seconds to wait for a collection another process holds.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, **store: Any) -> None:
    """Image retrieval on Qdrant: ingest, evaluate and search image collections.

    The store and report options work before or after the command's name.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        ctx.exit(0)
    handed = ctx.obj.handed if isinstance(ctx.obj, Context) else None  # CliRunner().invoke(..., obj=Context(handed=))
    # store: storage, qdrant_url, api_key, prefer_grpc, reports, engine, wait
    ctx.obj = Context(**store, screen=Screen(), handed=handed)
    ctx.call_on_close(ctx.obj.close)


for command in (
    encoders,
    datasets,
    ingest,
    demo,
    import_,
    eval_,
    tune,
    search_command,
    duplicates,
    collections_group,
    serve,
    store_group,
):
    cli.add_command(command)
for command in (collections_export, collections_push, collections_reindex):
    collections_group.add_command(command)


def main() -> None:
    debug = "--debug" in sys.argv
    screen = Screen()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        screen.note("aborted")
        sys.exit(130)
    except click.ClickException as error:
        error.message = redact(error.message)  # a usage error may quote the value of an option
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
