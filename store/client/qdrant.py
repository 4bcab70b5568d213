"""What the embedded store and a server share: both speak qdrant-client.

`QdrantStore` holds the client privately and implements the contract once;
`EmbeddedStore` and `ServerStore` override only where the engines differ
(search parameters, payload indexes, write retries, bulk loads). A rebuilt
collection is an alias over generations (`store/client/generations.py`); a fused
query is `store/client/rrf_fusion.py`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import numpy as np
from qdrant_client import QdrantClient, models

from errors import StoreError
from store.base import SCROLL_PAGE, Loader, Query, VectorStore
from store.client.generations import Generations
from store.client.rrf_fusion import FusedAsk, fused_hits
from store.example_query import ExampleQuery, Strategy
from store.naming import generation_of, is_staging, swapped
from store.payload import PAYLOAD_SCHEMA, SCHEMA_KEY, ImagePayload
from store.provenance import Provenance
from store.types import (
    ANY_SIZE_KB,
    CollectionInfo,
    Hit,
    IndexSettings,
    IndexStatus,
    Points,
    Quantization,
    SearchSettings,
)


class QdrantStore(VectorStore):
    """The contract over a qdrant-client connection."""

    def __init__(self, client: QdrantClient, location: str) -> None:
        super().__init__()
        self._client = client
        self._generations = Generations(client)
        self.location = location

    def close(self) -> None:
        self._client.close()

    def _search_params(self, exact: bool, search: SearchSettings | None = None) -> models.SearchParams | None:
        if exact or search is None:
            return models.SearchParams(exact=exact)
        quantization = None
        if search.rescore is not None or search.oversampling is not None:
            quantization = models.QuantizationSearchParams(rescore=search.rescore, oversampling=search.oversampling)
        return models.SearchParams(hnsw_ef=search.hnsw_ef, quantization=quantization)

    def _index_label(self, name: str) -> None:
        self._client.create_payload_index(name, "label", models.PayloadSchemaType.KEYWORD)

    # collections

    def collection_names(self) -> list[str]:
        """Collections and aliases by the names they are used by; generations, swap markers and a rebuild's
        staging collection are not listed."""
        names = {alias for alias in self._generations.aliases() if swapped(alias) is None and not is_staging(alias)}
        names.update(
            c.name
            for c in self._client.get_collections().collections
            if generation_of(c.name) is None and not is_staging(c.name)
        )
        return sorted(names)

    def exists(self, name: str) -> bool:
        return self._client.collection_exists(name) or name in self._generations.aliases()

    def fresh_staging(self, name: str) -> str:
        return self._generations.fresh(name)

    def replace(self, name: str, staging: str, settings: IndexSettings | None = None) -> None:
        """Point the alias `name` at `staging` in one alias operation, then drop what it pointed at
        (`Generations.swap`)."""
        self.require(staging)
        self.forget_schema(name)
        self._generations.swap(name, staging)

    def settle(self) -> None:
        """Finish every swap a kill cut short (`Generations.settle`)."""
        self._generations.settle()

    def ensure_collection(
        self,
        name: str,
        dim: int,
        *,
        recreate: bool = False,
        settings: IndexSettings | None = None,
        provenance: Provenance | None = None,
    ) -> bool:
        if self.exists(name):
            if not recreate:
                self._check_vectors(name, dim)
                return False
            self.drop(name)
        config = collection_config(dim, settings or IndexSettings())
        metadata = provenance.to_metadata() if provenance else {SCHEMA_KEY: PAYLOAD_SCHEMA}
        try:
            self._client.create_collection(name, **config, metadata=metadata)
        except Exception:
            if recreate or not self.exists(name):
                raise
            self._check_vectors(name, dim)  # another writer (a part of the same ingest) created it meanwhile
            return False
        self._index_label(name)
        return True

    def _check_vectors(self, name: str, dim: int) -> None:
        params = self._client.get_collection(name).config.params.vectors
        if not isinstance(params, models.VectorParams):
            raise StoreError(f"collection '{name}' has named vectors; this tool writes one unnamed vector")
        if params.size != dim or params.distance != models.Distance.COSINE:
            raise StoreError(
                f"collection '{name}' holds {params.size}-d {params.distance.value} vectors but this "
                f"encoder gives {dim}-d Cosine; drop it (`python cli.py collections drop {name}`) "
                f"or ingest with --recreate"
            )

    def metadata(self, name: str) -> dict:
        self.require(name)
        return dict(self._client.get_collection(name).config.metadata or {})

    def set_provenance(self, name: str, provenance: Provenance) -> None:
        self.forget_schema(name)
        self._client.update_collection(self._generations.aliases().get(name, name), metadata=provenance.to_metadata())

    def drop(self, name: str) -> None:
        """Drop the collection `name`, or the alias `name` and the generation it points at."""
        self.require(name)
        self.forget_schema(name)
        self._client.delete_collection(self._generations.unalias(name))

    def info(self, name: str) -> CollectionInfo:
        self.require(name)
        config = self._client.get_collection(name).config  # read once: vectors and metadata
        params = config.params.vectors
        single = isinstance(params, models.VectorParams)
        provenance = Provenance.read(dict(config.metadata or {}))
        if provenance is None:  # a collection that does not describe itself: its first point may
            first = self._client.scroll(name, limit=1, with_payload=True)[0]
            payload = ImagePayload.read(first[0].payload if first else None)
        return CollectionInfo(
            name=name,
            points=self.count(name),
            dim=params.size if single else 0,
            distance=params.distance.value if single else "named vectors",
            dataset=provenance.dataset if provenance else payload.dataset,
            encoder=provenance.encoder if provenance else payload.encoder,
            location=self.location,
            provenance=provenance,
        )

    def count(self, name: str) -> int:
        self.require(name)
        return self._client.count(name, exact=True).count

    def index_status(self, name: str) -> IndexStatus:
        self.require(name)
        info = self._client.get_collection(name)
        return IndexStatus(info.points_count or 0, info.indexed_vectors_count or 0)

    # points

    def upsert(self, name: str, ids: list[str], vectors: np.ndarray, *, payloads: list[ImagePayload]) -> None:
        batch = models.Batch(ids=ids, vectors=vectors.tolist(), payloads=[p.to_dict() for p in payloads])
        self._write(name, batch)

    def _write(self, name: str, batch: models.Batch) -> None:
        self._client.upsert(name, points=batch, wait=True)

    def bulk_load(self, name: str, settings: IndexSettings | None = None) -> AbstractContextManager[Loader]:
        return self._plain_load(name)

    @contextmanager
    def _plain_load(self, name: str) -> Iterator[Loader]:
        loader = Loader(self, name, None)
        yield loader
        loader.flush()

    def overwrite_payloads(self, name: str, payloads: dict[str, ImagePayload]) -> None:
        for point, payload in payloads.items():
            self._client.overwrite_payload(name, payload=payload.to_dict(), points=[point], wait=True)

    def delete(self, name: str, ids: list[str]) -> None:
        self._client.delete(name, points_selector=models.PointIdsList(points=ids), wait=True)

    def _pages(self, name: str, with_payload: bool, with_vectors: bool) -> Iterator[list]:
        offset = None
        while True:
            records, offset = self._client.scroll(
                name, limit=SCROLL_PAGE, offset=offset, with_payload=with_payload, with_vectors=with_vectors
            )
            if records:
                yield records
            if offset is None:
                return

    def point_ids(self, name: str) -> set[str]:
        self.require(name)
        return {str(r.id) for page in self._pages(name, False, False) for r in page}

    def scroll(self, name: str, with_vectors: bool = False) -> Iterator[Points]:
        self.check_schema(name)
        for page in self._pages(name, True, with_vectors):
            vectors = np.asarray([r.vector for r in page], np.float32) if with_vectors else None
            yield Points([str(r.id) for r in page], [ImagePayload.read(r.payload) for r in page], vectors)

    def find_by_path(self, name: str, path: str) -> str | None:
        self.check_schema(name)
        records, _ = self._client.scroll(name, limit=1, scroll_filter=_match("path", path), with_payload=False)
        return str(records[0].id) if records else None

    def payload(self, name: str, point_id: str) -> ImagePayload | None:
        self.check_schema(name)
        records = self._client.retrieve(name, [point_id], with_payload=True)
        return ImagePayload.read(records[0].payload) if records else None

    # queries

    def query(self, name: str, query: Query, limit: int, *, label: str | None = None, exact: bool = False) -> list[Hit]:
        self.check_schema(name)
        result = self._client.query_points(
            name,
            query=_plain(query),
            limit=limit,
            query_filter=_carries_label(label) if label is not None else None,
            search_params=self._search_params(exact),
            with_payload=True,
        )
        return [Hit.of(str(p.id), p.score, ImagePayload.read(p.payload)) for p in result.points]

    def query_examples(self, name: str, asked: ExampleQuery) -> list[Hit]:
        """Qdrant's nearest query (with its `Mmr`) for one positive example, else its recommend query; stored
        examples go as ids, which Qdrant itself leaves out of the hits."""
        self.check_schema(name)
        found = {str(r.id) for r in self._client.retrieve(name, asked.stored, with_payload=False)}
        missing = [point for point in asked.stored if point not in found]
        if missing:
            raise StoreError(f"no point with id '{missing[0]}' in collection '{name}'")
        positives, negatives = [_plain(e) for e in asked.positives], [_plain(e) for e in asked.negatives]
        if asked.nearest:
            mmr = None
            if asked.mmr is not None:
                mmr = models.Mmr(diversity=asked.mmr.diversity, candidates_limit=asked.candidates)
            query = models.NearestQuery(nearest=positives[0], mmr=mmr)
        else:
            strategy = {
                Strategy.BEST: models.RecommendStrategy.BEST_SCORE,
                Strategy.SUM: models.RecommendStrategy.SUM_SCORES,
            }
            query = models.RecommendQuery(
                recommend=models.RecommendInput(
                    positive=positives, negative=negatives, strategy=strategy[asked.strategy]
                )
            )
        result = self._client.query_points(
            name,
            query=query,
            limit=asked.limit,
            query_filter=_carries_label(asked.label) if asked.label is not None else None,
            score_threshold=asked.min_score,
            search_params=self._search_params(True),
            with_payload=True,
        )
        return [Hit.of(str(p.id), p.score, ImagePayload.read(p.payload)) for p in result.points]

    def fused_query(
        self, members: list[str], point_id: str, limit: int, *, rank_constant: int, depth: int
    ) -> list[Hit]:
        """Qdrant's prefetch + RRF fusion query (`store/client/rrf_fusion.py`)."""
        for name in members:
            self.check_schema(name)
        exact = self._search_params(True)  # None in local mode, where every search is exact
        asked = FusedAsk(point_id, limit=limit, rank_constant=rank_constant, depth=depth)
        return fused_hits(self._client, members, asked, exact=exact)

    def query_many(
        self, name: str, queries: list[Query], limit: int, *, exact: bool, search: SearchSettings | None = None
    ) -> list[tuple[list[str], np.ndarray]]:
        self.check_schema(name)
        params = self._search_params(exact, search)
        requests = [
            models.QueryRequest(query=_plain(q), limit=limit, params=params, with_payload=False) for q in queries
        ]
        return [
            ([str(p.id) for p in response.points], np.fromiter((p.score for p in response.points), np.float32))
            for response in self._client.query_batch_points(name, requests)
        ]


