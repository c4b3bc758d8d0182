"""docqa's index against bm25s and rank-bm25 on synthetic corpora of 10k, 50k and 200k chunks.

    .venv/bin/python -m bench.bench [--sizes 10000,50000,200000] [--queries 1000]

Every measurement runs in a fresh subprocess per system and phase, so memory numbers are
one system's alone: peak RSS while building (tokenizing included) and RSS once the
saved index is loaded, each above the process's RSS just before (the corpus texts and the
imported libraries are not counted). All three systems get the same chunks and the same
questions (3 to 6 consecutive words of a random chunk, as a person would type them);
a query is tokenizing the question and getting the 10 best chunk ids with their scores
("search only" leaves the tokenizing out: bm25s's tokenizer has a fixed cost per call).
rank-bm25 has no save format, so it has no load time and answers only a sample of the
questions (it walks every chunk in Python). Prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpus import read_corpus, write_corpus

RESULTS = Path(__file__).resolve().parent / "results"
SYSTEMS = ("docqa", "bm25s", "rank-bm25")
K = 10


# --- memory -----------------------------------------------------------------------------


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def _reset_peak() -> None:
    # writing 5 to clear_refs resets VmHWM (Linux 4.0+), so the peak is this phase's own
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


# --- questions --------------------------------------------------------------------------


def questions(texts: list[str], n: int, seed: int = 1) -> list[str]:
    """Runs of 3 to 6 words from random chunks, each with at least one indexed term."""
    from index.tokenize import tokenize

    rng = np.random.default_rng(seed)
    found: list[str] = []
    while len(found) < n:
        words = texts[int(rng.integers(len(texts)))].rstrip(".").split()
        length = int(rng.integers(3, 7))
        start = int(rng.integers(max(1, len(words) - length)))
        question = " ".join(words[start : start + length]).replace(".", "")
        if tokenize(question):
            found.append(question)
    return found


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = np.array(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


# --- workers (run in subprocesses) ------------------------------------------------------


def _docqa_table(texts: list[str]) -> Any:
    """The chunk records docqa saves beside the postings: one source, one line each."""
    from index.store import BLOCK_ROW, ROW, ChunkTable

    encoded = [t.encode("utf-8") for t in texts]
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    rows = np.zeros(len(texts), dtype=ROW)
    rows["start_line"] = rows["end_line"] = np.arange(1, len(texts) + 1)
    rows["start"], rows["end"] = offsets[:-1], offsets[1:]
    rows["page"] = -1
    # one paragraph block per chunk, as the loader gives a one-line text file
    block_ptr = np.arange(len(texts) + 1, dtype=np.int64)
    blocks = np.zeros(len(texts), dtype=BLOCK_ROW)
    blocks["end"] = [len(t) for t in texts]
    blocks["kind"] = 1
    return ChunkTable(
        rows, offsets, b"".join(encoded), ["corpus.txt"], [()], block_ptr, blocks
    )


def worker_build(system: str, corpus: Path, out: Path, qfile: Path, n_queries: int) -> dict[str, Any]:
    texts = read_corpus(corpus)
    result: dict[str, Any] = {}
    if system == "docqa":
        from index.scoring import BM25Scorer
        from index.store import IndexStore
        from index.tokenize import tokenize_many

        _reset_peak()
        base = _status_mb("VmRSS")
        t0 = time.perf_counter()
        scorer = BM25Scorer.build(tokenize_many(texts))
        result["build_s"] = time.perf_counter() - t0
        result["build_peak_mb"] = _status_mb("VmHWM") - base
        table = _docqa_table(texts)
        t0 = time.perf_counter()
        IndexStore(out, Path("corpus")).save(scorer, table, [], "bench")
        result["save_s"] = time.perf_counter() - t0
    elif system == "bm25s":
        import bm25s
        import Stemmer

        stemmer = Stemmer.Stemmer("english")
        _reset_peak()
        base = _status_mb("VmRSS")
        t0 = time.perf_counter()
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
        model = bm25s.BM25(method="bm25+", k1=1.5, b=0.75, delta=1.0)
        model.index(tokens, show_progress=False)
        del tokens
        result["build_s"] = time.perf_counter() - t0
        result["build_peak_mb"] = _status_mb("VmHWM") - base
        t0 = time.perf_counter()
        model.save(str(out))
        result["save_s"] = time.perf_counter() - t0
    else:
        from rank_bm25 import BM25Plus

        from index.tokenize import tokenize, tokenize_many

        _reset_peak()
        base = _status_mb("VmRSS")
        t0 = time.perf_counter()
        model = BM25Plus(list(tokenize_many(texts)))
        result["build_s"] = time.perf_counter() - t0
        result["build_peak_mb"] = _status_mb("VmHWM") - base
        gc.collect()
        result["memory_mb"] = _status_mb("VmRSS") - base

        def search(tokens: Any) -> object:
            scores = model.get_scores(tokens)
            top = np.argpartition(-scores, K)[:K]
            return top[np.argsort(-scores[top], kind="stable")]

        qs = json.loads(qfile.read_text())[:n_queries]
        result.update(_time_queries(qs, tokenize, search, warmup=0))
    return result


def _time_queries(
    qs: list[str],
    tokens_of: Callable[[str], Any],
    search: Callable[[Any], object],
    warmup: int,
) -> dict[str, Any]:
    """p50/p95 of tokenizing plus searching each question, and of searching alone."""
    for q in qs[:warmup]:  # first calls pay for imports and caches
        search(tokens_of(q))
    times, search_times = [], []
    for q in qs:
        t0 = time.perf_counter()
        tokens = tokens_of(q)
        t1 = time.perf_counter()
        search(tokens)
        t2 = time.perf_counter()
        times.append(t2 - t0)
        search_times.append(t2 - t1)
    p50, p95 = _percentiles(times)
    search_p50, _ = _percentiles(search_times)
    return {"p50_ms": p50, "p95_ms": p95, "search_p50_ms": search_p50, "queries": len(times)}


def worker_load(system: str, out: Path, qfile: Path, n_queries: int) -> dict[str, Any]:
    qs = json.loads(qfile.read_text())[:n_queries]
    result: dict[str, Any] = {}
    if system == "docqa":
        from index.store import IndexStore
        from index.tokenize import tokenize

        _reset_peak()
        base = _status_mb("VmRSS")
        t0 = time.perf_counter()
        stored = IndexStore(out, Path("corpus")).load("bench")
        result["load_s"] = time.perf_counter() - t0
        scorer = stored.scorer

        def tokens_of(q: str) -> object:
            return tokenize(q)

        def search(tokens: Any) -> object:
            return scorer.top_k(tokens, K)

    else:
        import bm25s
        import Stemmer

        stemmer = Stemmer.Stemmer("english")
        _reset_peak()
        base = _status_mb("VmRSS")
        t0 = time.perf_counter()
        model = bm25s.BM25.load(str(out))
        result["load_s"] = time.perf_counter() - t0

        def tokens_of(q: str) -> object:
            return bm25s.tokenize(
                [q], stopwords="en", stemmer=stemmer, show_progress=False, return_ids=False
            )

        def search(tokens: Any) -> object:
            return model.retrieve(tokens, k=K, show_progress=False, n_threads=1)

    result.update(_time_queries(qs, tokens_of, search, warmup=20))
    gc.collect()
    result["memory_mb"] = _status_mb("VmRSS") - base
    return result


# --- the driver -------------------------------------------------------------------------


def _run_worker(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench", "--worker", *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "DISABLE_TQDM": "1"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    from importlib.metadata import version

    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GB RAM, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, numpy {version('numpy')}, "
        f"bm25s {version('bm25s')} (numpy backend), rank-bm25 {version('rank-bm25')}"
    )


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def run(sizes: list[int], n_queries: int, rank_queries: int) -> str:
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[int, str, dict[str, Any]]] = []
    checks: list[str] = []
    with tempfile.TemporaryDirectory(prefix="docqa-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for size in sizes:
            corpus = write_corpus(RESULTS / f"corpus-{size}.txt", size)
            qfile = tmp / f"questions-{size}.json"
            qfile.write_text(json.dumps(questions(read_corpus(corpus), n_queries)))
            measured: dict[str, dict[str, Any]] = {}
            for system in SYSTEMS:
                out = tmp / f"{system}-{size}"
                print(f"[bench] {size:,} chunks: {system} …", file=sys.stderr, flush=True)
                if system == "rank-bm25":
                    r = _run_worker("build", system, str(corpus), str(out), str(qfile), str(rank_queries))
                else:
                    r = _run_worker("build", system, str(corpus), str(out), str(qfile), str(n_queries))
                    r.update(_run_worker("load", system, str(out), str(qfile), str(n_queries)))
                    r["disk_mb"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
                    shutil.rmtree(out, ignore_errors=True)
                measured[system] = r
                rows.append((size, system, r))
            d, s, rb = measured["docqa"], measured["bm25s"], measured["rank-bm25"]
            checks.append(
                f"| {size:,} | {d['p50_ms'] / s['p50_ms']:.2f}× | {rb['p50_ms'] / d['p50_ms']:.0f}× "
                f"| {d['build_s'] / s['build_s']:.2f}× | {d['build_peak_mb'] / s['build_peak_mb']:.2f}× "
                f"| {d['memory_mb'] / s['memory_mb']:.2f}× | {d['load_s']:.2f} s |"
            )
    lines = [
        f"Machine: {machine()}.",
        "",
        "| chunks | system | build s | build peak MB | save s | on disk MB | load s "
        "| memory loaded MB | query p50 ms | query p95 ms | search only p50 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, system, r in rows:
        queries = f" ({r['queries']} q)" if system == "rank-bm25" else ""
        lines.append(
            f"| {size:,} | {system} | {_fmt(r['build_s'])} | {_fmt(r['build_peak_mb'], 0)} "
            f"| {_fmt(r.get('save_s'))} | {_fmt(r.get('disk_mb'), 0)} | {_fmt(r.get('load_s'))} "
            f"| {_fmt(r['memory_mb'], 0)} | {_fmt(r['p50_ms'], 3)}{queries} | {_fmt(r['p95_ms'], 3)} "
            f"| {_fmt(r['search_p50_ms'], 3)} |"
        )
    lines += [
        "",
        "Query times include tokenizing the question; \"search only\" leaves it out.",
        "",
        "Targets (docqa against the others, same run):",
        "",
        "| chunks | p50 docqa / bm25s (≤ 1) | rank-bm25 p50 / docqa p50 (≥ 100) "
        "| build docqa / bm25s (≤ 2) | build peak docqa / bm25s (≤ 1.5) "
        "| memory loaded docqa / bm25s (≤ 1) | docqa load (< 1 s) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *checks,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,50000,200000", help="corpus sizes, comma-separated")
    parser.add_argument("--queries", type=int, default=1000, help="questions timed for docqa and bm25s")
    parser.add_argument("--rank-queries", type=int, default=20, help="questions timed for rank-bm25")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        phase, system, *rest = args.worker
        if phase == "build":
            corpus, out, qfile, n = rest
            result = worker_build(system, Path(corpus), Path(out), Path(qfile), int(n))
        else:
            out, qfile, n = rest
            result = worker_load(system, Path(out), Path(qfile), int(n))
        print(json.dumps(result))
        return 0
    started = time.perf_counter()
    table = run([int(s) for s in args.sizes.split(",")], args.queries, args.rank_queries)
    print(table)
    print(f"\n(whole run: {time.perf_counter() - started:.0f} s)")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"bench-{stamp}.md").write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
