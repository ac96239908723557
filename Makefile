# The course's commands. Every target sets up what it needs: a fresh clone with only Python 3.11
# and package access can run `make demo` or `make test` first.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# `make test` spreads the test files over this many processes (pytest-xdist; 0 runs them in this one)
TEST_JOBS ?= 2

.PHONY: help install data build bundle demo test test-fast lint docs lab hub hub-proxy hub-load doctor sync clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	# torch first and pinned, so no resolver step can pull a different (CUDA) build
	$(BIN)/python -m pip install -q -c constraints.txt torch
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,hub]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
	touch $@

install: $(STAMP)  ## create .venv and install the pinned environment (constraints.txt)

data: $(STAMP)  ## create the offline default (synthetic) data when missing
	$(BIN)/labkit data synth --if-missing

sync: $(STAMP)  ## sync every jupytext pair (.py <-> .ipynb)
	$(BIN)/course-grade sync

build: data  ## sync pairs, generate the student release, check it for leaks
	$(BIN)/course-grade build

HANDOUT ?= handout
bundle: data  ## the student hand-out in $(HANDOUT)/ and $(HANDOUT).zip (BUNDLE_ARGS=--force to replace)
	$(BIN)/course-grade bundle --out $(HANDOUT) --zip $(BUNDLE_ARGS)

demo: build  ## the whole pipeline on the offline default data
	$(BIN)/course-grade demo

test: data  ## the full test suite (what CI runs), its files spread over TEST_JOBS processes
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile $(PYTEST_ARGS)

test-fast: $(STAMP)  ## the quick subset (< 1 min): no training, no notebook execution
	$(BIN)/python -m pytest -m "not slow and not e2e and not browser" $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check labkit autograder tests bench

docs: $(STAMP)  ## the documentation site in site/ (mkdocs.yml; warnings and broken links fail it)
	$(BIN)/mkdocs build --strict

lab: data  ## start JupyterLab on the course (release/ notebooks; LAB_ARGS=... for more options)
	$(BIN)/jupyter lab --config=jupyter_server_config.py --ServerApp.root_dir=. $(LAB_ARGS)

HUB_PROXY := hub/node_modules/.bin/configurable-http-proxy
$(HUB_PROXY): hub/package.json hub/package-lock.json
	npm ci --prefix hub --no-audit --no-fund --loglevel=error
	touch $@

hub-proxy: $(HUB_PROXY)  ## JupyterHub's configurable-http-proxy from npm into hub/node_modules (needs nodejs, npm)

hub: data $(HUB_PROXY)  ## the course JupyterHub on 127.0.0.1:8000 (docs/hub.md: COURSE_HUB_PORT, COURSE_HUB_STUDENTS=a,b)
	$(BIN)/jupyterhub -f hub/jupyterhub_config.py

HUB_STUDENTS ?= 30
hub-load: data $(HUB_PROXY)  ## benchmark: a scripted class of $(HUB_STUDENTS) on the hub (docs/hub.md; minutes)
	nice -n 10 $(BIN)/python bench/hub_load.py --students $(HUB_STUDENTS)

doctor: $(STAMP)  ## check the installation and the data
	$(BIN)/labkit doctor

clean:  ## remove runtime folders (keeps data/ and .venv)
	rm -rf logs submitted autograded feedback gradebook.db .grading exports test-artifacts .hub site
