"""`tune`: a collection's index (HNSW, quantization) built under a grid of settings and measured: recall@k,
latency, memory, the frontier and a recommendation. It measures the index, not retrieval quality; the
evaluation's AP@k is handed in by the command layer."""
