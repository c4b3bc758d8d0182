"""The semantic layer with a tiny model the tests build (``tests/tiny_model.py``): loading
and its errors, embedding, fusion with BM25, the vectors in the saved index (kept per
segment, updated incrementally, resumed after an interruption, carried through merges),
the answer's semantic signal, and that nothing imports the model runtime unless asked."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index.chunking import ChunkingConfig, indexed_text
from index.retrieval import Engine, EngineConfig, build_index
from index.semantic import SemanticError
from index.semantic.model import Embedder, load_embedder, locate_model
from index.semantic.vectors import Fused, fuse
from index.store import IndexStore, open_index, update
from index.store import embedding as store_embedding
from tiny_model import write_tiny_model

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ChunkingConfig(chunk_size=120, chunk_overlap=30)

DOCS = {
    "env.md": "# Cleaning up\n\nTo erase every virtualenv of the project, run poetry env "
    "remove --all.\n",
    "telemetry.md": "# Privacy\n\nPoetry sends usage data once a day. To disable "
    "analytics, set POETRY_NO_METRICS=1. It takes effect at the next install.\n",
    "fruit.txt": "Bananas are a yellow fruit that grows in bunches.\n",
    "timeouts.txt": "The request deadline defaults to 30 seconds; set HTTP_TIMEOUT to "
    "change it.\n",
}


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-model")


@pytest.fixture(scope="session")
def tiny(model_dir: Path) -> Embedder:
    return load_embedder(str(model_dir))


class Counting:
    """An embedder that remembers every text it embedded (questions aside)."""

    def __init__(self, inner: Embedder, fail_after: int | None = None) -> None:
        self.inner = inner
        self.name, self.fingerprint, self.dim = inner.name, inner.fingerprint, inner.dim
        self.texts: list[str] = []
        self.fail_after = fail_after

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail_after is not None and len(self.texts) + len(texts) > self.fail_after:
            raise KeyboardInterrupt  # Ctrl-C in the middle of a run
        self.texts.extend(texts)
        return self.inner.embed(texts)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    past = time.time() - 60  # not racily close to the save
    for path in root.rglob("*"):
        os.utime(path, (past, past))


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    write(tmp_path / "docs", DOCS)
    return tmp_path / "docs"


# --- the model ----------------------------------------------------------------------


def test_a_model_folder_gives_unit_vectors_close_for_words_of_one_meaning(
    model_dir: Path, tiny: Embedder
) -> None:
    files = locate_model(str(model_dir))
    assert (files.model, files.tokenizer, files.max_tokens) == (
        model_dir / "model.onnx", model_dir / "tokenizer.json", 256,
    )  # fmt: skip
    assert tiny.name == "tiny-model" and tiny.dim == 11
    assert tiny.fingerprint == f"tiny-model:{tiny.checksum}:256"
    vectors = tiny.embed(["nuke venvs", "remove environments", "bananas", "xyzzy plugh"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    # "nuke venvs" and "remove environments" mean the same to it; a word it does not
    # know points its own way
    assert np.round(vectors @ vectors.T, 3).tolist() == [
        [1.0, 1.0, 0.0, 0.0],
        [1.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
    # batches of texts of different lengths give each text its own vector
    one_by_one = np.stack([tiny.embed([t])[0] for t in ("nuke", "remove the venvs now", "x")])
    assert np.allclose(tiny.embed(["nuke", "remove the venvs now", "x"]), one_by_one, atol=1e-6)
    assert tiny.embed([]).shape == (0, 11)


def test_a_model_that_cannot_be_had_is_one_clear_line(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SemanticError) as missing:
        locate_model(str(tmp_path / "nowhere" / "model.onnx"))
    assert str(missing.value) == (
        f"the semantic model {tmp_path / 'nowhere' / 'model.onnx'} does not exist: set "
        "DOCQA_SEMANTIC_MODEL to a folder holding model.onnx and tokenizer.json, or to a "
        "Hugging Face repository such as sentence-transformers/all-MiniLM-L6-v2"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SemanticError, match="holds no .onnx files: put one model.onnx"):
        locate_model(str(empty))
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    (lonely / "model.onnx").write_bytes((model_dir / "model.onnx").read_bytes())
    with pytest.raises(SemanticError) as no_tokenizer:
        locate_model(str(lonely))
    assert str(no_tokenizer.value) == (
        f"the semantic model {lonely / 'model.onnx'} has no tokenizer.json beside it: copy "
        f"the model's tokenizer.json into {lonely}"
    )

    def unreachable(repo: str, filename: str) -> Path:
        raise OSError("We couldn't connect to the hub\nand the file is not cached")

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", unreachable)
    with pytest.raises(SemanticError) as hub:
        locate_model("org/some-model")
    assert str(hub.value) == (
        "cannot get the semantic model org/some-model (onnx/model_quint8_avx2.onnx) from "
        "Hugging Face: We couldn't connect to the hub and the file is not cached; connect "
        "once to download it, or set DOCQA_SEMANTIC_MODEL to a folder holding model.onnx "
        "and tokenizer.json"
    )


def test_without_the_extra_the_message_says_how_to_install_it(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if absent
    with pytest.raises(SemanticError) as exc:
        load_embedder(str(model_dir))
    assert str(exc.value) == (
        "the semantic layer needs its extra: pip install 'docqa[semantic]' "
        "(or turn it off: DOCQA_SEMANTIC=false)"
    )


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path, model_dir: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.onnx").write_bytes(b"not a graph")
    (bad / "tokenizer.json").write_bytes((model_dir / "tokenizer.json").read_bytes())
    with pytest.raises(SemanticError, match=f"cannot load the semantic model {bad / 'model.onnx'}: "):
        load_embedder(str(bad))


# --- fusion -------------------------------------------------------------------------


def test_fusion_mixes_min_max_normalised_scores() -> None:
    sims = np.array([0.9, 0.1, 0.5, -1.0, 0.3], dtype=np.float32)  # chunk 3: no vector
    bm25 = [(1, 8.0), (4, 6.0), (2, 4.0)]
    fused = fuse(bm25, sims, k=5, weight=0.5, depth=3)
    # BM25 over its list: 1 → 1, 4 → 0.5, 2 → 0; similarity over its top 3 (0, 2, 4):
    # 0 → 1, 2 → 1/3, 4 → 0 (chunk 1, below that list, counts as its lowest: 0)
    assert [(f.chunk_id, round(f.score, 4), f.bm25) for f in fused] == [
        (0, 0.5, None),
        (1, 0.5, 8.0),
        (4, 0.25, 6.0),
        (2, 0.1667, 4.0),
    ]
    assert fused[0] == Fused(0, 0.5, None, pytest.approx(0.9))
    # BM25's weight 1 is BM25's order; a single candidate is its list's best
    assert [f.chunk_id for f in fuse(bm25, sims, 2, 1.0, 3)] == [1, 4]
    one = fuse([(4, 2.0)], np.full(5, -1.0, dtype=np.float32), 3, 0.5, 3)
    assert [(f.chunk_id, f.score) for f in one] == [(4, 0.5)]


def test_a_question_in_other_words_finds_its_passage(docs: Path, tiny: Embedder) -> None:
    plain = Engine(build_index(docs, CONFIG))
    semantic = Engine(build_index(docs, CONFIG, embedder=tiny))
    question = "how do i delete the environments"  # the document: "erase every virtualenv"
    assert plain.retrieve(question) == []
    found = semantic.retrieve(question, k=2)
    assert [(p.source, round(p.similarity or 0, 3)) for p in found] == [
        ("env.md", 0.932), ("timeouts.txt", 0.076),
    ]  # fmt: skip
    # a passage's score is still its BM25 score: :explain adds up to it
    assert found[0].score == pytest.approx(
        sum(r.score for r in semantic.explain(question, found[0].chunk_id))
    )
    # with words in common, BM25 and the meaning agree
    assert [p.source for p in semantic.retrieve("bananas", k=1)] == ["fruit.txt"]


# --- the answer ---------------------------------------------------------------------


def test_a_paraphrase_is_answered_and_an_unrelated_question_still_abstains(
    docs: Path, tiny: Embedder
) -> None:
    # each mode at its shipped threshold (DOCQA_ABSTAIN_THRESHOLD and the semantic one)
    plain = Engine(build_index(docs, CONFIG), EngineConfig(abstain_threshold=0.3))
    semantic = Engine(
        build_index(docs, CONFIG, embedder=tiny), EngineConfig(abstain_threshold=0.4)
    )
    paraphrase = "how do i stop the poetry tracking"  # the document: "disable analytics"
    before, after = plain.ask(paraphrase), semantic.ask(paraphrase)
    assert (before.abstained, round(before.coverage, 3)) == (True, 0.1)
    assert (after.abstained, after.text) == (
        False, "To disable analytics, set POETRY_NO_METRICS=1. [1]",
    )  # fmt: skip
    # the lexical confidence plus half the similarity's excess over 0.3 (here 0.997)
    assert round(after.coverage, 3) == 0.448
    unrelated = semantic.ask("which python version does the install need")
    assert (unrelated.abstained, round(unrelated.coverage, 3)) == (True, 0.247)


# --- the saved index ----------------------------------------------------------------


def _vectors_of(index) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """Each chunk's vector by its indexed text."""
    matrix = index.vectors.matrix
    return {indexed_text(c): matrix[i] for i, c in enumerate(index.chunks)}


