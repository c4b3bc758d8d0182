"""docqa against tantivy and bm25s (numba backend), from one run, on one machine.

    .venv/bin/python -m bench.bench [--sizes 200000,1000000] [--big] [--queries 1000]

For each size: write a folder of synthetic text files (``bench.corpus``: Zipf-distributed
words over a vocabulary that grows with the corpus, 15 paragraphs a file), build docqa's
saved index from the folder (``docqa index build``'s code: load, chunk, tokenize in a
process pool, write segments), then give the peers exactly docqa's chunks (the text the
index sees) and build theirs. Each system and phase runs in a fresh subprocess. Questions
are runs of 2 to 8 consecutive words of random chunks; a query is tokenizing the question
and getting the 10 best chunk ids with their scores. Then docqa's incremental timings over
the same folder, each a whole ``docqa ask`` process (restart unchanged, one file edited,
100 added, one deleted, one touched), and the cold ``docqa ask`` on ``seeds/`` beside
``python -c "import numpy"``. Everything is written to a temporary folder removed at the
end; the report goes to stdout (Markdown, for the README).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpus import chunks

REPO = Path(__file__).resolve().parent.parent
K = 10
WARMUP = 20  # untimed queries first, for every system
PARAGRAPHS_PER_FILE = 15
CHUNKS_PER_FILE = 13.2  # what docqa's chunker makes of one such file (600 / 150)


# --- measuring --------------------------------------------------------------------------


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


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


# --- the corpus -------------------------------------------------------------------------


def write_folder(root: Path, n_chunks: int) -> int:
    """About ``n_chunks`` chunks' worth of files under ``root``; returns the file count."""
    files = max(1, round(n_chunks / CHUNKS_PER_FILE))
    texts = chunks(files * PARAGRAPHS_PER_FILE, vocab_size=60_000 + n_chunks // 10)
    for i in range(files):
        folder = root / f"d{i // 1000:03d}"
        if i % 1000 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        body = "\n\n".join(next(texts) for _ in range(PARAGRAPHS_PER_FILE))
        (folder / f"doc{i:06d}.txt").write_text(body + "\n", encoding="utf-8")
    past = time.time() - 3600  # an old folder: no file is "racy" at the first save
    for path in root.rglob("*.txt"):
        os.utime(path, (past, past))
    return files


def questions(texts: list[str], n: int, seed: int = 1) -> list[str]:
    """Runs of 2 to 8 words from random chunks, each with at least one indexed term."""
    from index.tokenize import tokenize

    rng = np.random.default_rng(seed)
    found: list[str] = []
    while len(found) < n:
        words = re.findall(r"[\w.,']+", texts[int(rng.integers(len(texts)))])
        length = int(rng.integers(2, 9))
        start = int(rng.integers(max(1, len(words) - length)))
        question = " ".join(words[start : start + length]).strip(".,")
        if tokenize(question):
            found.append(question)
    return found


# --- workers (each in its own process) --------------------------------------------------


def worker_docqa_build(docs: Path, data: Path, corpus: Path) -> dict[str, Any]:
    from index.chunking import ChunkingConfig
    from index.store import open_index

    _reset_peak()
    base = _status_mb("VmRSS")
    cpu, t0 = _cpu(), time.perf_counter()
    index, report = open_index(docs, data, ChunkingConfig())
    wall = time.perf_counter() - t0
    result = {
        "build_s": wall,
        "build_cpu_s": _cpu() - cpu,
        "build_peak_mb": _status_mb("VmHWM") - base,
        # a pool worker's peak (shared pages counted in each, so this overstates)
        "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "chunks": report.chunks,
        "saved": report.saved,
    }
    # the peers index exactly what docqa indexes: each chunk's heading path and text
    from index.chunking import indexed_text

    with corpus.open("w", encoding="utf-8") as out:
        for chunk in index.chunks:
            out.write(json.dumps(indexed_text(chunk)) + "\n")
    return result


def worker_docqa_query(docs: Path, data: Path, qfile: Path) -> dict[str, Any]:
    from index.chunking import ChunkingConfig
    from index.store import IndexStore, index_fingerprint
    from index.tokenize import tokenize

    qs = json.loads(qfile.read_text())
    base = _status_mb("VmRSS")
    t0 = time.perf_counter()
    stored = IndexStore(data, docs).load(index_fingerprint(ChunkingConfig()))
    result: dict[str, Any] = {"open_s": time.perf_counter() - t0}
    scorer = stored.scorer
    for q in qs[:WARMUP]:  # first calls fill caches (the kernel's view of the segments)
        scorer.top_k(tokenize(q), K)
    times, cpu = [], []
    for q in qs:
        t, c = time.perf_counter(), time.thread_time()
        scorer.top_k(tokenize(q), K)
        cpu.append(time.thread_time() - c)
        times.append(time.perf_counter() - t)
    result.update(_percentiles(times))
    # the same queries in this thread's CPU time: on a shared machine a query that waits
    # for a core shows in the wall-clock p99, not here
    result.update({f"cpu_{key}": value for key, value in _percentiles(cpu).items()})
    result["memory_mb"] = _status_mb("VmRSS") - base
    result["segments"] = len(stored.segments)
    return result


def _bm25s_tokens(texts: list[str]) -> Any:
    import bm25s
    import Stemmer

    return bm25s.tokenize(
        texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), show_progress=False
    )


