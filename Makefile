# reprocal: `make demo`, `make test`, `make docs`, `make bench` each set up .venv themselves.
# `make demo` and `make docs` run Python with -I: the reprocal they use is the installed one (the
# editable install of .venv; in CI, `make demo docs VENV=<a venv with the wheel>`), never the
# source tree on sys.path as the current directory.
# `make test` also installs the real programs the tests use (tests/components.txt) when run as
# root with apt (scripts/components); elsewhere the tests needing them skip, saying why.
# `make coverage` is `make test` measured (config: [tool.coverage] in pyproject.toml).
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test coverage components docs bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev,docs]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -I -m reprocal.demo

components:
	@scripts/components

test: $(STAMP) components
	$(PY) -m pytest

# The suite under coverage, with the `python -m reprocal` processes it starts; one data file per
# process, combined, then a report of missing lines that fails below 90%.
coverage: $(STAMP) components
	$(PY) -m coverage erase
	$(PY) -m coverage run -m pytest
	$(PY) -m coverage combine --quiet
	$(PY) -m coverage report

# The documentation site (docs/, Sphinx), read afresh: warnings are errors, and the user guide's
# examples run while it is read (docs/_ext/sessions.py), their output checked against the page.
docs: $(STAMP)
	$(PY) -I -m sphinx -E -W --keep-going -q -b html docs docs/_build/html

bench: $(STAMP)
	$(PY) benchmarks/run.py

lint: $(STAMP)
	$(PY) -m ruff check reprocal tests benchmarks docs
	$(PY) -m mypy reprocal
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) demo-out benchmarks/work docs/_build .pytest_cache .coverage .coverage.*
