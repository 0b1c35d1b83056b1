# Two commands do all the set-up on a fresh Debian/Ubuntu machine with Python 3.11:
#   make demo   - install into .venv, then run the main job on the bundled tiny example (offline)
#   make test   - install into .venv (with test tools and Go), then run the test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install demo test bench clean go

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[llamacpp,test]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Go's own text/template is the reference for publish.gotmpl in the tests.
go:
	@command -v go >/dev/null 2>&1 || [ -x /usr/lib/go-1.19/bin/go ] || \
	  { echo "installing Go (golang-1.19-go) for the template reference tests"; \
	    (apt-get update -qq && apt-get install -y -qq golang-1.19-go) >/dev/null || \
	    echo "warning: could not install Go; the Go reference tests will be skipped"; }

demo: $(STAMP)
	$(BIN)/publish release examples/tiny/release.toml --backend llamacpp -o dist/tiny

test: $(STAMP) go
	PATH="$$PATH:/usr/lib/go-1.19/bin" $(BIN)/python -m pytest -q

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) dist .pytest_cache
