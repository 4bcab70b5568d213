"""The local web app (`python cli.py serve`): pages over the same library calls as the CLI.

A layer above the stages, like cli.py: it may import ingest, evaluation and
search; none of them imports it. Its pages render from the presentation
layer's templates and view records (`presentation/`, shared with
reports/index.html), showing what the library computed. FastAPI loads only
with this package, so no other command pays for it.
"""

from web.app import create_app, serve
from web.backend import Backend

__all__ = ["Backend", "create_app", "serve"]