def _fresh(tiny: Embedder, index) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """What embedding every chunk now gives, through float16 as the index stores it."""
    texts = [indexed_text(c) for c in index.chunks]
    vectors = tiny.embed(texts).astype(np.float16).astype(np.float32)
    return dict(zip(texts, vectors))


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_vectors_are_saved_once_and_one_edited_file_re_embeds_only_its_chunks(
    docs: Path, tmp_path: Path, tiny: Embedder
) -> None:
    data = tmp_path / "data"
    counting = Counting(tiny)
    index, report = open_index(docs, data, CONFIG, embedder=counting)
    assert (report.action, report.embedded) == ("built", len(index.chunks))
    assert sorted(counting.texts) == sorted(indexed_text(c) for c in index.chunks)
    assert _same(_vectors_of(index), _fresh(tiny, index))

    counting.texts.clear()
    again, report = open_index(docs, data, CONFIG, embedder=counting)
    assert (report.action, report.embedded, counting.texts) == ("loaded", 0, [])
    assert _same(_vectors_of(again), _fresh(tiny, again))

    write(docs, {"fruit.txt": "Bananas are yellow. Apples are red and grow on trees.\n"})
    edited, report = open_index(docs, data, CONFIG, embedder=counting)
    fruit = [indexed_text(c) for c in edited.chunks if c.source == "fruit.txt"]
    assert (report.action, report.embedded) == ("updated", len(fruit))
    assert counting.texts == fruit
    assert _same(_vectors_of(edited), _fresh(tiny, edited))
    # the vectors are in the generation: a new file of them, named by the manifest
    manifest, _ = IndexStore(data, docs).read_manifest()
    assert manifest.vectors is not None and manifest.vectors["model"] == tiny.fingerprint
    assert IndexStore(data, docs).verify() == []


