"""The HNSW index of an Edge collection: built in a child process, approximate search close to exact,
a build stopped by Ctrl-C leaves the collection as it was, without leftovers, and a build whose parent
is killed dies with it, named in the holder file, its leftovers removed by the next run."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from store import ImagePayload, SearchSettings, open_store, point_id
from tests.conftest import CLI_ENV

LOAD = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as in a terminal, even under a shell that ignores it
import numpy as np
from store import ImagePayload, IndexSettings, open_store, point_id
n, dim = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
vectors = (rng.normal(size=(20, dim))[np.arange(n) % 20] + 0.5 * rng.normal(size=(n, dim))).astype(np.float32)
store = open_store(path="q")
store.ensure_collection("big", dim, settings=IndexSettings(quantization=sys.argv[3]))
with store.bulk_load("big") as loader:
    for start in range(0, n, 5000):
        rows = range(start, min(start + 5000, n))
        loader.add([point_id("big", str(i)) for i in rows], vectors[rows.start : rows.stop],
                   [ImagePayload(str(i % 20), str(i), "big", "x", i) for i in rows])
print("loaded", flush=True)
"""


def _load(tmp_path, n: int, dim: int, quantization: str = "none", then: str = "") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", LOAD + then, str(n), str(dim), quantization],
        cwd=tmp_path, env=CLI_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_a_built_index_covers_the_collection_and_approximate_search_finds_the_exact_neighbours(tmp_path):
    loading = _load(tmp_path, 3000, 128)
    assert loading.communicate(timeout=300)[0].strip() == "loaded", loading.stderr
    store = open_store(path=tmp_path / "q")
    try:
        assert store.index_status("big").indexed == 0  # no index below the threshold...
        assert store.build_index("big") is False
        assert store.build_index("big", force=True) is True  # ...unless asked for
        assert store.index_status("big").indexed == 3000
        queries = [point_id("big", str(i)) for i in range(0, 3000, 60)]
        exact = store.query_many("big", queries, 10, exact=True)
        approximate = store.query_many("big", queries, 10, exact=False, search=SearchSettings(hnsw_ef=128))
        recall = np.mean([len(set(a) & set(e)) / 10 for (a, _), (e, _) in zip(approximate, exact, strict=True)])
        assert recall >= 0.9
        assert all(q not in found for q, (found, _) in zip(queries, approximate, strict=True))
    finally:
        store.close()
    assert not list((tmp_path / "q" / "collections" / "big" / "shard").glob("temp_segments/*"))


def test_ctrl_c_during_the_build_stops_it_and_leaves_the_collection_exact_and_whole(tmp_path):
    then = "store.build_index('big', force=True)\nprint('built', flush=True)\n"
    building = _load(tmp_path, 60_000, 256, then=then)
    assert building.stdout.readline().strip() == "loaded"
    time.sleep(1.5)  # the child process is building
    started = time.monotonic()
    building.send_signal(signal.SIGINT)
    out, err = building.communicate(timeout=120)
    stopped_after = time.monotonic() - started
    assert "built" not in out, "the build ended before Ctrl-C came: make the collection bigger"
    assert "KeyboardInterrupt" in err
    assert stopped_after < 30  # the Edge build alone takes minutes at this size on this machine's 2 cores
    shard = tmp_path / "q" / "collections" / "big" / "shard"
    assert not list(shard.glob("temp_segments/*"))  # no half-built segment left behind
    store = open_store(path=tmp_path / "q")
    try:
        assert store.count("big") == 60_000 and store.index_status("big").indexed == 0
        hit = store.query("big", point_id("big", "7"), 1, exact=True)[0]
        assert hit.label == "7" and isinstance(store.payload("big", hit.id), ImagePayload)
    finally:
        store.close()


def _gone(pid: int) -> bool:
    """Whether process `pid` has ended (a zombie waiting for its new parent to reap it has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] in ("Z", "X")
    except OSError:
        return True


def test_a_build_whose_parent_is_killed_dies_with_it_and_the_next_run_removes_what_it_left(tmp_path, caplog):
    then = "store.build_index('big', force=True)\nprint('built', flush=True)\n"
    building = _load(tmp_path, 20_000, 64, then=then)
    assert building.stdout.readline().strip() == "loaded"
    collection = tmp_path / "q" / "collections" / "big"
    deadline, owner = time.monotonic() + 60, {}
    while time.monotonic() < deadline and not (
        owner.get("pid") not in (None, building.pid) and list(collection.glob("shard/temp_segments/segment_builder_*"))
    ):
        time.sleep(0.02)
        text = (collection / "holder").read_text()
        owner = json.loads(text) if text.startswith("{") and text.endswith("}") else {}
    assert owner["command"] == f"HNSW index build of 'big' for process {building.pid}"  # the child says who it is
    building.kill()  # SIGKILL while the child builds
    out, _ = building.communicate(timeout=60)
    assert "built" not in out, "the build ended before the kill: make the collection bigger"
    deadline = time.monotonic() + 10
    while not _gone(owner["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(owner["pid"])  # it died with its parent instead of building on as an orphan
    left = sorted(collection.glob("shard/temp_segments/segment_builder_*"))
    assert left
    store = open_store(path=tmp_path / "q")
    try:
        with caplog.at_level(logging.WARNING):
            assert store.count("big") == 20_000 and store.index_status("big").indexed == 0
    finally:
        store.close()
    assert not list(collection.glob("shard/temp_segments/segment_builder_*"))
    assert all(f"removed {path}, left by a killed index build of collection 'big'" in caplog.text for path in left)
