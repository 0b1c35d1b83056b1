"""The bundled tiny example: reproducible from tests/ggufs.py, small, and really runnable."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent
TINY_DIR = ROOT / "examples" / "tiny"


def _regenerate_module():
    spec = importlib.util.spec_from_file_location("tiny_regenerate", TINY_DIR / "regenerate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bundled_ggufs_are_byte_identical_to_a_fresh_build(tmp_path):
    regen = _regenerate_module()
    fresh = regen.write_all(tmp_path)
    assert sorted(p.name for p in fresh) == sorted(p.name for p in TINY_DIR.glob("*.gguf"))
    for p in fresh:
        assert p.read_bytes() == (TINY_DIR / p.name).read_bytes(), (
            f"{p.name} differs from what tests/ggufs.py builds now; run `python examples/tiny/regenerate.py`")


def test_bundled_ggufs_are_small():
    for p in TINY_DIR.glob("*.gguf"):
        assert p.stat().st_size < 200_000, p


@pytest.mark.llamacpp
@pytest.mark.parametrize("name", ["tiny-llama-F32.gguf", "tiny-llama-Q8_0.gguf"])
def test_llama_cpp_answers_2_then_end_of_turn(name):
    import llama_cpp

    from publish.smoke.llamacpp import load_llama

    llm = load_llama(str(TINY_DIR / name), n_ctx=128, verbose=False, seed=42)
    prompt = llm.tokenize(b"<start_of_turn>user\nWhat is 1+1?<end_of_turn>\n<start_of_turn>model\n",
                          add_bos=True, special=True)
    out = []
    for tok in llm.generate(prompt, temp=1.0):
        out.append(llm.detokenize([tok], special=True).decode())
        if len(out) == 2:
            break
    assert out == ["2", "<end_of_turn>"]
