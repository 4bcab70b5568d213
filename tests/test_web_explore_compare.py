"""The exploration's comparisons (tests/explore_fixtures.py's site): class confusion against numpy and by hand,
the pairs behind a cell, and two collections side by side."""

from __future__ import annotations

import re

import numpy as np

from evaluation.metrics.confusion import confusion
from tests.explore_fixtures import (
    built_fixture,  # noqa: F401 (pytest finds `built` here)
    recorded_aps,
)
from tests.web_fixtures import error_text, shapes_id


def numpy_confusion(vectors: np.ndarray, labels: list[str], k: int) -> dict[tuple[str, str], float]:
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    counts: dict[tuple[str, str], int] = {}
    for i, row in enumerate(scores):
        for j in np.argsort(-row, kind="stable")[:k]:
            counts[labels[i], labels[j]] = counts.get((labels[i], labels[j]), 0) + 1
    totals = {a: sum(v for (b, _), v in counts.items() if b == a) for a in set(labels)}
    return {pair: count / totals[pair[0]] for pair, count in counts.items()}


def test_confusion_shares_are_numpy_top_k_shares_and_a_cell_opens_its_pairs(client, opened, built):
    stored = opened.points("shapes_noisy", with_vectors=True)
    expected = numpy_confusion(stored.vectors, stored.labels, 5)
    page = client.get("/c/shapes_noisy/confusion", params={"k": 5}).text
    cells = re.findall(r'row=(\w+)&amp;column=(\w+)&amp;k=5">([\d.]+)</a>', page)
    assert {(a, b): float(v) for a, b, v in cells} == {pair: round(v, 2) for pair, v in expected.items()}
    label_of = dict(zip(stored.ids, stored.labels, strict=True))
    red = np.mean([ap for pid, ap in recorded_aps(built, "shapes_noisy").items() if label_of[pid] == "red"])
    assert re.findall(r'class="recorded-ap">([\d.]+)<', page)[2] == f"{red:.4f}"  # classes: blue, green, red
    pairs = client.get("/c/shapes_noisy/confusion/pairs", params={"row": "red", "column": "red", "k": 5}).text
    rows = [re.findall(r"/c/shapes_noisy/p/([0-9a-f-]{36})", row) for row in pairs.split('class="pair-row"')[1:]]
    queries = [row[0] for row in rows]  # a grid: each query once, its confused hits beside it
    assert len(set(queries)) == len(queries) and sum(len(row) - 1 for row in rows) == round(expected["red", "red"] * 20)
    assert all(stored.labels[stored.ids.index(pid)] == "red" for row in rows for pid in row)


def test_confusion_counts_from_a_hand_worked_ranking():
    from evaluation import Neighbours
    from store import ImagePayload, Points

    payloads = [ImagePayload(label, f"{i}.jpg", "d", "e", i) for i, label in enumerate(["a", "a", "b"])]
    order = np.array([[1, 2], [2, 0], [0, 1]])  # a0 -> a1, b; a1 -> b, a0; b -> a0, a1
    found = confusion(Neighbours(Points(["0", "1", "2"], payloads), order, np.zeros((3, 0))))
    assert found.rows() == [("a", 2, [0.5, 0.5]), ("b", 1, [1.0, 0.0])]
    assert found.pairs("a", "b") == [(0, 2, 2), (1, 2, 1)]


def test_confusion_counts_a_multi_label_point_in_each_of_its_classes():
    from evaluation import Neighbours
    from store import ImagePayload, Points

    labels = [("a", "b"), ("a",), ("b",)]
    payloads = [
        ImagePayload(ls[0], f"{i}.jpg", "d", "e", i, labels=ls if len(ls) > 1 else None) for i, ls in enumerate(labels)
    ]
    order = np.array([[1], [0], [0]])  # ab -> a; a -> ab; b -> ab
    found = confusion(Neighbours(Points(["0", "1", "2"], payloads), order, np.zeros((3, 0))))
    # row a: queries ab and a, their hits a and ab: 2 of 2 hits have a, 1 of 2 has b;
    # row b: queries ab and b, their hits a and ab: the same
    assert found.rows() == [("a", 2, [1.0, 0.5]), ("b", 2, [1.0, 0.5])]
    assert found.pairs("b", "a") == [(0, 1, 1), (2, 0, 1)]


def test_side_by_side_shows_one_column_per_collection_each_with_its_recorded_ap(client, built):
    pid = shapes_id("green/01.jpg")
    page = client.get(f"/c/shapes_colorhist/compare/{pid}", params={"with": "shapes_noisy", "k": 4}).text
    columns = re.findall(r'data-collection="(\w+)">.*?class="column-ap">(.*?)</p>', page, re.S)
    assert [name for name, _ in columns] == ["shapes_colorhist", "shapes_noisy"]
    for name, ap in columns:
        assert ap == f'AP {recorded_aps(built, name)[pid]:.4f} <span class="muted">(full record)</span>'
    neighbours = client.get(f"/c/shapes_colorhist/p/{pid}").text
    assert f"/c/shapes_colorhist/compare/{pid}?with=shapes_noisy" in neighbours
    evaluation = client.get("/eval/shapes_colorhist").text
    assert re.search(r"/c/shapes_colorhist/compare/[0-9a-f-]{36}\">compare with", evaluation)
    refused = client.get(f"/c/shapes_colorhist/compare/{pid}", params={"with": "nope"})
    assert refused.status_code == 400 and "not a collection of the same dataset" in error_text(refused)