def _plain(query: Query) -> list[float] | str:
    return query.tolist() if isinstance(query, np.ndarray) else query


def _match(key: str, value: str) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key=key, match=models.MatchValue(value=value))])


def _carries_label(label: str) -> models.Filter:
    """Points with `label` among their labels: as `label` (the first, or only one) or in `labels` (several)."""
    return models.Filter(
        should=[models.FieldCondition(key=key, match=models.MatchValue(value=label)) for key in ("label", "labels")]
    )


def collection_config(dim: int, settings: IndexSettings) -> dict:
    """Keyword arguments of `create_collection` for a cosine collection."""
    quantization = {
        Quantization.NONE: None,
        Quantization.INT8: models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True)
        ),
        Quantization.BINARY: models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=True)),
        Quantization.PRODUCT: models.ProductQuantization(
            product=models.ProductQuantizationConfig(compression=models.CompressionRatio.X16, always_ram=True)
        ),
    }[settings.quantization]
    hnsw = None
    if settings.hnsw_m is not None or settings.hnsw_ef_construct is not None or settings.index_any_size:
        hnsw = models.HnswConfigDiff(
            m=settings.hnsw_m,
            ef_construct=settings.hnsw_ef_construct,
            full_scan_threshold=ANY_SIZE_KB if settings.index_any_size else None,
        )
    return {
        "vectors_config": models.VectorParams(
            size=dim, distance=models.Distance.COSINE, on_disk=settings.on_disk or None
        ),
        "shard_number": settings.shards,
        "replication_factor": settings.replicas,
        "hnsw_config": hnsw,
        "quantization_config": quantization,
        "optimizers_config": models.OptimizersConfigDiff(indexing_threshold=ANY_SIZE_KB)
        if settings.index_any_size
        else None,
    }