def worker_bm25s_build(corpus: Path, out: Path) -> dict[str, Any]:
    import bm25s

    texts = [json.loads(line) for line in corpus.open(encoding="utf-8")]
    _reset_peak()
    base = _status_mb("VmRSS")
    cpu, t0 = _cpu(), time.perf_counter()
    model = bm25s.BM25(method="bm25+", k1=1.5, b=0.75, delta=1.0, backend="numba")
    model.index(_bm25s_tokens(texts), show_progress=False)
    model.save(str(out))
    return {
        "build_s": time.perf_counter() - t0,
        "build_cpu_s": _cpu() - cpu,
        "build_peak_mb": _status_mb("VmHWM") - base,
    }


def worker_bm25s_query(out: Path, qfile: Path) -> dict[str, Any]:
    import bm25s
    import Stemmer

    qs = json.loads(qfile.read_text())
    stemmer = Stemmer.Stemmer("english")
    base = _status_mb("VmRSS")
    t0 = time.perf_counter()
    model = bm25s.BM25.load(str(out), mmap=True, show_progress=False)
    model.backend = "numba"
    result: dict[str, Any] = {"open_s": time.perf_counter() - t0}

    def query(q: str) -> None:
        tokens = bm25s.tokenize([q], stopwords="en", stemmer=stemmer, show_progress=False)
        model.retrieve(tokens, k=K, show_progress=False)

    t0 = time.perf_counter()
    query(qs[0])  # numba compiles on the first query
    result["first_query_s"] = time.perf_counter() - t0
    for q in qs[:WARMUP]:
        query(q)
    times = []
    for q in qs:
        t = time.perf_counter()
        query(q)
        times.append(time.perf_counter() - t)
    result.update(_percentiles(times))
    result["memory_mb"] = _status_mb("VmRSS") - base
    return result


def _tantivy_schema() -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=False, tokenizer_name="en_stem")
    return builder.build()


def worker_tantivy_build(corpus: Path, out: Path) -> dict[str, Any]:
    import tantivy

    texts = [json.loads(line) for line in corpus.open(encoding="utf-8")]
    out.mkdir(parents=True, exist_ok=True)
    _reset_peak()
    base = _status_mb("VmRSS")
    cpu, t0 = _cpu(), time.perf_counter()
    index = tantivy.Index(_tantivy_schema(), path=str(out))
    writer = index.writer(heap_size=256_000_000, num_threads=2)
    for text in texts:
        writer.add_document(tantivy.Document(body=text))
    writer.commit()
    writer.wait_merging_threads()
    return {
        "build_s": time.perf_counter() - t0,
        "build_cpu_s": _cpu() - cpu,
        "build_peak_mb": _status_mb("VmHWM") - base,
    }


def worker_tantivy_query(out: Path, qfile: Path) -> dict[str, Any]:
    import tantivy

    qs = json.loads(qfile.read_text())
    base = _status_mb("VmRSS")
    t0 = time.perf_counter()
    index = tantivy.Index.open(str(out))
    searcher = index.searcher()
    result: dict[str, Any] = {"open_s": time.perf_counter() - t0}
    # count=False: counting every match would turn off tantivy's block-max pruning
    for q in qs[:WARMUP]:
        searcher.search(index.parse_query_lenient(q, ["body"])[0], K, count=False)
    times = []
    for q in qs:
        t = time.perf_counter()
        query, _ = index.parse_query_lenient(q, ["body"])
        searcher.search(query, K, count=False)
        times.append(time.perf_counter() - t)
    result.update(_percentiles(times))
    result["memory_mb"] = _status_mb("VmRSS") - base
    return result


