"""The report files of an evaluation: records and PR plots and galleries per collection (reports/index.html,
which shows them, is `presentation.static_report`'s)."""
