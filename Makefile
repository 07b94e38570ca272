# reprocal: `make demo`, `make test`, `make bench` each set up .venv themselves.
# `make coverage` is `make test` measured (config: [tool.coverage] in pyproject.toml).
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test coverage bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m reprocal.demo

test: $(STAMP)
	$(PY) -m pytest

# The suite under coverage, with the `python -m reprocal` processes it starts; one data file per
# process, combined, then a report of missing lines that fails below 90%.
coverage: $(STAMP)
	$(PY) -m coverage erase
	$(PY) -m coverage run -m pytest
	$(PY) -m coverage combine --quiet
	$(PY) -m coverage report

bench: $(STAMP)
	$(PY) benchmarks/run.py

lint: $(STAMP)
	$(PY) -m ruff check reprocal tests benchmarks
	$(PY) -m mypy reprocal
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) demo-out benchmarks/work .pytest_cache .coverage .coverage.*
