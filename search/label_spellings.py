"""A --label as the collection spells it: every stored label equal to it when case is ignored (kept per collection
while its point count holds), a did-you-mean for one it lacks, and the refusal of MMR over several spellings."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from errors import QueryError
from store.provenance import no_labels

if TYPE_CHECKING:
    from search.query_records import Query
    from store import CollectionInfo, VectorStore


class LabelSpellings:
    """Each collection's labels, read once from its points and read again when its point count changes."""

    def __init__(self) -> None:
        self._labels: dict[str, tuple[int, list[str]]] = {}  # collection -> (points, its labels)

    def of(self, store: VectorStore, info: CollectionInfo, label: str) -> list[str]:
        """The collection's labels equal to `label` when case is ignored; a label it lacks is a mistake, not
        an empty answer: the error says which labels it has, or that it has none."""
        if not info.labeled:
            raise QueryError(f"{no_labels(info.name)}; search it without --label")
        cached = self._labels.get(info.name)
        if cached is None or cached[0] != info.points:
            payloads = store.points(info.name).payloads
            cached = (info.points, sorted({known for p in payloads for known in p.label_set}))
            self._labels[info.name] = cached
        labels = cached[1]
        spelled = [known for known in labels if known.casefold() == label.casefold()]
        if not spelled:
            close = difflib.get_close_matches(label.casefold(), [known.casefold() for known in labels], n=1)
            hint = f"did you mean '{next(k for k in labels if k.casefold() == close[0])}'? " if close else ""
            raise QueryError(
                f"collection '{info.name}' has no label '{label}' (case ignored); {hint}its labels: {', '.join(labels)}"
            )
        return spelled


def one_order(query: Query, info: CollectionInfo, spellings: list[str]) -> None:
    """Refuse --diverse with a label stored in several spellings: the store filters one spelling a query, and
    MMR orders merged by score would no longer be MMR's."""
    if query.diversity is not None and len(spellings) > 1:
        raise QueryError(
            f"--diverse with --label '{query.label}': collection '{info.name}' spells it {len(spellings)} ways "
            f"({', '.join(spellings)}), each its own query, and MMR orders cannot be merged; leave out --diverse"
        )