def test_an_index_without_vectors_gets_them_and_keeps_them_when_the_layer_is_off(
    docs: Path, tmp_path: Path, tiny: Embedder
) -> None:
    data = tmp_path / "data"
    plain, report = open_index(docs, data, CONFIG)
    assert (plain.vectors, report.embedded) == (None, None)
    counting = Counting(tiny)
    index, report = open_index(docs, data, CONFIG, embedder=counting)
    assert (report.action, report.embedded) == ("loaded", len(index.chunks))
    write(docs, {"new.txt": "A new note about caches.\n"})
    off, report = open_index(docs, data, CONFIG)  # the layer off: no model, no vectors
    assert (report.action, off.vectors) == ("updated", None)
    counting.texts.clear()
    on, report = open_index(docs, data, CONFIG, embedder=counting)
    assert counting.texts == [indexed_text(c) for c in on.chunks if c.source == "new.txt"]
    assert _same(_vectors_of(on), _fresh(tiny, on))


def test_another_model_embeds_every_chunk_again_with_a_notice(
    docs: Path, tmp_path: Path, tiny: Embedder, model_dir: Path
) -> None:
    data = tmp_path / "data"
    open_index(docs, data, CONFIG, embedder=tiny)
    other_dir = tmp_path / "other-model"
    other_dir.mkdir()
    for name in ("model.onnx", "tokenizer.json"):
        (other_dir / name).write_bytes((model_dir / name).read_bytes())
    other = Counting(load_embedder(str(other_dir)))
    index, report = open_index(docs, data, CONFIG, embedder=other)
    assert report.embedded == len(index.chunks) == len(other.texts)
    assert report.notices == [
        f"the semantic model changed ({tiny.fingerprint} → {other.fingerprint}): every "
        "chunk is embedded again"
    ]
    manifest, _ = IndexStore(data, docs).read_manifest()
    assert manifest.vectors is not None and manifest.vectors["model"] == other.fingerprint


