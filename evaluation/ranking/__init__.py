"""The ranking maths: every point ranked against the others in blocks, where relevant points fall, near
duplicates, fusion rules, re-ranking stages, the threads they share and what a run will cost."""
