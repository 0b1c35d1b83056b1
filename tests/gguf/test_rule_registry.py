"""Every GG rule says which engines it is about, with its sources, and has a page (why, example,
fix); `publish lint --target` selects by engine; examples that quote a finding quote what lint prints."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from publish.cli import main
from publish.engines import ALL_ENGINES, Engine
from publish.gguf.rules import RULES


def test_every_rule_has_engines_and_a_page():
    for code, r in RULES.items():
        assert r.engines and all(isinstance(e, Engine) for e in r.engines), code
        assert r.why.strip() and r.example.strip() and r.fix.strip(), f"{code} has no why/example/fix text"
        if set(r.engines) != set(ALL_ENGINES):
            assert r.sources, f"{code} is about {r.engines} but names no source"


def _ollama_module() -> Path:
    go = shutil.which("go") or "/usr/local/go/bin/go"
    root = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    return Path(root) / "github.com/ollama/ollama@v0.24.0"


def test_cited_ollama_sources_exist_and_name_what_they_cite():
    """Each `ollama v0.24.0 PATH (Symbol …)` source points at a file of the v0.24.0 module that
    contains the cited symbol."""
    root = _ollama_module()
    cited = 0
    for code, r in RULES.items():
        for src in r.sources:
            for m in re.finditer(r"ollama v0\.24\.0 ((?:[\w.-]+/)+[\w.-]+\.go)(?: \((\w[\w.]*))?", src):
                path = root / m.group(1)
                assert path.is_file(), f"{code}: {path} does not exist"
                if m.group(2):
                    assert m.group(2).split(".")[-1] in path.read_text(), f"{code}: {m.group(2)} not in {path}"
                cited += 1
    assert cited >= 5


def run(*args):
    return CliRunner().invoke(main, ["lint", *args])


def test_target_selects_rules_by_engine(gemma3n_broken_path):
    """GG101 (a FLOAT32 shared_kv_layers) breaks only Ollama's Go engine (model/models/gemma3n
    reads it with c.Uint); GG102 (a Q4_K per_layer_token_embd) is about the Go engine's row lookup
    on a GPU (llama.cpp places the tensor where its type can be looked up)."""
    everything = run(str(gemma3n_broken_path))
    assert "GG101" in everything.output and "GG102" in everything.output
    go = run("--target", "ollama-0.24", str(gemma3n_broken_path))
    assert go.exit_code == 1 and "GG101" in go.output and "GG102" in go.output
    cpp = run("--target", "llama.cpp", str(gemma3n_broken_path))
    assert "GG101" not in cpp.output and "GG102" not in cpp.output
    assert run("--target", "all", str(gemma3n_broken_path)).output == everything.output


def test_unknown_target_is_a_usage_error(gemma3n_broken_path):
    res = run("--target", "vllm", str(gemma3n_broken_path))
    assert res.exit_code == 2 and "ollama-0.24" in res.output


def test_library_target_argument(gemma3n_broken_path):
    from publish.errors import UsageError
    from publish.lint import lint_paths

    codes = {f.code for f in lint_paths([str(gemma3n_broken_path)], target="ollama").findings}
    assert "GG101" not in codes
    with pytest.raises(UsageError):
        lint_paths([str(gemma3n_broken_path)], target="lmstudio")


@pytest.mark.llamacpp
@pytest.mark.parametrize("kv", [{"llama.context_length": (512, "INT32")},
                                {"llama.context_length": (512.0, "FLOAT32")},
                                {"llama.attention.layer_norm_rms_epsilon": (1e-5, "FLOAT64")},
                                {"llama.attention.head_count": (2, "INT32")},
                                {"tokenizer.ggml.add_bos_token": (1, "UINT8")}])
def test_gg103_is_about_llama_cpp_too(tmp_path, kv):
    """GG103 names llama.cpp among its engines: llama.cpp refuses a key it reads when it is stored
    with another type (measured here with llama-cpp-python), while Ollama's Go engine reads the default."""
    import sys

    from gguf import GGUFValueType as T

    from ggufs import write_tiny_llama
    from publish.gguf.reader import read_header
    from publish.gguf.rules import check_header

    typed = {k: (v, T[t]) for k, (v, t) in kv.items()}
    path = write_tiny_llama(tmp_path / "tiny-F32.gguf", extra_kv=typed)
    assert "GG103" in {f.code for f in check_header(read_header(str(path)))}
    assert Engine.LLAMA_CPP in RULES["GG103"].engines
    done = subprocess.run([sys.executable, "-c", "import llama_cpp, sys; "
                           f"llama_cpp.Llama({str(path)!r}, n_ctx=64, verbose=False).close()"],
                          capture_output=True, timeout=120)
    assert done.returncode != 0