def test_an_interrupted_embedding_resumes_where_it_stopped(
    tmp_path: Path, tiny: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_embedding, "CHECKPOINT_CHUNKS", 4)
    monkeypatch.setattr(store_embedding, "STEP", 2)
    docs = tmp_path / "docs"
    write(docs, {f"note{i:02}.txt": f"Note {i} about caches and timeouts.\n" for i in range(11)})
    data = tmp_path / "data"
    first = Counting(tiny, fail_after=9)  # stops in the third part
    with pytest.raises(KeyboardInterrupt):
        open_index(docs, data, CONFIG, embedder=first)
    manifest, _ = IndexStore(data, docs).read_manifest()
    assert manifest.vectors is not None
    (parts,) = manifest.vectors["segments"].values()
    assert [(p.first, p.count) for p in parts] == [(0, 4), (4, 4)]  # two parts committed
    second = Counting(tiny)
    index, report = open_index(docs, data, CONFIG, embedder=second)
    assert (report.action, report.embedded) == ("loaded", 3)
    assert second.texts == [indexed_text(c) for c in index.chunks][8:]
    assert _same(_vectors_of(index), _fresh(tiny, index))


def test_a_merge_carries_the_vectors_over_without_embedding(
    docs: Path, tmp_path: Path, tiny: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(update, "MERGE_FACTOR", 3)
    data = tmp_path / "data"
    counting = Counting(tiny)
    open_index(docs, data, CONFIG, embedder=counting)
    for i in range(4):
        counting.texts.clear()
        write(docs, {f"n{i}.txt": f"Note {i} about the cache.\n",
                     "fruit.txt": f"Bananas, edit {i}.\n"})  # fmt: skip
        index, report = open_index(docs, data, CONFIG, embedder=counting)
        edited = [indexed_text(c) for c in index.chunks if c.source in (f"n{i}.txt", "fruit.txt")]
        assert sorted(counting.texts) == sorted(edited)  # never a merged chunk again
        assert _same(_vectors_of(index), _fresh(tiny, index))
    manifest, _ = IndexStore(data, docs).read_manifest()
    assert len(manifest.segments) < 5  # merged
    assert IndexStore(data, docs).verify() == []


def test_an_unwritable_data_folder_embeds_in_memory(
    docs: Path, tmp_path: Path, tiny: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, report = open_index(docs, tmp_path / "data", CONFIG, embedder=tiny, save=False)
    assert (report.saved, report.embedded) == (False, len(index.chunks))
    assert _same(_vectors_of(index), _fresh(tiny, index))


# --- cold start ---------------------------------------------------------------------


def test_docqa_without_the_layer_never_imports_the_model_runtime(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs, DOCS)
    env = {**os.environ, "DOCQA_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    ask = [sys.executable, "-m", "bot", "ask", "how do i erase the virtualenv", "--docs", str(docs)]
    probe = (
        "import runpy, sys\n"
        "import index, bot.cli, index.semantic, index.store\n"
        "print(sorted(m for m in ('onnxruntime', 'tokenizers', 'huggingface_hub') "
        "if m in sys.modules), file=sys.stderr)\n"
        f"sys.argv = {ask[2:]!r}\n"
        "try:\n    runpy.run_module('bot', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('onnxruntime', 'tokenizers', 'huggingface_hub') "
        "if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, check=True, capture_output=True,
        text=True,
    )  # fmt: skip
    assert "poetry env remove --all" in done.stdout
    assert done.stderr.strip().splitlines()[-2:] == ["[]", "[]"]


def test_docqa_ask_with_the_layer_uses_the_model_and_says_what_it_embedded(
    tmp_path: Path, model_dir: Path
) -> None:
    docs = tmp_path / "docs"
    write(docs, DOCS)
    env = {
        **os.environ, "DOCQA_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT),
        "DOCQA_SEMANTIC": "true", "DOCQA_SEMANTIC_MODEL": str(model_dir),
        "DOCQA_LOG_LEVEL": "INFO",
    }  # fmt: skip
    ask = [sys.executable, "-m", "bot", "ask", "how do i delete the environments", "--docs", str(docs),
           "-k", "1", "--json"]  # fmt: skip
    first = subprocess.run(ask, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert '"source": "env.md"' in first.stdout
    assert "4 chunks, 4 embedded in" in first.stderr
    second = subprocess.run(ask, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert "loaded the saved index (up to date): 4 documents, 4 chunks in" in second.stderr
    broken = {**env, "DOCQA_SEMANTIC_MODEL": str(tmp_path / "missing")}
    failed = subprocess.run(ask, env=broken, cwd=tmp_path, capture_output=True, text=True)
    assert (failed.returncode, failed.stdout) == (1, "")
    assert failed.stderr == (
        f"docqa: the semantic model {tmp_path / 'missing'} does not exist: set "
        "DOCQA_SEMANTIC_MODEL to a folder holding model.onnx and tokenizer.json, or to a "
        "Hugging Face repository such as sentence-transformers/all-MiniLM-L6-v2\n"
    )
