"""Duplicates within one collection: identical files by sha256, near ones by cosine over the upper triangle."""

from __future__ import annotations

from dataclasses import dataclass

from duplicates.duplicate_options import DuplicateOptions
from duplicates.groups import Member, grouped, hash_pairs, with_cosines
from duplicates.report import DuplicateReport
from duplicates.thresholds import MAX_PAIRS, Threshold, threshold_for, too_loose
from store import VectorStore
from store.close_pairs import Pairs, TooManyPairs, pairs_within


@dataclass(frozen=True)
class WithinPairs:
    """What a search of one collection found: its members, the near pairs at `threshold` (None: exact only) and
    the identical files, cosines included; a higher threshold's groups come from these pairs alone (`report`), so
    a page that raises its threshold neither reads nor scores the vectors again."""

    collection: str
    threshold: Threshold | None
    members: list[Member]
    near: Pairs
    exact: Pairs

    def report(self, threshold: Threshold | None = None) -> DuplicateReport:
        """The groups at `threshold` (default the one searched; a higher one keeps the pairs at or above it)."""
        threshold = threshold or self.threshold
        near = self.near
        if threshold is not None and self.threshold is not None and threshold.value != self.threshold.value:
            if threshold.value < self.threshold.value:
                raise ValueError(f"pairs found at {self.threshold.value:g} cannot answer {threshold.value:g}")
            kept = near.score >= threshold.value
            near = Pairs(near.first[kept], near.second[kept], near.score[kept])
        groups = grouped(self.members, near, self.exact)
        return DuplicateReport((self.collection,), threshold, (len(self.members),), groups)


def find_within(store: VectorStore, collection: str, options: DuplicateOptions) -> DuplicateReport:
    """The groups of duplicates in `collection` (`search_within`'s report)."""
    return search_within(store, collection, options).report()


def search_within(store: VectorStore, collection: str, options: DuplicateOptions) -> WithinPairs:
    """The pairs of `collection`: its points read a page at a time (vectors only for near duplicates), scored in
    blocks of rows against the points after them. No labels needed."""
    store.require(collection)
    encoder = store.info(collection).encoder
    threshold = None if options.exact_only else threshold_for(encoder, options.threshold, collection=collection)
    points = store.points(collection, with_vectors=threshold is not None)
    members = [Member(collection, i, p) for i, p in zip(points.ids, points.payloads, strict=True)]
    try:
        near = Pairs.joined([]) if threshold is None else pairs_within(points.vectors, threshold.value, limit=MAX_PAIRS)
    except TooManyPairs as error:
        raise too_loose(threshold, f"'{collection}'", error.limit) from None
    exact = with_cosines(hash_pairs([p.sha256 for p in points.payloads]), points.vectors)
    return WithinPairs(collection, threshold, members, near, exact)
