"""Duplicates across two collections: the points of the second that duplicate points of the first (a leak
between a train and a test split, or between two datasets)."""

from __future__ import annotations

import numpy as np

from duplicates.duplicate_options import DuplicateOptions
from duplicates.groups import Member, grouped, hash_pairs, with_cosines
from duplicates.report import DuplicateReport
from duplicates.thresholds import MAX_PAIRS, threshold_for, too_loose
from errors import QueryError
from store import VectorStore
from store.close_pairs import Pairs, TooManyPairs, pairs_across


def find_across(store: VectorStore, first: str, second: str, *, options: DuplicateOptions) -> DuplicateReport:
    """Groups joining points of `second` to the points of `first` they duplicate (identical files, or cosine at
    or above the threshold); pairs inside one collection are left out. Both must come from the same encoder
    with the same dimension, else the cosines mean nothing: one line says so."""
    a, b = store.info(first), store.info(second)
    if first == second:
        raise QueryError(f"--across needs two collections, got '{first}' twice; for one use `duplicates -c {first}`")
    if (a.encoder, a.dim) != (b.encoder, b.dim):
        raise QueryError(
            f"'{first}' ({a.encoder}, {a.dim}-d) and '{second}' ({b.encoder}, {b.dim}-d) come from different "
            "encoders: their vectors cannot be compared; pick two collections of the same encoder"
        )
    threshold = None if options.exact_only else threshold_for(a.encoder, options.threshold, collection=first)
    with_vectors = threshold is not None
    left, right = store.points(first, with_vectors=with_vectors), store.points(second, with_vectors=with_vectors)
    members = [Member(first, i, p) for i, p in zip(left.ids, left.payloads, strict=True)]
    members += [Member(second, i, p) for i, p in zip(right.ids, right.payloads, strict=True)]
    size = len(left.ids)
    near = Pairs.joined([])
    vectors = None
    if threshold is not None:
        try:
            found = pairs_across(left.vectors, right.vectors, threshold.value, limit=MAX_PAIRS)
        except TooManyPairs as error:
            raise too_loose(threshold, f"'{first}' and '{second}'", error.limit) from None
        near = Pairs(found.first, found.second + size, found.score)
        vectors = np.concatenate([left.vectors, right.vectors])
    exact = with_cosines(hash_pairs([m.payload.sha256 for m in members], across=size), vectors)
    groups = grouped(members, near, exact)
    return DuplicateReport((first, second), threshold, (size, len(right.ids)), groups)
