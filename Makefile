# Shortcuts: each target creates .venv when it is missing, installs what its README command
# installs, and runs that command (the README's Set-up lists them; tests/test_docs.py
# checks that the two agree).
CRANFIELD ?= ../shared/datasets/cranfield

.venv/bin/python:
	python3 -m venv .venv

repl: .venv/bin/python
	.venv/bin/pip install -q -e . && .venv/bin/docqa repl

test: .venv/bin/python
	.venv/bin/pip install -q -e ".[dev]" && .venv/bin/python -m pytest -q

eval: .venv/bin/python
	.venv/bin/pip install -q -e . && .venv/bin/docqa eval evals/seeds.yaml

# the collection lies outside the repository: say where it was looked for, and how to point at it
cranfield-data:
	@test -f "$(CRANFIELD)/corpus.jsonl" || { echo "make cranfield: no BEIR collection in $(CRANFIELD) (corpus.jsonl, queries.jsonl, qrels.tsv): run make cranfield CRANFIELD=/path/to/cranfield" >&2; exit 2; }

cranfield: cranfield-data .venv/bin/python
	.venv/bin/pip install -q -e . && .venv/bin/docqa eval --beir $(CRANFIELD)

# docqa against bm25s (numba) and tantivy at 200k and 1M chunks, restarts and cold start
# (about 22 minutes on 2 cores); everything it writes goes to a temporary folder, removed after
bench: .venv/bin/python
	.venv/bin/pip install -q -e ".[bench]" && .venv/bin/python -m bench.bench

.PHONY: repl test eval cranfield cranfield-data bench
