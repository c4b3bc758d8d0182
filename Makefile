# Shortcuts; each target is one of the commands the README shows.
PY := .venv/bin/python

.venv/installed: pyproject.toml
	python3 -m venv .venv && .venv/bin/pip install -q -e ".[dev,bench]" && touch $@

repl: .venv/installed
	.venv/bin/docqa repl

test: .venv/installed
	$(PY) -m pytest -q

.PHONY: repl test
