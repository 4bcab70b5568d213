"""evaluation.rank_all: ties broken by dataset order at any cut, a collection changing under it, kept scores.

The collections here are built so that every score is exact in float32
(unit vectors with four entries of +-0.5), so equal scores are equal whatever
the order of the arithmetic, and ties are everywhere: identical copies of
each vector carry different labels, so AP depends on how ties are broken.
"""

from __future__ import annotations

import numpy as np
import pytest

from errors import EvaluationError
from evaluation import RankingRequest, leave_one_out, rank_all
from evaluation.metrics.per_query import evaluate_rankings
from evaluation.ranking.ranker import TIE_MARGIN
from store import ImagePayload, VectorStore, point_id

PROTOTYPES = 10
COPIES = 6  # each query ties with its 5 copies at score 1: a cut at 4 falls inside that tie


def add_tied_collection(store: VectorStore, name: str = "tied", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """COPIES identical copies of PROTOTYPES vectors, interleaved in dataset order, labels mixed among copies."""
    rng = np.random.default_rng(seed)
    prototypes: set[tuple[float, ...]] = set()
    while len(prototypes) < PROTOTYPES:
        vector = np.zeros(16, dtype=np.float32)
        vector[rng.choice(16, 4, replace=False)] = rng.choice([-0.5, 0.5], 4)
        prototypes.add(tuple(vector))
    table = np.array(sorted(prototypes), dtype=np.float32)
    n = PROTOTYPES * COPIES
    vectors = table[np.arange(n) % PROTOTYPES]
    labels = rng.choice(np.array(list("abc")), n)
    paths = [f"{label}/{i:03d}.jpg" for i, label in enumerate(labels)]
    store.ensure_collection(name, 16)
    store.upsert(
        name,
        [point_id("tied", p) for p in paths],
        vectors,
        payloads=[
            ImagePayload(str(label), path, "tied", "toy", i)
            for i, (label, path) in enumerate(zip(labels, paths, strict=True))
        ],
    )
    return vectors, labels


def record_query_limits(store: VectorStore, monkeypatch) -> list[int]:
    """The `limit` of every batch query the store answers from now on (the list fills as they go)."""
    requested: list[int] = []
    real = store.query_many

    def spy(name, queries, limit, *, exact):
        requested.extend([limit] * len(queries))
        return real(name, queries, limit, exact=exact)

    monkeypatch.setattr(store, "query_many", spy)
    return requested


def stable_reference(vectors: np.ndarray) -> np.ndarray:
    """Each point's ranking of the others: score descending, ties by position (numpy's stable sort)."""
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    return np.argsort(-similarity, axis=1, kind="stable")[:, :-1]


def test_the_collection_has_ties_across_labels_that_change_ap(store):
    vectors, labels = add_tied_collection(store)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    last_first = np.broadcast_to(-np.arange(len(vectors)), similarity.shape)
    reversed_ties = np.lexsort((last_first, -similarity), axis=1)[:, :-1]  # ties by position, backwards
    reference = stable_reference(vectors)
    # another tie order gives another AP, with or without k: a wrong order cannot pass the tests below
    assert evaluate_rankings(reference, labels).mean_ap != pytest.approx(
        evaluate_rankings(reversed_ties, labels).mean_ap
    )
    assert evaluate_rankings(reference[:, :4], labels, 4).mean_ap != pytest.approx(
        evaluate_rankings(reversed_ties[:, :4], labels, 4).mean_ap
    )


@pytest.mark.parametrize("method", ["block", "batch-query"])
@pytest.mark.parametrize("k", [None, 4])
def test_ties_are_broken_by_dataset_order_with_and_without_k(store, method, k):
    vectors, labels = add_tied_collection(store)
    reference = stable_reference(vectors)[:, :k]
    neighbours = rank_all(store, "tied", RankingRequest(k=k, method=method))
    np.testing.assert_array_equal(neighbours.order, reference)
    expected = evaluate_rankings(reference, labels, k)
    assert leave_one_out(store, "tied", RankingRequest(k=k, method=method)).mean_ap == pytest.approx(
        expected.mean_ap, abs=1e-12
    )


def test_block_top_k_equals_the_stable_full_ranking_cut_at_every_k(store):
    vectors, _ = add_tied_collection(store)
    reference = stable_reference(vectors)
    for k in range(len(vectors) + 1):
        neighbours = rank_all(store, "tied", RankingRequest(k=k, method="block"))
        np.testing.assert_array_equal(neighbours.order, reference[:, :k], err_msg=f"k={k}")
        similarity = vectors @ vectors.T
        np.testing.assert_array_equal(neighbours.scores, np.take_along_axis(similarity, reference[:, :k], 1))


def test_batch_query_asks_past_the_cut_by_the_margin(store, monkeypatch):
    vectors, _ = add_tied_collection(store)
    requested = record_query_limits(store, monkeypatch)
    rank_all(store, "tied", RankingRequest(k=4, method="batch-query"))
    assert set(requested) == {4 + TIE_MARGIN}
    requested.clear()
    rank_all(store, "tied", RankingRequest(k=len(vectors) - 3, method="batch-query"))
    assert set(requested) == {len(vectors) - 1}  # never more than the other points


def test_a_point_written_during_a_batch_query_evaluation_is_one_clear_error(store):
    vectors, _ = add_tied_collection(store)

    def write_one(done: int, total: int) -> None:
        if done == 32:  # after the first batch; point 40, queried later, gets an exact copy of itself
            store.upsert(
                "tied",
                [point_id("tied", "late.jpg")],
                vectors[40:41],
                payloads=[ImagePayload("a", "late.jpg", "tied", "toy", 999)],
            )

    with pytest.raises(EvaluationError, match="changed during the evaluation.*run the evaluation again"):
        leave_one_out(store, "tied", RankingRequest(k=5, method="batch-query"), progress=write_one)


def test_labels_are_checked_before_any_ranking(store, monkeypatch):
    import evaluation.protocols.leave_one_out

    _, labels = add_tied_collection(store)
    unlabelled = ImagePayload(None, "x.jpg", "tied", "toy", 3)
    store.overwrite_payloads("tied", {point_id("tied", f"{labels[3]}/003.jpg"): unlabelled})

    def never(*args, **kwargs):
        raise AssertionError("ranked a collection that cannot be evaluated")

    monkeypatch.setattr(evaluation.protocols.leave_one_out, "ranked_blocks", never)
    with pytest.raises(EvaluationError, match="1 point.*no 'label'"):
        leave_one_out(store, "tied")


@pytest.mark.parametrize("method", ["block", "batch-query"])
def test_keep_scores_keeps_the_first_scores_and_the_same_order(store, method):
    add_tied_collection(store)
    full = rank_all(store, "tied", RankingRequest(method=method))
    kept = rank_all(store, "tied", RankingRequest(method=method), keep_scores=5)
    np.testing.assert_array_equal(kept.order, full.order)
    assert kept.scores.shape == (len(full.order), 5)
    np.testing.assert_array_equal(kept.scores, full.scores[:, :5])
    evaluation = leave_one_out(store, "tied", RankingRequest(method=method))
    np.testing.assert_array_equal(evaluation.top_scores, full.scores[:, :5])


def test_a_tie_running_past_the_margin_is_asked_again_in_full(store, monkeypatch):
    copies = TIE_MARGIN + 24  # one vector stored this many times: every cut at 4 falls in a long tie
    vectors = np.zeros((copies + 8, 16), dtype=np.float32)
    vectors[:copies, :4] = 0.5
    vectors[copies:, 4:8] = 0.5
    labels = np.array(list("ab"))[np.arange(len(vectors)) % 2]
    store.ensure_collection("long_tie", 16)
    store.upsert(
        "long_tie",
        [point_id("long", str(i)) for i in range(len(vectors))],
        vectors,
        payloads=[ImagePayload(str(label), str(i), "long", "toy", i) for i, label in enumerate(labels)],
    )
    requested = record_query_limits(store, monkeypatch)
    neighbours = rank_all(store, "long_tie", RankingRequest(k=4, method="batch-query"))
    np.testing.assert_array_equal(neighbours.order, stable_reference(vectors)[:, :4])
    assert requested.count(len(vectors) - 1) == copies  # the rows inside the long tie, asked again


def test_the_reference_sort_keys_order_by_score_then_position_and_give_the_scores_back():
    from tests.ranking_reference import key_positions, key_scores, sort_keys

    rng = np.random.default_rng(3)
    scores = rng.choice(np.array([-1.0, -0.25, -0.0, 0.0, 0.5, 1e-30, -1e-30, 0.75], dtype=np.float32), (40, 300))
    negated = -scores
    reference = np.argsort(negated + np.float32(0), axis=1, kind="stable")  # -0.0 == 0.0 for numpy's comparison
    keys = np.sort(sort_keys(negated.copy()), axis=1)
    np.testing.assert_array_equal(key_positions(keys), reference)
    np.testing.assert_array_equal(key_scores(keys), np.take_along_axis(scores, reference, 1))


@pytest.mark.parametrize("method", ["block", "batch-query"])
def test_leave_one_out_measures_block_by_block_without_the_full_ranking(store, method, monkeypatch):
    import evaluation.ranking.ranker

    vectors, labels = add_tied_collection(store)
    monkeypatch.setattr(
        evaluation.ranking.ranker, "BLOCK_ELEMENTS", 7 * len(vectors)
    )  # 16 rows (MIN_BLOCK_ROWS) a block
    monkeypatch.setattr(evaluation.ranking.ranker, "rank_all", None)  # never asked for every ranking at once
    seen = []
    evaluation_ = leave_one_out(
        store, "tied", RankingRequest(method=method), progress=lambda done, total: seen.append(done)
    )
    expected = evaluate_rankings(stable_reference(vectors), labels)
    np.testing.assert_allclose(evaluation_.figures.ap, expected.ap, atol=1e-12)
    np.testing.assert_allclose(evaluation_.figures.pr_curve, expected.pr_curve, atol=1e-12)
    assert evaluation_.top.tolist() == stable_reference(vectors)[:, :5].tolist()
    assert seen[-1] == len(vectors) and len(seen) == (4 if method == "block" else 2)  # 60 rows: 16 a block; 32 a batch


@pytest.mark.parametrize("method", ["block", "batch-query"])
def test_a_sample_ranks_its_queries_against_the_whole_collection(store, method):
    from evaluation.protocols.leave_one_out import Sample

    vectors, labels = add_tied_collection(store)
    sample = Sample(size=17, seed=5)
    drawn = np.sort(np.random.default_rng(5).choice(len(vectors), 17, replace=False))
    sampled = leave_one_out(store, "tied", RankingRequest(method=method, sample=sample))
    full = evaluate_rankings(stable_reference(vectors), labels)
    np.testing.assert_allclose(sampled.figures.ap, full.ap[drawn], atol=1e-12)
    assert sampled.mean_ap == pytest.approx(np.nanmean(full.ap[drawn]), abs=1e-12)
    record = sampled.to_json()
    assert record["queries"] == 17 and record["points"] == len(vectors)
    assert record["sample"]["seed"] == 5
    assert list(record["ap_per_query"]) == [sampled.ids[q] for q in drawn]
    assert [row["index"] for row in record["best"]] == [
        int(drawn[q]) for q in np.argsort(-np.nan_to_num(full.ap[drawn], nan=-1), kind="stable")[:5]
    ]
