"""Benchmarks: docqa against bm25s and rank-bm25 (``python -m bench.bench``)."""
