"""The protocols: leave-one-out, one query drilled down, fused encoders, text-to-image and Revisited
Oxford/Paris; each takes vectors (and query embeddings handed in) and returns an evaluation."""
