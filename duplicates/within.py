"""Duplicates within one collection: identical files by sha256, near ones by cosine over the upper triangle."""

from __future__ import annotations

from duplicates.duplicate_options import DuplicateOptions
from duplicates.groups import Member, grouped, hash_pairs
from duplicates.report import DuplicateReport
from duplicates.thresholds import MAX_PAIRS, threshold_for, too_loose
from store import VectorStore
from store.close_pairs import Pairs, TooManyPairs, pairs_within


def find_within(store: VectorStore, collection: str, options: DuplicateOptions) -> DuplicateReport:
    """The groups of duplicates in `collection`: its points read a page at a time (vectors only for near
    duplicates), scored in blocks of rows against the points after them. No labels needed."""
    store.require(collection)
    encoder = store.info(collection).encoder
    threshold = None if options.exact_only else threshold_for(encoder, options.threshold, collection=collection)
    points = store.points(collection, with_vectors=threshold is not None)
    members = [Member(collection, i, p) for i, p in zip(points.ids, points.payloads, strict=True)]
    try:
        near = Pairs.joined([]) if threshold is None else pairs_within(points.vectors, threshold.value, limit=MAX_PAIRS)
    except TooManyPairs as error:
        raise too_loose(threshold, f"'{collection}'", error.limit) from None
    exact = hash_pairs([p.sha256 for p in points.payloads])
    groups = grouped(members, near, exact, vectors=points.vectors)
    return DuplicateReport((collection,), threshold, (len(members),), groups)
