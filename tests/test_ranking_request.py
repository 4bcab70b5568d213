"""One ranking request from the command to the kernel: every field honoured on both methods, or refused in one line.

The batch-query method (a server: the vectors stay there) used to drop three of
what a caller asks of each block without a word: how many hits to show, where
the relevant points rank, and a look at every score. Here each is honoured
alike on both methods, or refused.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from commands.evaluating import eval_
from evaluation import EvalOptions, Method, RankingRequest, Rerank, Sample, leave_one_out, rank_all, rank_query
from evaluation.metrics.per_query import FigureSums
from evaluation.ranking.ranker import BlockOutput, ranked_blocks
from tests.test_ranking import add_tied_collection, stable_reference

METHODS = [Method.BLOCK, Method.BATCH_QUERY]


def blocks(store, method: Method, output: BlockOutput, k: int | None = None) -> list:
    points = store.points("tied", with_vectors=method is Method.BLOCK)
    return list(ranked_blocks(store, "tied", points, request=RankingRequest(k=k, method=method), output=output))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("k", [None, 4])
def test_shown_cuts_each_row_on_both_methods(store, method, k):
    vectors, _ = add_tied_collection(store)
    ranked = blocks(store, method, BlockOutput(keep_scores=2, shown=3), k)
    order = np.concatenate([block.order for block in ranked])
    assert order.shape == (len(vectors), 3)
    np.testing.assert_array_equal(order, stable_reference(vectors)[:, :3])
    assert np.concatenate([block.scores for block in ranked]).shape == (len(vectors), 2)


@pytest.mark.parametrize("k", [None, 4, 9])
def test_relevance_gives_where_the_relevant_points_rank_on_both_methods(store, k):
    vectors, labels = add_tied_collection(store)
    sums = FigureSums(labels, k)
    queries = np.array([0, 7, 11, 30, 59])
    output = BlockOutput(queries=queries, relevance=sums.relevant_to)
    block, batch = (blocks(store, method, output, k) for method in METHODS)
    reference = stable_reference(vectors)[queries]
    width = reference.shape[1] if k is None else k
    relevant = labels[reference] == labels[queries, None]
    for ranked in (block, batch):
        [found] = ranked
        assert found.hit_rank is not None
        ranks = found.hit_rank <= width
        expected_row, expected_col = np.nonzero(relevant[:, :width])
        np.testing.assert_array_equal(found.hit_row[ranks], expected_row)
        np.testing.assert_array_equal(found.hit_rank[ranks], expected_col + 1)


def test_inspecting_every_score_is_refused_on_the_batch_query_method(store):
    add_tied_collection(store)
    seen = []
    blocks(store, Method.BLOCK, BlockOutput(inspect=lambda chosen, scores: seen.append(scores.shape)))
    assert seen and all(shape[1] == 60 for shape in seen)
    with pytest.raises(ValueError, match="every score.*block method"):
        blocks(store, Method.BATCH_QUERY, BlockOutput(inspect=lambda chosen, scores: None))


@pytest.mark.parametrize("method", METHODS)
def test_leave_one_out_gives_the_same_figures_and_galleries_on_both_methods(store, method):
    vectors, labels = add_tied_collection(store)
    request = RankingRequest(k=4, method=method, sample=Sample(size=20, seed=1))
    evaluation = leave_one_out(store, "tied", request)
    drawn = Sample(size=20, seed=1).positions(len(vectors))
    np.testing.assert_array_equal(evaluation.top, stable_reference(vectors)[drawn, :4])
    other = leave_one_out(store, "tied", RankingRequest(k=4, method=Method.BLOCK, sample=Sample(size=20, seed=1)))
    np.testing.assert_array_equal(evaluation.figures.ap, other.figures.ap)
    assert evaluation.to_json()["method"] == method.value


def test_rank_all_refuses_what_it_cannot_hold_as_one_row_per_point(store):
    add_tied_collection(store)
    with pytest.raises(ValueError, match="rank_all ranks every point"):
        rank_all(store, "tied", RankingRequest(sample=Sample(size=5, seed=0)))
    with pytest.raises(ValueError, match="rank_all ranks every point"):
        rank_all(store, "tied", RankingRequest(exclude_duplicates=True))


def test_a_drill_down_is_the_same_on_both_methods_and_refuses_batch_query_without_duplicates(store):
    from store import point_id

    _, labels = add_tied_collection(store)
    pid = point_id("tied", f"{labels[7]}/007.jpg")
    block = rank_query(store, "tied", pid, request=RankingRequest(k=5, method=Method.BLOCK))
    batch = rank_query(store, "tied", pid, request=RankingRequest(k=5, method=Method.BATCH_QUERY))
    assert [hit.id for hit in batch.hits] == [hit.id for hit in block.hits] and batch.ap == block.ap
    assert rank_query(store, "tied", pid, request=RankingRequest(k=5, exclude_duplicates=True)).k == 5
    with pytest.raises(ValueError, match="near-duplicates.*block method"):
        rank_query(store, "tied", pid, request=RankingRequest(method=Method.BATCH_QUERY, exclude_duplicates=True))


def test_the_method_is_a_closed_set_whose_strings_stay_the_same():
    assert [method.value for method in Method] == ["auto", "block", "batch-query"]
    assert json.dumps({"method": Method.BATCH_QUERY}) == '{"method": "batch-query"}'
    assert f"{Method.BLOCK}" == "block"
    assert RankingRequest(method="batch-query").method is Method.BATCH_QUERY
    with pytest.raises(ValueError, match="unknown ranking method 'exact'"):
        RankingRequest(method="exact")
    with pytest.raises(ValueError, match="re-ranking stage needs the vectors"):
        RankingRequest(method=Method.BATCH_QUERY, stage=Rerank("aqe"))
    [option] = [param for param in eval_.params if param.name == "method"]
    assert list(option.type.choices) == ["auto", "block", "batch-query"] and option.default == "auto"


def test_eval_options_become_one_request_per_stage():
    stage = Rerank("aqe")
    options = EvalOptions(k=7, sample=Sample(3, 2), rerank=stage, exclude_duplicates=True, method=Method.BATCH_QUERY)
    assert options.ranking() == RankingRequest(7, Method.BATCH_QUERY, None, True, Sample(3, 2))
    assert EvalOptions(k=7, rerank=stage).ranking(stage) == RankingRequest(k=7, stage=stage)
