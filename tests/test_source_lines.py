"""``Engine.source_lines``: the lines of a cited file around a passage, the span of each
line the passage covers, and reads that never leave the documents folder."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import SEED_FILE, SEEDS

from index.chunking import ChunkingConfig
from index.retrieval import Engine, build_index


def test_a_passage_that_starts_and_ends_mid_line(seeds_engine: Engine) -> None:
    (passage,) = seeds_engine.retrieve("who sued openai", k=1)
    assert passage.citation == f"{SEED_FILE}:11-14"
    lines = (SEEDS / SEED_FILE).read_text(encoding="utf-8").split("\n")
    rows = seeds_engine.source_lines(passage, around=1)
    assert [(n, span) for n, _, span in rows] == [
        (10, None),
        (11, (lines[10].index("This has sparked"), len(lines[10]))),
        (12, (0, len(lines[11]))),
        (13, (0, len(lines[12]))),
        (14, (0, len(lines[13]))),
    ]
    assert [text for _, text, _ in rows] == lines[9:14]


def test_one_line_holding_several_chunks(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    sentence = "Sentence number {} talks about the weather in a plain and long way."
    (docs / "a.txt").write_text(" ".join(sentence.format(i) for i in range(40)) + "\n")
    engine = Engine(build_index(docs, ChunkingConfig(chunk_size=200, chunk_overlap=0)))
    (passage,) = engine.retrieve("sentence number 17", k=1)
    ((number, text, span),) = engine.source_lines(passage, around=0)
    assert number == 1 and span is not None
    assert text[span[0] : span[1]] == passage.text


def test_a_source_outside_the_folder_is_never_read(seeds_engine: Engine, tmp_path: Path) -> None:
    (passage,) = seeds_engine.retrieve("who sued openai", k=1)
    secret = tmp_path / "secret.txt"
    secret.write_text("one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n" * 3)
    # a saved index naming ../outside/secret.txt, or an absolute path, as a source
    for source in (os.path.relpath(secret, SEEDS), str(secret)):
        forged = passage.model_copy(update={"source": source})
        assert seeds_engine.source_lines(forged) is None
