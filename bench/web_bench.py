"""Web app speed (issue 18), warm, on a 6,000-point collection in the embedded store.

The collection holds synthetic unit vectors (10 classes) whose payloads point
at small generated JPEGs, so thumbnails are real files. `python cli.py serve`
runs in its own process, the only opener of the store; this process sends the
requests on loopback over one keep-alive connection and reads the server's
own time from the `Server-Timing` header. In turns with each request, the
library call the page stands on runs here against a copy of the store:

- stored-point query page (`/c/<name>/p/<id>`) against `Searcher.search`
  by id alone (no HTML);
- 100-thumbnail grid page (the page and its 100 cached thumbnails, as a
  browser fetches them) against `search.summarize` of the collection, the
  call that reads what the grid shows.

The embedding map (issues 25 and 32): collections of --map-points synthetic
points (vectors and labels only); headless Chromium (Debian's, through
Playwright) opens the map page and waits until its canvas has drawn every
point. On a cold layout cache (the layout files removed before each load; the
UMAP worker the first load started goes on) the page draws the PCA preview:
time until drawn, in turns with the collections page as the reference; then
the time from the first open until UMAP arrives (the page polls and swaps);
then warm loads (UMAP read from the cache), in turns again. Without Chromium
the browser part is skipped with a message.

Medians of --repeat turns. Not a test: it prints figures. Usage:
    python bench/web_bench.py [--points 6000] [--repeat 30] [--map-points 1000,20000] [--map-method auto]
    python bench/web_bench.py --points 50 --repeat 1   # tiny: one map of 50 points, PCA (under 1,000 --points)
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from search import Query, Searcher, summarize  # noqa: E402
from store import ImagePayload, open_store, point_id  # noqa: E402
from web.layout import METHODS  # noqa: E402

CLASSES = 10
DIM = 512
NAME = "bench_colorhist"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


def synthetic(points: int) -> tuple[np.ndarray, np.ndarray]:
    """(labels, unit vectors): CLASSES noisy clusters, seeded."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(CLASSES, DIM))
    labels = np.arange(points) % CLASSES
    vectors = centres[labels] + 0.8 * rng.normal(size=(points, DIM))
    return labels, (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def build(folder: Path, points: int) -> list[str]:
    """data/bench/images/c<k>/<i>.jpg and the collection in folder/qdrant; returns the ids in dataset order."""
    rng = np.random.default_rng(0)
    labels, vectors = synthetic(points)
    paths = [f"c{label}/{i:05d}.jpg" for i, label in enumerate(labels)]
    images = folder / "data" / "bench" / "images"
    for label in range(CLASSES):
        (images / f"c{label}").mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(paths):
        colour = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8) // 4 + (labels[i] * 20)
        Image.fromarray(colour.astype(np.uint8), "RGB").save(images / path, quality=85)
    store = open_store(path=folder / "qdrant")
    store.ensure_collection(NAME, DIM, recreate=True)
    ids = [point_id("bench", path) for path in paths]
    for start in range(0, points, 500):
        rows = slice(start, start + 500)
        payloads = [ImagePayload(f"c{labels[i]}", paths[i], "bench", "colorhist", i) for i in range(points)[rows]]
        store.upsert(NAME, ids[rows], vectors[rows], payloads=payloads)
    store.close()
    return ids


def build_map_collection(folder: Path, points: int) -> str:
    """bench_map<points> in folder/qdrant: synthetic vectors and labels, no image files (the map needs none)."""
    name = f"bench_map{points}"
    labels, vectors = synthetic(points)
    paths = [f"c{label}/{i:05d}.jpg" for i, label in enumerate(labels)]
    store = open_store(path=folder / "qdrant")
    store.ensure_collection(name, DIM, recreate=True)
    ids = [point_id(name, path) for path in paths]
    for start in range(0, points, 1000):
        rows = range(points)[start : start + 1000]
        payloads = [ImagePayload(f"c{labels[i]}", paths[i], "bench", "colorhist", i) for i in rows]
        store.upsert(name, ids[start : start + 1000], vectors[start : start + 1000], payloads=payloads)
    store.close()
    return name


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(folder: Path, port: int) -> subprocess.Popen:
    command = [sys.executable, "cli.py", "--storage", str(folder / "qdrant"), "--reports", str(folder / "reports")]
    command += ["serve", "--port", str(port), "--data-root", str(folder / "data")]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise TimeoutError(f"the server did not listen: {process.stderr.read()}")


