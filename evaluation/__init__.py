"""Leave-one-out evaluation: ranking, pure metrics, ANN recall, the runner, figures and the report."""

from evaluation.ann import AnnRecall, ann_recall
from evaluation.ranking import Neighbours, VectorStage, rank_all
from evaluation.report import StudyGrid, read_summaries, study_table, write_collection_report, write_index
from evaluation.rerank import Rerank
from evaluation.run import EvaluationRun, collections_to_evaluate, evaluate_collections, measure_ann
from evaluation.runner import Evaluation, GalleryRow, leave_one_out

__all__ = [
    "AnnRecall",
    "Evaluation",
    "EvaluationRun",
    "GalleryRow",
    "Neighbours",
    "Rerank",
    "StudyGrid",
    "VectorStage",
    "ann_recall",
    "collections_to_evaluate",
    "evaluate_collections",
    "leave_one_out",
    "measure_ann",
    "rank_all",
    "read_summaries",
    "study_table",
    "write_collection_report",
    "write_index",
]