def _reported_as(code: str) -> re.Pattern:
    """The finding an example page quotes (`reported as `…``), as a pattern: N stands for a count."""
    quoted = re.search(r"reported as `([^`]+)`", RULES[code].example)
    assert quoted, f"{code}'s example quotes no finding"
    return re.compile(r"\d+".join(re.escape(part) for part in re.split(r"\bN\b", quoted.group(1))))


@pytest.mark.parametrize("code, name, extra_kv, quant", [
    ("GG401", "model-Q4_K_M.gguf", {"general.file_type": 7}, None),
    ("GG403", "model-F16.gguf", {}, "Q8_0"),
])
def test_examples_quote_what_lint_prints(tmp_path, code, name, extra_kv, quant):
    """A rule page's example that quotes a finding shows what `publish lint` prints for the file it
    describes, not a paraphrase."""
    from gguf import GGMLQuantizationType as Q
    from gguf import GGUFValueType as T

    from ggufs import write_tiny_llama
    from publish.lint import lint_paths

    path = write_tiny_llama(tmp_path / name, extra_kv={k: (v, T.UINT32) for k, v in extra_kv.items()},
                            quant=Q[quant] if quant else None)
    messages = [f.message for f in lint_paths([str(path)]).findings if f.code == code]
    assert messages and _reported_as(code).fullmatch(messages[0]), (RULES[code].example, messages)


def test_gg201_example_is_the_message_for_an_id_one_past_the_vocabulary(tmp_path):
    """GG201's example (EOS 32000 in a 32,000-token vocabulary) is what lint says for an EOS id one
    past the last token, whatever the vocabulary's size."""
    from gguf import GGUFValueType as T

    from ggufs import write_tiny_llama
    from publish.gguf.reader import read_header
    from publish.lint import lint_paths

    n = len(read_header(str(write_tiny_llama(tmp_path / "a-F32.gguf"))).tokens)
    path = write_tiny_llama(tmp_path / "b-F32.gguf", extra_kv={"tokenizer.ggml.eos_token_id": (n, T.UINT32)})
    [message] = [f.message for f in lint_paths([str(path)]).findings if f.code == "GG201"]
    assert message == f"tokenizer.ggml.eos_token_id = {n} is outside the vocabulary ({n:,} tokens)"
    assert "`tokenizer.ggml.eos_token_id = 32000 is outside the vocabulary (32,000 tokens)`" in RULES["GG201"].example


@pytest.mark.parametrize("name, tag", [("gemma-3-270m-it-Q4_K.gguf", "Q4_K"), ("model-FP16.gguf", "FP16")])
def test_gg405_example_names_are_refused_tags(tmp_path, name, tag):
    """The file names GG405's example gives are ones the Hub reads no quant name in."""
    from ggufs import write_tiny_llama
    from publish.lint import lint_paths

    assert f"`{name}`" in RULES["GG405"].example
    path = write_tiny_llama(tmp_path / name)
    [message] = [f.message for f in lint_paths([str(path)]).findings if f.code == "GG405"]
    assert f"hf.co/ORG/REPO:{tag}` is refused" in message


