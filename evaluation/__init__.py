"""Leave-one-out evaluation: ranking, pure metrics, ANN recall, the runner, its records, figures and the report."""

from evaluation.ann import AnnRecall, ann_recall
from evaluation.drilldown import QueryRanking, rank_query
from evaluation.grid import StudyGrid, TableRow, study_table
from evaluation.options import EvalOptions
from evaluation.ranking import Neighbours, VectorStage, rank_all
from evaluation.records import RunRecord, read_records, store_records
from evaluation.report import write_collection_report, write_index
from evaluation.rerank import RERANKERS, Rerank
from evaluation.run import EvaluationRun, collections_to_evaluate, evaluate_collections, measure_ann
from evaluation.runner import Evaluation, GalleryRow, leave_one_out
from evaluation.study import study_figure
from evaluation.variant import Sample, Variant

__all__ = [
    "RERANKERS",
    "AnnRecall",
    "EvalOptions",
    "Evaluation",
    "EvaluationRun",
    "GalleryRow",
    "Neighbours",
    "QueryRanking",
    "Rerank",
    "RunRecord",
    "Sample",
    "StudyGrid",
    "TableRow",
    "Variant",
    "VectorStage",
    "ann_recall",
    "collections_to_evaluate",
    "evaluate_collections",
    "leave_one_out",
    "measure_ann",
    "rank_all",
    "rank_query",
    "read_records",
    "store_records",
    "study_figure",
    "study_table",
    "write_collection_report",
    "write_index",
]