WORKERS = {
    "docqa-build": worker_docqa_build,
    "docqa-query": worker_docqa_query,
    "bm25s-build": worker_bm25s_build,
    "bm25s-query": worker_bm25s_query,
    "tantivy-build": worker_tantivy_build,
    "tantivy-query": worker_tantivy_query,
}


def _run_worker(name: str, *args: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench", "--worker", name, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "DISABLE_TQDM": "1"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- whole docqa processes --------------------------------------------------------------


def _ask(docs: Path, data: Path, cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "DOCQA_DATA_DIR": str(data), "DOCQA_LOG_LEVEL": "INFO"}
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "water river", "--docs", str(docs), "--json"],
        capture_output=True, text=True, env=env, cwd=cwd, check=True,
    )
    said = [line for line in done.stderr.splitlines() if "index" in line]
    return time.perf_counter() - t0, said[-1].removeprefix("docqa: ") if said else ""


def incremental(docs: Path, data: Path, tmp: Path) -> list[tuple[str, float, str]]:
    """Whole ``docqa ask`` processes after each kind of change to the folder."""
    rows = []
    files = sorted(docs.rglob("*.txt"))
    seconds, said = _ask(docs, data, tmp)
    rows.append(("restart, nothing changed", seconds, said))
    with files[7].open("a", encoding="utf-8") as f:
        f.write("\nAn added paragraph about the river and its water.\n")
    os.utime(files[7], (time.time() - 60, time.time() - 60))
    rows.append(("one file edited", *_ask(docs, data, tmp)))
    extra = docs / "added"
    extra.mkdir()
    texts = chunks(100 * PARAGRAPHS_PER_FILE, seed=99)
    for i in range(100):
        body = "\n\n".join(next(texts) for _ in range(PARAGRAPHS_PER_FILE))
        (extra / f"new{i:03d}.txt").write_text(body + "\n", encoding="utf-8")
        os.utime(extra / f"new{i:03d}.txt", (time.time() - 60, time.time() - 60))
    rows.append(("100 files added", *_ask(docs, data, tmp)))
    files[11].unlink()
    rows.append(("one file deleted", *_ask(docs, data, tmp)))
    os.utime(files[13], (time.time() - 30, time.time() - 30))
    rows.append(("one file touched (same bytes)", *_ask(docs, data, tmp)))
    rows.append(("restart, nothing changed", *_ask(docs, data, tmp)))
    return rows


def cold_start(tmp: Path, repeats: int = 10) -> tuple[float, float]:
    """Fastest of ``repeats`` ``docqa ask`` on seeds/ (index saved) and of
    ``python -c "import numpy"``, interleaved so both see the same machine."""
    data = tmp / "cold-data"
    env = {**os.environ, "DOCQA_DATA_DIR": str(data)}
    ask = [sys.executable, "-m", "bot", "ask", "who sued openai", "--docs", str(REPO / "seeds")]
    subprocess.run(ask, env=env, cwd=tmp, check=True, capture_output=True)
    asks, numpys = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy"], check=True)
        numpys.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run(ask, env=env, cwd=tmp, check=True, capture_output=True)
        asks.append(time.perf_counter() - t0)
    return min(asks), min(numpys)


# --- the driver -------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    from importlib.metadata import version

    load = os.getloadavg()[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GB RAM, {platform.system()} "
        f"{platform.release()}, load average {load:.1f} at the start; Python "
        f"{platform.python_version()}, numpy {version('numpy')}, bm25s {version('bm25s')} "
        f"(numba {version('numba')}), tantivy {version('tantivy')}"
    )


