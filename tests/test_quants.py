"""publish.quants: the one module that knows how quant labels are spelled (`UD-Q4_K_XL`, `FP16`,
families, the type a label is built on, where a label sits on the size/quality scale)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from publish.build import default_use
from publish.quants import label_family, label_type_name, normalize_label, quality_class

PUBLISH = Path(__file__).resolve().parent.parent / "publish"


@pytest.mark.parametrize("label, name", [
    ("Q4_K_M", "Q4_K"), ("Q4_K_XL", "Q4_K"), ("UD-Q4_K_XL", "Q4_K"), ("IQ4_NL_XL", "IQ4_NL"),
    ("Q8_0", "Q8_0"), ("IQ2_XXS", "IQ2_XXS"), ("Q3_K_S", "Q3_K"),
    ("F16", None), ("BF16", None), ("MXFP4_MOE", None), ("TQ1_0", None)])
def test_label_type_name_is_the_type_the_label_spells(label, name):
    assert label_type_name(label) == name


@pytest.mark.parametrize("label, klass", [
    ("F32", "float"), ("fp16", "float"), ("BF16", "float"), ("UD-F16", "float"),
    ("Q8_0", "near-lossless"), ("UD-Q8_K_XL", "near-lossless"),
    ("Q6_K", "high"), ("Q5_K_M", "high"), ("UD-Q5_K_XL", "high"),
    ("Q4_K_M", "balance"), ("IQ4_XS", "balance"), ("MXFP4_MOE", "balance"), ("q4_0", "balance"),
    ("Q3_K_L", "small"), ("IQ3_XXS", "small"),
    ("Q2_K", "smallest"), ("IQ1_S", "smallest"), ("TQ1_0", "smallest")])
def test_quality_class(label, klass):
    assert quality_class(label) == klass


def test_the_card_text_of_a_q8_k_xl_is_near_lossless_not_smallest():
    """build's card text read the label itself and called Unsloth's UD-Q8_K_XL (Q8_0 with some
    tensors kept in BF16) 'smallest; noticeable quality loss'."""
    assert default_use("UD-Q8_K_XL") == ("Unsloth Dynamic: sensitive layers kept at higher precision; "
                                         "near-lossless; for when memory is not tight")
    assert default_use("Q4_K_M") == "good balance of size and quality"
    assert default_use("FP16") == "full precision: reference quality, largest"


def test_normalize_and_family():
    assert normalize_label("UD-Q4_K_XL") == ("Q4_K_XL", True)
    assert normalize_label("FP16") == ("F16", False)
    assert [label_family(x) for x in ("Q4_K_XL", "IQ2_XXS", "BF16")] == ["Q4", "IQ2", "BF16"]


# code outside publish/quants.py that spells label knowledge itself, with the reason it may
ALLOWED_LABEL_TEXT = {
    # the Hub's own tag rule ("otherwise, it checks Q4*", llama.cpp PR #11195), not a label's spelling
    ("hub/ollama_tags.py", "Q4"),
}


def label_spellings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of each string in `path`'s code (docstrings left out) that spells a label's
    shape: Unsloth's prefix ("UD-", "UD"), the FP16/FP32 aliases, a bare family ("Q4", "IQ3") or a
    regex over label shapes (`Q\\d`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    families = {f"{i}Q{n}" for i in ("", "I") for n in range(1, 9)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            v = node.value
            if v in ("UD-", "UD", "FP16", "FP32") or v in families or "Q\\d" in v:
                out.append((node.lineno, v))
    return sorted(out)


def test_quant_label_knowledge_lives_in_publish_quants():
    found = [f"publish/{rel}:{line} {v!r}" for path in sorted(PUBLISH.rglob("*.py"))
             if (rel := path.relative_to(PUBLISH).as_posix()) != "quants.py"
             for line, v in label_spellings(path) if (rel, v) not in ALLOWED_LABEL_TEXT]
    assert found == [], "ask publish.quants (normalize_label, label_family, label_type_name, quality_class)"


def test_the_label_walker_finds_a_spelling(tmp_path):
    m = tmp_path / "m.py"
    m.write_text('"""Labels like UD-Q4_K_XL."""\n'
                 'def f(label):\n    """Strip UD-."""\n    core = label.removeprefix("UD-")\n'
                 '    return core in ("F16", "FP16") or re.match(r"^(I?Q\\d)_", core) or core.startswith("Q4")\n')
    assert label_spellings(m) == [(4, "UD-"), (5, "FP16"), (5, "Q4"), (5, "^(I?Q\\d)_")]
