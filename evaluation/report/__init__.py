"""The report files of an evaluation: records and PR plots and galleries per collection, reports/index.html."""
