"""Retrieval quality from exact search: `evaluate_collections` (leave-one-out, the Revisited protocol, text-to-image
and fused encoders beside), and what it is built of: ranking, pure metrics, protocols, records and report files
(reports/index.html itself is `presentation`'s)."""

from evaluation.evaluate import EvaluationRun, collections_to_evaluate, evaluate_collections
from evaluation.metrics.comparisons import Comparisons, compare_records
from evaluation.options import EvalOptions
from evaluation.protocols.drilldown import QueryRanking, rank_query
from evaluation.protocols.leave_one_out import Evaluation, GalleryRow, leave_one_out
from evaluation.query_encoders import QueryEncoders
from evaluation.ranking.ranker import Neighbours, rank_all
from evaluation.ranking.request import Method, RankingRequest, VectorStage
from evaluation.ranking.rerankers import RERANKERS, Rerank
from evaluation.records.run_records import RunRecord, read_records, store_records
from evaluation.records.study import study_figure
from evaluation.records.study_grid import StudyGrid, TableRow, study_table
from evaluation.records.variant import Sample, Variant
from evaluation.report.report_files import write_collection_report

__all__ = [
    "RERANKERS",
    "Comparisons",
    "EvalOptions",
    "Evaluation",
    "EvaluationRun",
    "GalleryRow",
    "Method",
    "Neighbours",
    "QueryEncoders",
    "QueryRanking",
    "RankingRequest",
    "Rerank",
    "RunRecord",
    "Sample",
    "StudyGrid",
    "TableRow",
    "Variant",
    "VectorStage",
    "collections_to_evaluate",
    "compare_records",
    "evaluate_collections",
    "leave_one_out",
    "rank_all",
    "rank_query",
    "read_records",
    "store_records",
    "study_figure",
    "study_table",
    "write_collection_report",
]
