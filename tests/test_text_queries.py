"""Text-to-image figures: the pure functions against scikit-learn and hand-worked tables, then `eval
--text-queries` through the CLI on a random-weight CLIP collection, checked against an independent computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import average_precision_score

import cli
from errors import EvaluationError
from evaluation.metrics.text_figures import class_relevance, prompt_vectors, prompts, text_query_figures
from evaluation.records.run_records import read_records


def test_ap_per_class_equals_scikit_learn_on_a_score_table_without_ties():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(4, 30))  # continuous: no two scores equal
    relevant = rng.random((4, 30)) < 0.3
    relevant[:, 0] = True  # every class has an image
    figures = text_query_figures(scores, relevant)
    expected = [average_precision_score(relevant[c], scores[c]) for c in range(4)]
    np.testing.assert_allclose(figures.ap, expected, rtol=1e-12)
    assert figures.mean_ap == pytest.approx(np.mean(expected))
    for k in (1, 5, 10):
        top = np.argsort(-scores, axis=1)[:, :k]
        by_hand = np.take_along_axis(relevant, top, axis=1).sum(axis=1) / k
        np.testing.assert_allclose(figures.precision[k], by_hand)
    np.testing.assert_array_equal(figures.n_relevant, relevant.sum(axis=1))


def test_ties_go_by_dataset_position_and_a_cut_divides_by_min_r_k():
    # class 0: images 0 and 1 tie; image 0 (first in the dataset) is not of the class, so it ranks first.
    scores = np.array([[0.5, 0.5, 0.1, 0.9]])
    relevant = np.array([[False, True, True, False]])
    figures = text_query_figures(scores, relevant)
    # ranking 3, 0, 1, 2: relevant at ranks 3 and 4 -> (1/3 + 2/4) / 2
    assert figures.ap[0] == pytest.approx((1 / 3 + 2 / 4) / 2)
    assert figures.r_precision[0] == pytest.approx(0.0)  # the first R = 2 are 3 and 0
    cut = text_query_figures(scores, relevant, k=3)
    assert cut.ap[0] == pytest.approx((1 / 3) / 2)  # only rank 3 inside the cut, denominator min(2, 3)


def test_a_class_without_images_has_no_ap_and_is_left_out_of_the_mean():
    scores = np.array([[0.9, 0.1], [0.2, 0.8]])
    relevant = np.array([[True, False], [False, False]])
    figures = text_query_figures(scores, relevant)
    assert figures.ap[0] == 1.0 and np.isnan(figures.ap[1])
    assert figures.mean_ap == 1.0 and figures.skipped == 1


def test_templates_are_averaged_as_unit_vectors_then_renormalised():
    first = np.array([[3.0, 0.0], [0.0, 2.0]])
    second = np.array([[0.0, 5.0], [0.0, 1.0]])
    averaged = prompt_vectors([first, second])
    np.testing.assert_allclose(averaged[0], [np.sqrt(0.5), np.sqrt(0.5)], rtol=1e-6)  # (1,0) and (0,1)
    np.testing.assert_allclose(averaged[1], [0.0, 1.0])
    assert prompts("a photo of a {label}", ["bus", "rose"]) == ["a photo of a bus", "a photo of a rose"]
    with pytest.raises(ValueError, match="label"):
        prompts("no placeholder", ["bus"])


def test_multi_label_images_are_relevant_to_each_of_their_classes():
    relevant = class_relevance(["cat", "dog"], [("cat",), ("cat", "dog"), ("dog",)])
    np.testing.assert_array_equal(relevant, [[True, True, False], [False, True, True]])


def run(storage: Path, *args: str):
    options = ["--storage", str(storage), "--reports", str(storage.parent / "reports")]
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli.cli, [*options, *args], catch_exceptions=False)


def test_eval_text_queries_on_a_random_weight_clip_collection(data_root, tmp_path):
    from encoders import build_text_encoder
    from store import open_store

    storage = tmp_path / "q"
    ingest = ["ingest", "--data-root", str(data_root), "--workers", "0", "-e", "clip", "-e", "colorhist"]
    assert run(storage, *ingest, "--init", "random-tiny").exit_code == 0
    templates = ["a photo of a {label}", "a {label} picture"]
    asked = ["eval", "-c", "shapes_clip", "-c", "shapes_colorhist", "--text-queries", "--device", "cpu"]
    done = run(storage, *asked, *(arg for t in templates for arg in ("--template", t)))
    assert done.exit_code == 0, done.output
    assert "text->image" in done.stdout and "shapes_colorhist: its encoder has no text tower" in done.output

    reports = tmp_path / "reports"
    found = [r for r in read_records(reports) if r.kind == "text-to-image"]  # the one reader of records
    assert [(r.collection, r.name, r.variant.slug) for r in found] == [
        ("shapes_clip", "shapes_clip text->image", "text-to-image")
    ]
    record = found[0].data
    assert (reports / "shapes_clip" / "runs" / "text-to-image.json").is_file()
    assert record["random_weights"] is True and record["variant"]["kind"] == "text-to-image"
    assert record["templates"] == templates and record["queries"] == 3
    # independently: the text tower of the same random weights, each template normalised, averaged, normalised
    store = open_store(path=storage)
    try:
        points = store.points("shapes_clip", with_vectors=True)
    finally:
        store.close()
    encoder = build_text_encoder("clip", "cpu", init="random-tiny")
    classes = sorted(set(points.labels))
    per_template = []
    for template in templates:
        texts = encoder.embed_texts([template.format(label=label) for label in classes]).astype(np.float64)
        per_template.append(texts / np.linalg.norm(texts, axis=1, keepdims=True))
    queries = np.mean(per_template, axis=0)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    scores = queries @ points.vectors.T.astype(np.float64)
    for c, label in enumerate(classes):
        relevant = np.array([point_label == label for point_label in points.labels])
        assert record["per_class_ap"][label] == pytest.approx(average_precision_score(relevant, scores[c]), abs=1e-6)
    assert record["best"][0]["ap"] >= record["worst"][0]["ap"]
    assert found[0].ap_per_query == record["per_class_ap"]  # its queries are the classes
    folder = reports / "shapes_clip" / "text-to-image"
    assert all((folder / name).is_file() for name in ("pr.png", "best.png", "worst.png"))
    index = (reports / "index.html").read_text()
    assert "<th>clip text-&gt;image</th>" in index  # its own row of the table, labelled
    assert 'shapes_clip text-&gt;image (mAP; variant: text-&gt;image) <span class="random">(random weights' in index
    assert "shapes_clip/text-to-image/best.png" in index


def test_text_queries_need_a_text_tower(data_root, tmp_path):
    storage = tmp_path / "q"
    assert run(storage, "ingest", "--data-root", str(data_root), "--workers", "0", "-e", "colorhist").exit_code == 0
    template_alone = run(storage, "eval", "--template", "a {label}")
    assert template_alone.exit_code == 2 and "--template needs --text-queries" in template_alone.output
    with pytest.raises(EvaluationError, match="none of shapes_colorhist has a text tower"):
        run(storage, "eval", "--text-queries")
    assert not (tmp_path / "reports" / "shapes_colorhist").exists()  # refused before any evaluation
