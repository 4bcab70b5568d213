"""`tune`'s pure parts: the frontier and the recommendation on hand-made tables, the grids' sizes, the seeded
sample of queries, and the commands that apply a setting on each engine."""

from __future__ import annotations

import json

import numpy as np
import pytest

from store import CollectionInfo
from tune import settings_grid as tune_grid
from tune import tuner as tune_module
from tune.findings import apply_commands
from tune.frontier import pareto, recommend
from tune.settings_grid import Build, TuneSetting
from tune.tuner import TuneOptions

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect")


def test_frontier_and_recommendation_on_a_hand_made_table():
    # recall, p50 ms, bytes a point
    table = [
        (0.99, 1.0, 100),  # 0: on the frontier (cheapest memory among the good ones)
        (0.99, 2.0, 100),  # 1: dominated by 0 (same recall and memory, slower)
        (1.00, 3.0, 400),  # 2: on it (best recall)
        (0.90, 0.5, 50),  # 3: on it (fastest and cheapest)
        (0.95, 0.6, 60),  # 4: on it (nothing both as fast and as cheap with recall >= 0.95)
        (0.94, 0.7, 60),  # 5: dominated by 4
        (1.00, 3.0, 400),  # 6: a copy of 2: neither dominates the other, both on it
    ]
    recall, latency, memory = (np.array(column, dtype=float) for column in zip(*table, strict=True))
    assert pareto(recall, latency, memory).tolist() == [True, False, True, True, True, False, True]
    chosen = recommend(recall, latency, memory, tolerance=0.01)
    assert (chosen.index, chosen.best_quality, chosen.eligible) == (0, 1.0, 4)  # rows 0, 1, 2, 6 are within 0.01
    assert recommend(recall, latency, memory, tolerance=0.06).index == 4  # 0.95 now qualifies, and is cheaper
    assert recommend(recall, latency, memory, tolerance=0.2).index == 3


def test_recommendation_breaks_memory_ties_by_latency_then_recall():
    recall, latency, memory = np.array([0.98, 0.99, 0.995]), np.array([2.0, 1.0, 1.0]), np.array([10.0, 10.0, 10.0])
    assert recommend(recall, latency, memory).index == 2
    assert pareto(recall, latency, memory).tolist() == [False, False, True]


def test_grids_are_the_sizes_the_help_states():
    for make, settings, builds in ((tune_grid.small_grid, 8, 6), (tune_grid.full_grid, 36, 9)):
        grid = make()
        assert (len(grid), len({setting.build for setting in grid})) == (settings, builds)
        assert {setting.build.quantization for setting in grid} == set(tune_grid.QUANTIZATIONS)
        assert len({setting.label for setting in grid}) == settings  # every row is told apart


def test_tune_module_queries_are_seeded_and_sorted():
    drawn = tune_module._queries(1000, TuneOptions(sample=10, seed=5))
    assert drawn.tolist() == sorted(drawn.tolist()) and len(set(drawn.tolist())) == 10
    assert tune_module._queries(1000, TuneOptions(sample=10, seed=5)).tolist() == drawn.tolist()
    assert tune_module._queries(8, TuneOptions(sample=10)).tolist() == list(range(8))


def test_apply_commands_reindex_the_collection_from_its_own_vectors_on_each_engine():
    info = CollectionInfo("pets_net", 10, 8, "Cosine", "pets", "net", "embedded:/tmp/my store")
    rescored = TuneSetting(Build(16, 100, "int8"), 128, True, 2)
    reindex = "python cli.py collections reindex pets_net --storage '/tmp/my store'"
    assert apply_commands(info, rescored, server=False) == [
        f"{reindex} --hnsw-m 16 --hnsw-ef-construct 100 --quantization int8 --on-disk --hnsw-ef 128 --rescore "
        "--oversampling 2"
    ]
    plain = apply_commands(info, TuneSetting(Build(8, 64), 64), server=False)
    assert plain == [f"{reindex} --hnsw-m 8 --hnsw-ef-construct 64 --quantization none --hnsw-ef 64"]
    served = CollectionInfo("pets_net", 10, 8, "Cosine", "pets", "net", "http://qdrant:6333")
    update, params = apply_commands(served, TuneSetting(Build(16, 100, "binary"), 128, False), server=True)
    assert update == (
        "python cli.py collections reindex pets_net --qdrant-url http://qdrant:6333 --hnsw-m 16 "
        "--hnsw-ef-construct 100 --quantization binary --on-disk"
    )
    assert json.loads(params.split('"params": ', 1)[1]) == {
        "hnsw_ef": 128,
        "quantization": {"rescore": False, "oversampling": 1},
    }