def run(sizes: list[int], n_queries: int, log: Any) -> str:
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows: list[str] = []
    targets: list[str] = []
    increments: list[str] = []
    with tempfile.TemporaryDirectory(prefix="docqa-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for size in sizes:
            work = tmp / f"n{size}"
            docs, data = work / "docs", work / "data"
            print(f"[bench] {size:,}: writing the folder", file=log, flush=True)
            n_files = write_folder(docs, size)
            print(f"[bench] {size:,}: docqa build", file=log, flush=True)
            corpus, qfile = work / "chunks.jsonl", work / "questions.json"
            d = _run_worker("docqa-build", docs, data, corpus)
            texts = [json.loads(line) for line in corpus.open(encoding="utf-8")]
            qfile.write_text(json.dumps(questions(texts, n_queries)))
            del texts
            d.update(_run_worker("docqa-query", docs, data, qfile))
            measured = {"docqa": d}
            for system in ("bm25s", "tantivy"):
                print(f"[bench] {size:,}: {system}", file=log, flush=True)
                out = work / system
                r = _run_worker(f"{system}-build", corpus, out)
                r.update(_run_worker(f"{system}-query", out, qfile))
                r["disk_mb"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
                shutil.rmtree(out, ignore_errors=True)
                measured[system] = r
            d["disk_mb"] = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 2**20
            chunks_n = d["chunks"]
            for system, r in measured.items():
                peak = f"{r['build_peak_mb']:.0f}"
                if system == "docqa":
                    peak += f" (+ {r['worker_peak_mb']:.0f} per worker)"
                first = f" (+{r['first_query_s']:.1f} s JIT)" if "first_query_s" in r else ""
                rows.append(
                    f"| {chunks_n:,} | {system} | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} "
                    f"| {r['build_s']:.0f} / {r['build_cpu_s']:.0f} | {peak} "
                    f"| {r['open_s']:.3f}{first} | {r['memory_mb']:.0f} | {r['disk_mb']:.0f} |"
                )
            b, t = measured["bm25s"], measured["tantivy"]
            targets.append(
                f"| {chunks_n:,} | {d['p50_ms'] / b['p50_ms']:.2f}× | {d['p99_ms'] / d['p50_ms']:.1f}× "
                f"({d['cpu_p99_ms'] / d['cpu_p50_ms']:.1f}× in CPU time) "
                f"| {d['p50_ms'] / t['p50_ms']:.2f}× | {d['build_s'] / b['build_s']:.2f}× "
                f"| {d['build_peak_mb']:.0f} MB | {d['open_s']:.3f} s |"
            )
            print(f"[bench] {size:,}: incremental restarts", file=log, flush=True)
            for label, seconds, said in incremental(docs, data, work):
                increments.append(f"| {chunks_n:,} in {n_files:,} files | {label} | {seconds:.2f} | {said} |")
            shutil.rmtree(work, ignore_errors=True)
        print("[bench] cold start", file=log, flush=True)
        ask_s, numpy_s = cold_start(tmp)
    return "\n".join(
        [
            f"Run {started} on {machine()}.",
            "",
            "| chunks | system | query p50 / p99 ms | build wall / CPU s | build peak MB "
            "| open s | memory open MB | on disk MB |",
            "|---:|---|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "Targets (ratios from this run):",
            "",
            "| chunks | p50 docqa / bm25s (≤ 1) | p99 / p50 docqa, wall (≤ 3) | p50 docqa / tantivy "
            "| build docqa / bm25s (≤ 1) | docqa build peak (≤ 1 GB at 1M) | docqa open (< 0.3 s) |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            *targets,
            "",
            "Whole `docqa ask` processes over the same folder (targets at 1M: unchanged < 1 s, "
            "one edited < 1.5 s):",
            "",
            "| index | start | wall s | what docqa said |",
            "|---|---|---:|---|",
            *increments,
            "",
            f"Cold `docqa ask` on seeds/: {ask_s:.3f} s; `python -c \"import numpy\"`: "
            f"{numpy_s:.3f} s; ratio {ask_s / numpy_s:.2f}× (target ≤ 3×; fastest of 10 each).",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="200000,1000000", help="chunk counts, comma-separated")
    parser.add_argument("--big", action="store_true", help="add 3,000,000 chunks")
    parser.add_argument("--queries", type=int, default=1000, help="questions timed per system")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        name, *rest = args.worker
        print(json.dumps(WORKERS[name](*map(Path, rest))))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")] + ([3_000_000] if args.big else [])
    started = time.perf_counter()
    print(run(sizes, args.queries, sys.stderr))
    print(f"\n(whole run: {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
