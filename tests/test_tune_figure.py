"""The frontier figure `tune` writes: the names of crowded settings do not overlap."""


def test_the_frontier_figures_names_do_not_overlap_where_settings_crowd():
    from types import SimpleNamespace

    from matplotlib.text import Text

    from tune.tune_files import frontier_figure

    def row(i: int) -> SimpleNamespace:  # ten frontier settings a hair apart in latency, memory and recall
        memory = SimpleNamespace(ram=1000 + 3 * i, source="formula")
        return SimpleNamespace(
            label=f"m{i} ef{16 * i} int8", frontier=True, p50_ms=1 + 0.01 * i, recall=0.9 + 0.001 * i, memory=memory
        )

    far = SimpleNamespace(label="m4", frontier=False, p50_ms=0.2, recall=0.5, memory=SimpleNamespace(ram=200))
    rows = [row(i) for i in range(10)] + [far]  # the far setting stretches both axes: the ten crowd together
    exact = SimpleNamespace(p50_ms=5.0, memory=SimpleNamespace(ram=1600, source="formula"))
    result = SimpleNamespace(rows=rows, recommended=rows[3], exact=exact, k=10, collection="crowded", queries=50)
    figure = frontier_figure(result)
    renderer = figure.canvas.get_renderer()
    for ax in figure.axes:
        boxes = [Text.get_window_extent(name, renderer) for name in ax.texts]  # the names' boxes, not their lines
        assert len(boxes) == 10
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
