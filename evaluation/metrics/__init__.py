"""Per-query figures as pure functions (AP, P@k, R-precision, PR, text-to-image, Revisited), relevance by
labels, bootstrap intervals and paired tests, and the comparisons of records."""
