# reprocal: `make demo`, `make test`, `make bench` each set up .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m reprocal.demo

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/run.py

lint: $(STAMP)
	$(PY) -m ruff check reprocal tests benchmarks
	$(PY) -m mypy reprocal
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) demo-out benchmarks/work .pytest_cache
