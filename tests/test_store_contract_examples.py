"""The store contract's queries by examples on every engine (tests/store_contract_fixtures.py): each engine's own
recommend, MMR and score threshold, checked against numpy (tests/recommend_reference.py)."""

from __future__ import annotations

import uuid
from dataclasses import replace

import numpy as np
import pytest

from errors import StoreError
from store.example_query import Diversity, ExampleQuery, Strategy
from tests.recommend_reference import numpy_mmr, recommend_scores
from tests.store_contract_fixtures import (
    N,
    engine_store_fixture,  # noqa: F401 (pytest finds `engine_store` here)
    filled,
)


@pytest.mark.parametrize("strategy", list(Strategy))
def test_a_recommend_query_ranks_as_qdrants_formula_on_the_stored_vectors(engine_store, strategy):
    ids, vectors, _ = filled(engine_store, ties=False)
    scores = recommend_scores(vectors, [3, 17], [42], strategy)
    scores[[3, 42]] = -np.inf  # the stored examples (17 is given as a vector: it may be a hit)
    expected = [int(i) for i in np.argsort(-scores, kind="stable")[:8]]
    asked = ExampleQuery((ids[3], vectors[17]), (ids[42],), limit=8, strategy=strategy)
    hits = engine_store.query_examples("toy_enc", asked)
    assert [ids.index(h.id) for h in hits] == expected
    np.testing.assert_allclose([h.score for h in hits], scores[expected], atol=1e-4)
    threshold = float(scores[expected[4]] - 1e-4)  # the score threshold keeps the first five
    kept = engine_store.query_examples("toy_enc", replace(asked, min_score=threshold))
    assert [h.id for h in kept] == [ids[i] for i in expected[:5]]


def test_mmr_and_the_score_threshold_of_a_nearest_query_agree_with_numpy(engine_store):
    ids, vectors, _ = filled(engine_store, ties=False)
    for diversity in (0.3, 0.7):
        asked = ExampleQuery((ids[11],), limit=6, mmr=Diversity(diversity, candidates=20))
        hits = engine_store.query_examples("toy_enc", asked)
        assert [ids.index(h.id) for h in hits] == numpy_mmr(vectors, 11, 1 - diversity, 20, 6)
        np.testing.assert_allclose(
            [h.score for h in hits], vectors[[ids.index(h.id) for h in hits]] @ vectors[11], atol=1e-5
        )
    cosines = vectors @ vectors[11]
    cosines[11] = -np.inf
    hits = engine_store.query_examples("toy_enc", ExampleQuery((ids[11],), limit=N, min_score=0.3))
    assert {h.id for h in hits} == {ids[i] for i in np.flatnonzero(cosines >= 0.3)}
    plain = engine_store.query_examples("toy_enc", ExampleQuery((vectors[11],), limit=3))
    assert [h.id for h in plain] == [h.id for h in engine_store.query("toy_enc", vectors[11], 3, exact=True)]
    with pytest.raises(StoreError, match="no point with id"):
        engine_store.query_examples("toy_enc", ExampleQuery((ids[1],), (str(uuid.uuid4()),)))
