#!/usr/bin/env bash
# Build the pinned real Ollama from its Go module, or reuse the one already built.
#
#   bash tests/ollama/build.sh        (what `make ollama` runs)
#
# The last line printed is the absolute path of the `ollama` binary, alone, so scripts can take it
# with `tail -n1`. Everything else goes to stderr. Exit status 1 when it cannot be built.
#
# Why this version: v0.24.0 is the last Ollama release whose plain `go build` contains its CPU
# inference engine (cgo: llama.cpp + ggml compiled from the module's own C/C++ sources). From v0.30
# Ollama runs GGUFs through a `llama-server` binary its CMake build downloads from GitHub, which
# cannot be built on a machine that reaches only package registries.
#
# The one snag: Go module zips leave out every file under a `vendor/` directory, so the module lacks
# llama/llama.cpp/vendor/ (nlohmann/json.hpp, nlohmann/json_fwd.hpp, stb/stb_image.h,
# miniaudio/miniaudio.h). They come from registries instead: Debian's nlohmann-json3-dev and
# libstb-dev (found on the default include path), and miniaudio.h from the PyPI sdist of
# `miniaudio`, put where CGO_CPPFLAGS points.
set -euo pipefail

OLLAMA_VERSION=${OLLAMA_VERSION:-v0.24.0}
MINIAUDIO_SDIST=${MINIAUDIO_SDIST:-miniaudio==1.71}    # carries miniaudio.h 0.11.25
CACHE=${PUBLISH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/publish}/ollama/$OLLAMA_VERSION
BIN=$CACHE/bin/ollama
PY=${PY:-python3}

say() { echo "make ollama: $*" >&2; }
fail() {
  say "ERROR: $*"
  say "Install Ollama $OLLAMA_VERSION another way (https://ollama.com/download) and point the tests at it"
  say "with PUBLISH_OLLAMA_BIN=/path/to/ollama, or set PUBLISH_NO_OLLAMA=1 to run the suite without"
  say "the real-Ollama tests (they are then reported as skipped; CI treats that as a failure)."
  exit 1
}

if [ -x "$BIN" ] && "$BIN" --version 2>&1 | grep -q "version is ${OLLAMA_VERSION#v}\$"; then
  say "reusing Ollama $OLLAMA_VERSION built earlier"
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null 2>&1 || fail "no Go toolchain on PATH (Ollama $OLLAMA_VERSION needs Go >= 1.26)"
command -v gcc >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 || fail "cgo needs gcc and g++ (Debian: build-essential)"

# Headers of the vendor/ folder the module zip lacks.
need_deb=()
[ -f /usr/include/nlohmann/json_fwd.hpp ] || need_deb+=(nlohmann-json3-dev)
[ -f /usr/include/stb/stb_image.h ] || need_deb+=(libstb-dev)
if [ ${#need_deb[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${need_deb[*]} (headers Ollama's cgo sources include)"
    { apt-get update -qq && apt-get install -y -qq "${need_deb[@]}"; } >&2 || fail "apt-get install ${need_deb[*]} failed"
  else
    fail "missing headers: install the Debian packages ${need_deb[*]} (as root: apt-get install ${need_deb[*]})"
  fi
fi
mkdir -p "$CACHE/include"
if [ ! -f "$CACHE/include/miniaudio/miniaudio.h" ]; then
  say "fetching miniaudio.h from the PyPI sdist $MINIAUDIO_SDIST"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$PY" -m pip download --quiet --no-deps --no-binary :all: -d "$tmp" "$MINIAUDIO_SDIST" >&2 \
    || fail "pip download $MINIAUDIO_SDIST failed"
  tar -xzf "$tmp"/miniaudio-*.tar.gz -C "$tmp"
  header=$(find "$tmp" -path '*/miniaudio/miniaudio.h' | head -n1)
  [ -n "$header" ] || fail "$MINIAUDIO_SDIST has no miniaudio/miniaudio.h"
  mkdir -p "$CACHE/include/miniaudio"
  cp "$header" "$CACHE/include/miniaudio/miniaudio.h.tmp" && mv "$CACHE/include/miniaudio/miniaudio.h.tmp" "$CACHE/include/miniaudio/miniaudio.h"
fi

say "building Ollama $OLLAMA_VERSION with 'go install' (cgo compiles llama.cpp and ggml: several minutes on 2 cores)"
start=$(date +%s)
mkdir -p "$CACHE/bin.tmp"
# The flags of Ollama's release builds (scripts/env.sh); without the version stamp the
# server reports 0.0.0 on /api/version and in its User-Agent.
# A plain `go install` compiles ggml for baseline x86-64 (SSE2): no AVX at all, several times slower
# than Ollama's own CPU builds. x86-64-v3 (AVX2/FMA/F16C, what Ollama's "haswell" CPU variant and
# our llama-cpp-python wheel use) is set here; never -march=native, which on VMs that advertise AMX
# without enabling it emits instructions that die with SIGILL.
OLLAMA_MARCH=${OLLAMA_MARCH:--march=x86-64-v3}
CGO_ENABLED=1 CGO_CPPFLAGS="-I$CACHE/include ${CGO_CPPFLAGS:-}" \
  CGO_CFLAGS="-O3 $OLLAMA_MARCH ${CGO_CFLAGS:-}" CGO_CXXFLAGS="-O3 $OLLAMA_MARCH ${CGO_CXXFLAGS:-}" \
  GOBIN="$CACHE/bin.tmp" GOFLAGS=-mod=mod \
  go install -ldflags "-s -w -X=github.com/ollama/ollama/version.Version=${OLLAMA_VERSION#v} -X=github.com/ollama/ollama/server.mode=release" \
  "github.com/ollama/ollama@$OLLAMA_VERSION" >&2 || fail "go install github.com/ollama/ollama@$OLLAMA_VERSION failed (see the compiler output above)"
mkdir -p "$CACHE/bin"
mv -f "$CACHE/bin.tmp/ollama" "$BIN"
rmdir "$CACHE/bin.tmp" 2>/dev/null || true
"$BIN" --version >/dev/null 2>&1 || fail "the built binary does not run: $BIN"
say "built in $(( $(date +%s) - start )) s"
echo "$BIN"
