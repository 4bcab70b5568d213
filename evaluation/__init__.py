"""Leave-one-out evaluation: ranking, pure metrics, ANN recall, the runner, figures and the report."""

from evaluation.ann import AnnRecall, ann_recall
from evaluation.drilldown import QueryRanking, rank_query
from evaluation.grid import StudyGrid, study_table
from evaluation.ranking import Neighbours, VectorStage, rank_all
from evaluation.report import read_summaries, store_summaries, write_collection_report, write_index
from evaluation.rerank import Rerank
from evaluation.run import EvaluationRun, collections_to_evaluate, evaluate_collections, measure_ann
from evaluation.runner import Evaluation, GalleryRow, Sample, leave_one_out
from evaluation.study import study_figure

__all__ = [
    "AnnRecall",
    "Evaluation",
    "EvaluationRun",
    "GalleryRow",
    "Neighbours",
    "QueryRanking",
    "Rerank",
    "Sample",
    "StudyGrid",
    "VectorStage",
    "ann_recall",
    "collections_to_evaluate",
    "evaluate_collections",
    "leave_one_out",
    "measure_ann",
    "rank_all",
    "rank_query",
    "read_summaries",
    "store_summaries",
    "study_figure",
    "study_table",
    "write_collection_report",
    "write_index",
]
