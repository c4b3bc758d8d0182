# Shortcuts; each target is one of the commands the README shows.
PY := .venv/bin/python

.venv/installed: pyproject.toml
	python3 -m venv .venv && .venv/bin/pip install -q -e ".[dev,bench]" && touch $@

repl: .venv/installed
	.venv/bin/docqa repl

test: .venv/installed
	$(PY) -m pytest -q

# docqa vs bm25s vs rank-bm25 at 10k, 50k and 200k chunks (about a minute)
bench: .venv/installed
	$(PY) -m bench.bench

# the shipped question set with its CI bounds, and Cranfield beside its reference figures
eval: .venv/installed
	.venv/bin/docqa eval evals/seeds.yaml

cranfield: .venv/installed
	.venv/bin/docqa eval --beir ../shared/datasets/cranfield

.PHONY: repl test bench eval cranfield