class Client:
    """GETs over one keep-alive connection: (client ms, server ms, body)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, url: str) -> tuple[float, float, bytes]:
        started = time.perf_counter()
        self.connection.request("GET", url)
        response = self.connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status}")
        server = float(re.search(r"dur=([\d.]+)", response.getheader("Server-Timing")).group(1))
        return elapsed, server, body

    def grid(self, page: int) -> tuple[float, float, int]:
        """The grid page and every thumbnail on it: (client ms, server ms, thumbnails)."""
        client, server, body = self.get(f"/c/{NAME}?page={page}")
        thumbs = re.findall(rb'src="http://[^/]+(/c/[^"]+/thumb/[^"]+)"', body)
        for url in thumbs:
            c, s, _ = self.get(url.decode())
            client, server = client + c, server + s
        return client, server, len(thumbs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--map-points", help="comma-separated map sizes [1000,20000; --points under 1,000: --points]")
    parser.add_argument("--map-method", choices=METHODS, help="the projection [auto; --points under 1,000: pca]")
    args = parser.parse_args()
    tiny = args.points < 1000  # the test suite's size: no 20,000-point build, no UMAP compilation
    map_sizes = [int(size) for size in (args.map_points or ("" if tiny else "1000,20000")).split(",") if size]
    map_sizes = map_sizes or [args.points]
    args.map_method = args.map_method or ("pca" if tiny else "auto")
    folder = Path(tempfile.mkdtemp(prefix="web-bench-"))
    try:
        started = time.perf_counter()
        ids = build(folder, args.points)
        maps = [build_map_collection(folder, size) for size in map_sizes]
        shutil.copytree(folder / "qdrant", folder / "reference")  # the server is the only opener of its store
        print(f"built {args.points} points and images in {time.perf_counter() - started:.1f} s")
        port = free_port()
        server = start_server(folder, port)
        try:
            run(Client(port), folder, ids, repeat=args.repeat)
            run_maps(port, folder / "reports", maps, repeat=args.repeat, method=args.map_method)
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(client: Client, folder: Path, ids: list[str], *, repeat: int) -> None:
    reference = open_store(path=folder / "reference")
    searcher = Searcher(lambda: reference)
    pages = [1, 2, 3]
    for page in pages:  # warm: thumbnails written to the cache, the collection's points read once
        client.grid(page)
    client.get(f"/c/{NAME}/p/{ids[0]}")
    searcher.search(Query(NAME, point_id=ids[0], limit=12))
    rows: dict[str, list[float]] = {
        key: [] for key in ("query", "query_server", "search", "grid", "grid_server", "summarize")
    }
    rng = np.random.default_rng(1)
    for turn in range(repeat):
        pid = ids[int(rng.integers(len(ids)))]
        started = time.perf_counter()
        searcher.search(Query(NAME, point_id=pid, limit=12))
        rows["search"].append((time.perf_counter() - started) * 1000)
        client_ms, server_ms, _ = client.get(f"/c/{NAME}/p/{pid}?k=12")
        rows["query"].append(client_ms)
        rows["query_server"].append(server_ms)
        started = time.perf_counter()
        summarize(reference, NAME, samples=len(ids))
        rows["summarize"].append((time.perf_counter() - started) * 1000)
        client_ms, server_ms, thumbs = client.grid(pages[turn % len(pages)])
        rows["grid"].append(client_ms)
        rows["grid_server"].append(server_ms)
    reference.close()
    median = {key: statistics.median(values) for key, values in rows.items()}
    print(f"{len(ids)} points, {repeat} turns, medians (ms):")
    print(
        f"stored-point query page (k=12): server {median['query_server']:.1f}, client {median['query']:.1f} "
        f"| Searcher.search alone {median['search']:.1f} | page/search {median['query_server'] / median['search']:.2f} "
        f"| target < 150 server"
    )
    print(
        f"grid page + {thumbs} cached thumbnails: server {median['grid_server']:.1f}, client {median['grid']:.1f} "
        f"| summarize alone {median['summarize']:.1f} | grid/summarize {median['grid_server'] / median['summarize']:.2f} "
        f"| target < 500"
    )


def run_maps(port: int, reports: Path, names: list[str], *, repeat: int, method: str) -> None:
    """Each map page in Chromium on a cold layout cache, in turns with the collections page: time until drawn
    (the page, map.js, the first data answer and the drawing: the PCA preview where UMAP is not cached yet), the
    time until UMAP arrives (the page polls and swaps), then warm loads (UMAP read from the cache)."""
    if not names:
        return
    if not CHROMIUM.is_file():
        print(f"map pages: skipped, no Chromium at {CHROMIUM} (install Debian's `chromium`)")
        return
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})

        def interactive(url: str, ready: str) -> float:
            started = time.perf_counter()
            page.goto(url)
            page.wait_for_selector(ready, timeout=900_000)
            return (time.perf_counter() - started) * 1000

        for name in names:
            points = int(name.removeprefix("bench_map"))
            url, drawn = f"{base}/c/{name}/map?method={method}", f"#map[data-drawn='{points}']"
            shutil.rmtree(reports / ".maps", ignore_errors=True)
            opened = time.perf_counter()
            first = interactive(url, drawn)  # a cold cache: the preview drawn, UMAP started in the background
            preview = page.inner_text("#map-method")
            reference, cold = [], []
            for _ in range(repeat):
                reference.append(interactive(f"{base}/", "#collections"))
                for file in (reports / ".maps").rglob("*-pca.json"):  # cold again; the UMAP worker goes on
                    file.unlink()
                cold.append(interactive(url, drawn))
                if page.get_attribute("#map", "data-method") == "umap":
                    cold.pop()  # UMAP arrived meanwhile: this load read it, it was not cold
            arrived = ""
            if page.get_attribute("#map", "data-pending") == "true":
                page.wait_for_selector("#map[data-method='umap']", timeout=900_000)
                arrived = f" | UMAP arrived {time.perf_counter() - opened:.1f} s after the first open"
            warm, warm_reference = [], []
            for _ in range(repeat):
                warm_reference.append(interactive(f"{base}/", "#collections"))
                warm.append(interactive(url, drawn))
            ref = statistics.median(reference)
            print(
                f"map page, {points} points, cold layout cache: drawn in {statistics.median(cold):.0f} ms "
                f"(median of {len(cold)}; first open {first:.0f} ms) vs collections page {ref:.0f} ms | "
                f"target < 3000 | {preview}{arrived}"
            )
            print(
                f"map page, {points} points, warm: {statistics.median(warm):.0f} ms vs collections page "
                f"{statistics.median(warm_reference):.0f} ms | {page.inner_text('#map-method')}"
            )
        browser.close()


if __name__ == "__main__":
    main()
