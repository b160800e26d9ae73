# painkit: run `make help` for the list of targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.painkit-installed
PORT ?= 8866

.DEFAULT_GOAL := help
.PHONY: help install demo test test-fast lab app bench strip clean

help: ## List the targets with what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# uv installs the stack in seconds; plain pip is the fallback.
	@($(PY) -m pip install -q uv && $(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -e '.[test]') \
	  || $(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install painkit with its dependencies

demo: $(STAMP) ## Set up, then run the main job on the embedded default store
	$(PY) -m painkit demo

test: $(STAMP) ## Set up, then run every test (unit, widget, notebook, browser)
	$(PY) -m pytest

test-fast: $(STAMP) ## Unit tests only (no notebooks, no browser)
	$(PY) -m pytest -m "not browser and not notebook"

lab: $(STAMP) ## Open JupyterLab on notebooks/
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

app: $(STAMP) ## Serve the tracker as a no-code web app (Voila) on 127.0.0.1, port PORT (default 8866)
	$(VENV)/bin/voila notebooks/tracker.ipynb --no-browser --Voila.ip=127.0.0.1 --port=$(PORT)

bench: $(STAMP) ## Run the benchmarks in bench/ and print their figures
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

strip: $(STAMP) ## Strip outputs from every committed notebook
	$(VENV)/bin/jupyter nbconvert --clear-output --inplace --log-level=WARN $$(git ls-files "*.ipynb")

clean: ## Remove the virtual environment and generated reports
	rm -rf $(VENV) reports/*/ .pytest_cache
	find reports -mindepth 1 ! -name .gitkeep ! -name README.md -delete