def _llama_cpp_load_error(path: Path) -> str:
    """The `llama_model_load: error loading model: …` line llama.cpp (llama-cpp-python) logs for `path`."""
    import sys

    done = subprocess.run([sys.executable, "-c", "import llama_cpp; "
                           f"llama_cpp.Llama({str(path)!r}, n_ctx=64, verbose=True)"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    return next(line for line in done.stderr.splitlines() if "error loading model:" in line)


@pytest.mark.llamacpp
def test_gg100_and_gg200_examples_are_what_llama_cpp_says(tmp_path):
    """GG100's and GG200's pages quote llama.cpp's refusal: measured with llama-cpp-python on the
    file each example describes (the key renamed in place, or the token list dropped)."""
    from ggufs import write_tiny_llama
    from publish.lint import lint_paths

    no_arch = tmp_path / "noarch-F32.gguf"
    data = write_tiny_llama(tmp_path / "tiny-F32.gguf").read_bytes()
    assert data.count(b"general.architecture") == 1
    no_arch.write_bytes(data.replace(b"general.architecture", b"general.architecturX"))
    no_vocab = write_tiny_llama(tmp_path / "novocab-F32.gguf", drop_kv=["tokenizer.ggml.tokens"])
    for code, path in (("GG100", no_arch), ("GG200", no_vocab)):
        assert code in {f.code for f in lint_paths([str(path)]).findings}
        said = re.search(r"`([^`]*(?:unknown model architecture|cannot find tokenizer vocab)[^`]*)`",
                         RULES[code].example).group(1)
        assert said in _llama_cpp_load_error(path), code
    # with no tokenizer.ggml.* key at all, the step before (GG200's example says so too)
    from publish.gguf.reader import read_header

    keys = [k for k in read_header(str(no_vocab)).kv if k.startswith("tokenizer.ggml.")]
    bare = write_tiny_llama(tmp_path / "bare-F32.gguf", drop_kv=[*keys, "tokenizer.ggml.tokens"])
    assert "GG200" in {f.code for f in lint_paths([str(bare)]).findings}
    assert "`key not found in model: tokenizer.ggml.model`" in RULES["GG200"].example
    assert "key not found in model: tokenizer.ggml.model" in _llama_cpp_load_error(bare)


@pytest.mark.llamacpp
def test_split_set_examples_are_what_llama_cpp_says(tmp_path):
    """GG302's example (a part missing) and GG303's (the parts joined with `cat`): lint reports them
    and llama.cpp (llama-cpp-python) refuses the load with the message the page quotes."""
    from gguf import GGMLQuantizationType as Q

    from ggufs import write_gguf
    from publish.lint import lint_paths

    tensors = [(f"blk.{i}.w.weight", (32, 2), Q.F32) for i in range(3)]
    missing = tmp_path / "missing"
    missing.mkdir()
    write_gguf(missing / "m-Q8_0.gguf", tensors=tensors, split_max_tensors=1)
    first, second, _ = sorted(missing.iterdir())
    second.unlink()
    assert "GG302" in {f.code for f in lint_paths([str(missing)]).findings}
    assert f"failed to load GGUF split from {second}" in _llama_cpp_load_error(first)
    assert "`failed to load GGUF split from" in RULES["GG302"].example

    parts = tmp_path / "parts"
    parts.mkdir()
    write_gguf(parts / "m-Q6_K.gguf", tensors=tensors, split_max_tensors=1)
    joined = tmp_path / "llama.gguf"
    joined.write_bytes(b"".join(p.read_bytes() for p in sorted(parts.iterdir())))
    assert "GG303" in {f.code for f in lint_paths([str(joined)]).findings}
    assert f"invalid split file name: {joined}" in _llama_cpp_load_error(joined)
    assert "`invalid split file name: llama.gguf`" in RULES["GG303"].example
