"""Shared fixtures: generated images with class structure, an embedded store, a Qdrant server."""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
CLI_ENV = {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}

# The Corel-1K photos beside the clone; RETRIEVAL_COREL1K points elsewhere (a git worktree has no ../shared).
COREL = Path(os.environ.get("RETRIEVAL_COREL1K") or Path(__file__).resolve().parents[2] / "shared" / "data" / "corel1k")
CLASS_COLOURS = {"red": (200, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 200)}


def make_image(colour: tuple[int, int, int], seed: int, size=(96, 72)) -> Image.Image:
    """A noisy image dominated by one colour, different for every seed."""
    rng = np.random.default_rng(seed)
    base = np.array(colour, dtype=np.float64)
    pixels = base + rng.normal(0, 30, size=(size[1], size[0], 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def write_list_dataset(folder: Path, per_class: int = 4) -> Path:
    """The study's layout: images/<class>/<n>.jpg and list_of_images.txt."""
    lines = []
    for c, (label, colour) in enumerate(CLASS_COLOURS.items()):
        for i in range(per_class):
            rel = f"{label}/{i:02d}.jpg"
            (folder / "images" / label).mkdir(parents=True, exist_ok=True)
            make_image(colour, seed=100 * c + i).save(folder / "images" / rel, quality=92)
            lines.append(f"{rel}\t{label}")
    (folder / "list_of_images.txt").write_text("\n".join(lines) + "\n")
    return folder


def expected_payload(dataset, position: int, encoder: str) -> dict:
    """The payload ingest should store for a dataset's image, computed here from the file itself."""
    item = dataset.items[position]
    file = dataset.image_root / item.path
    return {
        "label": item.label,
        "path": item.path,
        "dataset": dataset.name,
        "encoder": encoder,
        "index": position,
        "size": os.stat(file).st_size,
        "mtime_ns": os.stat(file).st_mtime_ns,
        "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
    }


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python cli.py ARGS` in this process: `cli.main` itself (its one-line errors and exit codes), run in
    `cwd` with a fresh interpreter's environment (CLI_ENV), its stdout, stderr and exit code captured. What
    needs a process of its own (a signal, kill -9, another process holding the store, the warnings and
    log lines a fresh interpreter prints, how it starts) is `spawn_cli`'s."""
    import cli

    env = {name: None for name in os.environ if name not in KEPT_ENV and not name.startswith("PYTEST_")}
    argv, where = sys.argv, Path.cwd()
    with CliRunner().isolation(env={**env, **CLI_ENV}) as (stdout, stderr, _):
        sys.argv = [str(ROOT / "cli.py"), *args]
        os.chdir(cwd)
        try:
            cli.main()
            code = 0
        except SystemExit as stop:
            code = _exit_code(stop.code)
        except Exception:  # what a fresh interpreter prints for an exception cli.main lets through (--debug)
            traceback.print_exc()
            code = 1
        finally:
            sys.argv = argv
            os.chdir(where)
        sys.stderr.flush()
        sys.stdout.flush()
        return subprocess.CompletedProcess(
            ["cli.py", *args], code, stdout.getvalue().decode(), stderr.getvalue().decode(errors="backslashreplace")
        )


KEPT_ENV = ("HOME", "TMPDIR")  # run_cli's environment: CLI_ENV and these; pytest's own PYTEST_ variables stay


def _exit_code(code: object) -> int:
    """The exit status a fresh interpreter gives `sys.exit(code)`: a message is printed and means 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def spawn_cli(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    """`python cli.py ARGS` in a fresh interpreter, offline, with its output captured: for the promises only a
    process of its own can show (exit on a signal, a store held by another process, what starts up)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=CLI_ENV,
        **kwargs,
    )


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """A data root with one generated dataset, 'shapes' (3 classes x 4 images)."""
    write_list_dataset(tmp_path / "data" / "Shapes")
    return tmp_path / "data"


@pytest.fixture
def store(tmp_path: Path):
    from store import open_store

    opened = open_store(path=tmp_path / "qdrant")
    yield opened
    opened.close()


@pytest.fixture
def corel() -> Path:
    if not (COREL / "list_of_images.txt").is_file():
        pytest.skip(f"the Corel-1K set is not at {COREL}")
    return COREL


@dataclass(frozen=True)
class Server:
    url: str
    api_key: str | None


def _docker_problem() -> str | None:
    """Why no Docker engine can run a container here, or None when one answers."""
    import docker

    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        docker.from_env(timeout=5).ping()
    except Exception as error:  # the SDK raises several kinds for a missing or refusing engine
        return f"none answers at {where}: {type(error).__name__}"
    return None


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """The one way tests get a Qdrant server: QDRANT_URL's (with QDRANT_API_KEY), or a container.

    The container runs the image pinned in deploy/docker-compose.yml with a
    fresh API key, and serves the whole session. With neither (no Docker
    engine, as on the development machine) the test skips and says why.
    """
    if os.environ.get("QDRANT_URL"):
        yield Server(os.environ["QDRANT_URL"], os.environ.get("QDRANT_API_KEY"))
        return
    problem = _docker_problem()
    if problem:
        pytest.skip(
            f"no Qdrant server: QDRANT_URL is unset and no Docker engine runs here ({problem}); "
            f"start Docker, or set QDRANT_URL and QDRANT_API_KEY"
        )
    try:
        from testcontainers.community.qdrant import QdrantContainer
    except ImportError:  # testcontainers before its community namespace
        from testcontainers.qdrant import QdrantContainer
    from tests.test_deploy import qdrant_image

    key = secrets.token_hex(16)
    with QdrantContainer(image=qdrant_image(), api_key=key) as container:
        yield Server(f"http://{container.rest_host_address}", key)


@pytest.fixture(scope="session")
def web_site(tmp_path_factory) -> Path:
    """The web app's site (tests/web_fixtures.py), built once for the files of its tests."""
    from tests.web_fixtures import build_web_site

    return build_web_site(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="session")
def explore_site(tmp_path_factory) -> Path:
    """The exploration pages' site (tests/explore_fixtures.py), built once for the files of their tests."""
    from tests.explore_fixtures import build_explore_site

    return build_explore_site(tmp_path_factory.mktemp("explore"))


@pytest.fixture(scope="module")
def opened(built: Path):
    """The embedded store of a module's `built` folder, open for the module's web tests."""
    from store import open_store

    store = open_store(path=built / "qdrant")
    yield store
    store.close()


@pytest.fixture(scope="module")
def client(built: Path, opened):
    """The web app over `opened`, with the module's data and reports (FastAPI's test client)."""
    from fastapi.testclient import TestClient

    from web import create_app
    from web.backend import Options

    app = create_app(lambda: opened, Options(built / "data", built / "reports", "cpu"))
    return TestClient(app, raise_server_exceptions=False)
