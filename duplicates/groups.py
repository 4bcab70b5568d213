"""Groups of duplicates: members connected by close pairs (exact or near), largest groups first."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from store import ImagePayload
from store.close_pairs import Pairs, first_of_group


@dataclass(frozen=True)
class Member:
    """One stored image of a group: its collection, point id and what its payload says of the file."""

    collection: str
    id: str
    payload: ImagePayload

    @property
    def path(self) -> str:
        return self.payload.path

    def to_json(self) -> dict:
        p = self.payload
        return {"collection": self.collection, "id": self.id, "path": p.path, "size": p.size, "sha256": p.sha256}


@dataclass(frozen=True)
class Pair:
    """Two members of a group (positions in `Group.members`), their cosine (None where no vectors were read)
    and whether their files are identical (same sha256)."""

    a: int
    b: int
    score: float | None
    exact: bool


@dataclass(frozen=True)
class Group:
    """Members connected through pairs, in the order read (collection, then dataset order)."""

    members: list[Member]
    pairs: list[Pair]

    @property
    def exact(self) -> bool:
        """Whether every member is the same file."""
        return len({m.payload.sha256 for m in self.members}) == 1 and self.members[0].payload.sha256 is not None

    def to_json(self) -> dict:
        return {
            "size": len(self.members),
            "exact": self.exact,
            "paths": [m.path for m in self.members],
            "members": [m.to_json() for m in self.members],
            "pairs": [
                {
                    "a": self.members[p.a].path,
                    "b": self.members[p.b].path,
                    "score": None if p.score is None else round(p.score, 6),
                    "exact": p.exact,
                }
                for p in self.pairs
            ],
        }


def hash_pairs(hashes: list[str | None], *, across: int | None = None) -> Pairs:
    """Pairs of positions whose files have the same sha256: each file joined to the first of its hash (a chain
    is enough to connect a group). With `across` (the first set's size), only pairs of one position below it
    and one at or above it."""
    first_of: dict[str, int] = {}
    first, second = [], []
    for position, digest in enumerate(hashes):
        if digest is None:
            continue
        inside_first = across is not None and position < across
        if digest in first_of and not inside_first:
            first.append(first_of[digest])
            second.append(position)
        elif across is None or inside_first:
            first_of.setdefault(digest, position)
    return Pairs(np.array(first, np.int64), np.array(second, np.int64), np.full(len(first), np.nan, np.float32))


def with_cosines(exact: Pairs, vectors: np.ndarray | None) -> Pairs:
    """The exact pairs with their cosines where the vectors are at hand (NaN where not), computed once, so the
    groups need no vectors."""
    if vectors is None:
        return exact
    scores = [vectors[a] @ vectors[b] for a, b in zip(exact.first.tolist(), exact.second.tolist(), strict=True)]
    return Pairs(exact.first, exact.second, np.array(scores, np.float32))


def grouped(members: list[Member], near: Pairs, exact: Pairs) -> list[Group]:
    """The connected groups of `members` through the near and exact pairs (positions into `members`), largest
    first, then by their first member; an exact pair's score is its cosine where known (`with_cosines`)."""
    i = np.concatenate([near.first, exact.first])
    j = np.concatenate([near.second, exact.second])
    if len(i) == 0:
        return []
    scores: dict[tuple[int, int], float | None] = {}
    for a, b, s in zip(near.first.tolist(), near.second.tolist(), near.score.tolist(), strict=True):
        scores[(a, b)] = s
    for a, b, s in zip(exact.first.tolist(), exact.second.tolist(), exact.score.tolist(), strict=True):
        if (a, b) not in scores:
            scores[(a, b)] = None if np.isnan(s) else s
    root = first_of_group(len(members), i, j)
    by_root: dict[int, list[tuple[int, int]]] = {}
    for a, b in sorted(scores, key=lambda pair: root[pair[0]]):
        by_root.setdefault(int(root[a]), []).append((a, b))
    groups = []
    for pairs in by_root.values():  # each group's root is its lowest position
        positions = sorted({p for pair in pairs for p in pair})
        at = {p: k for k, p in enumerate(positions)}
        ordered = sorted(pairs, key=lambda pair: (at[pair[0]], at[pair[1]]))
        groups.append(
            Group(
                [members[p] for p in positions],
                [Pair(at[a], at[b], scores[(a, b)], _same_file(members[a], members[b])) for a, b in ordered],
            )
        )
    return sorted(groups, key=lambda group: -len(group.members))  # stable: equal sizes stay in root order


def _same_file(a: Member, b: Member) -> bool:
    return a.payload.sha256 is not None and a.payload.sha256 == b.payload.sha256
