"""What the semantic layer costs a question: latency and memory at a given number of chunks.

    python -m bench.semantic MODEL [--chunks 50000] [--queries 300]

MODEL is what ``DOCQA_SEMANTIC_MODEL`` takes (a folder, such as the one
``bench.semantic_model`` writes). The chunks are the synthetic ones of ``bench.corpus``
(600-character chunks of Zipf-distributed words, in memory, no files). Embedding 50,000
chunks takes this machine over an hour, and what a question costs does not depend on the
vectors' values, so the chunk vectors are random unit vectors (the embedding throughput
is measured apart, on 256 of the chunks). Questions are runs of 2 to 8 words of random
chunks, as in ``bench.bench``; a query is ``Engine.retrieve`` (tokenizing, BM25's top 50,
embedding the question, its similarity to every chunk, fusing, the 5 passages), after 20
untimed ones; ``ask`` adds the answer (whose candidate units are embedded too). Memory is
the process's resident size above what it was before each step. The exact similarity is
one float32 matrix-vector product: the last table times it alone at larger sizes, to say
where it stops being cheap.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time
from importlib.metadata import version

import numpy as np

from bench.bench import _percentiles, _status_mb, questions
from bench.corpus import chunks as synthetic_chunks
from index.chunking import ChunkingConfig
from index.models import Chunk
from index.retrieval import Engine, EngineConfig, Index
from index.scoring import BM25Scorer
from index.semantic.vectors import ChunkVectors
from index.tokenize import tokenize_many

WARMUP = 20
SCALES = (50_000, 200_000, 500_000, 1_000_000)


def _rss() -> float:
    gc.collect()
    return _status_mb("VmRSS")


def _timed(fn, items) -> list[float]:  # type: ignore[no-untyped-def]
    for item in items[:WARMUP]:
        fn(item)
    out = []
    for item in items[WARMUP:]:
        t0 = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.semantic", description=__doc__)
    parser.add_argument("model", help="a model folder or Hugging Face repository")
    parser.add_argument("--chunks", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args(argv)
    n = args.chunks
    print(
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the start; Python "
        f"{platform.python_version()}, numpy {version('numpy')}, onnxruntime "
        f"{version('onnxruntime')}, tokenizers {version('tokenizers')}\n"
    )
    texts = [t for t, _ in zip(synthetic_chunks(n), range(n))]
    asked = questions(texts, WARMUP + args.queries)
    base = _rss()
    scorer = BM25Scorer.build(tokenize_many(texts))
    table = [
        Chunk(id=i, source=f"doc{i // 13:06d}.txt", text=t, start_line=1, end_line=1, start=0,
              end=len(t))
        for i, t in enumerate(texts)
    ]  # fmt: skip
    index = Index(root=".", chunks=table, scorer=scorer, config=ChunkingConfig())  # type: ignore[arg-type]
    bm25_mb = _rss() - base

    from index.semantic.model import load_embedder

    before = _rss()
    t0 = time.perf_counter()
    embedder = load_embedder(args.model)
    load_s = time.perf_counter() - t0
    model_mb = _rss() - before
    sample = texts[:256]
    t0 = time.perf_counter()
    embedder.embed(sample)
    per_s = len(sample) / (time.perf_counter() - t0)

    before = _rss()
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((n, embedder.dim), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    vectors_mb = _rss() - before

    plain = Engine(index, EngineConfig())
    fused_index = Index(
        root=index.root, chunks=table, scorer=scorer, config=index.config,
        vectors=ChunkVectors(embedder, matrix),
    )  # fmt: skip
    fused = Engine(fused_index, EngineConfig())
    rows = [
        ("BM25 only: retrieve", _percentiles(_timed(plain.retrieve, asked))),
        ("embedding the question", _percentiles(_timed(lambda q: embedder.embed([q]), asked))),
        ("similarity to every chunk", _percentiles(_timed(
            lambda q: matrix @ fused_index.vectors.embed_question(q), asked  # type: ignore[union-attr]
        ))),  # fmt: skip
        ("semantic: retrieve", _percentiles(_timed(fused.retrieve, asked))),
        ("BM25 only: ask", _percentiles(_timed(plain.ask, asked))),
        ("semantic: ask", _percentiles(_timed(fused.ask, asked))),
    ]
    print(f"{n:,} chunks of {embedder.dim} dimensions, {args.queries} questions "
          f"(model {embedder.name}, loaded in {load_s:.2f} s)\n")  # fmt: skip
    print("| step | p50 ms | p99 ms |\n|---|---:|---:|")
    for name, p in rows:
        print(f"| {name} | {p['p50_ms']:.2f} | {p['p99_ms']:.2f} |")
    print(
        f"\nmemory above the process before each step: BM25 index and chunks {bm25_mb:.0f} MB, "
        f"the model (onnxruntime session) {model_mb:.0f} MB, the chunk vectors "
        f"{vectors_mb:.0f} MB (float32; {n * embedder.dim * 2 / 2**20:.0f} MB as float16 on disk)"
    )
    print(f"embedding: {per_s:.1f} chunks a second (256 chunks of about 600 characters)\n")

    del matrix, fused_index, fused
    print("| chunks | similarity to every chunk p50 ms | vectors in memory MB |\n|---:|---:|---:|")
    q = embedder.embed(["a question"])[0]
    for size in SCALES:
        big = rng.standard_normal((size, embedder.dim), dtype=np.float32)
        times = _timed(lambda _: big @ q, list(range(WARMUP + 50)))
        print(f"| {size:,} | {_percentiles(times)['p50_ms']:.2f} | {big.nbytes / 2**20:.0f} |")
        del big
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
