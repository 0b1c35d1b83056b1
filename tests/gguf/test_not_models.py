"""Issue 8 kind f: GGUFs that are not models (importance matrices, LoRA adapters) are recognised
by their header, and two files answering one `hf.co/ORG/REPO:TAG` are an error naming both."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from gguf import GGMLQuantizationType as Q
from gguf import GGUFWriter

from ggufs import write_gguf
from publish.build import build
from publish.cli import main
from publish.errors import SpecError, UsageError
from publish.gguf.kinds import ADAPTER, IMATRIX, MODEL, gguf_kind
from publish.gguf.reader import read_header
from publish.lint import lint_paths
from publish.quants import hub_tag_label
from publish.spec import load_spec
from publish.staged import load_staged
from paths import ROOT

TINY = ROOT / "examples" / "tiny"


def write_imatrix(path: Path) -> Path:
    """What llama-imatrix writes (tools/imatrix): general.type = imatrix, imatrix.* keys, and
    `<tensor>.in_sum2` / `<tensor>.counts` F32 tensors."""
    w = GGUFWriter(path, "")  # the C++ writer sets no architecture; gguf-py needs one, left empty
    w.add_string("general.type", "imatrix")
    w.add_array("imatrix.datasets", ["calibration_datav3.txt"])
    w.add_uint32("imatrix.chunk_count", 125)
    w.add_uint32("imatrix.chunk_size", 512)
    for name in ("blk.0.attn_q.weight", "blk.0.ffn_down.weight"):
        w.add_tensor(name + ".in_sum2", np.ones(32, np.float32))
        w.add_tensor(name + ".counts", np.ones(1, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def write_lora(path: Path) -> Path:
    """What convert_lora_to_gguf.py writes: general.type = adapter, adapter.type = lora."""
    kv = {"general.type": "adapter", "adapter.type": "lora", "adapter.lora.alpha": 16.0}
    return write_gguf(path, kv=kv, tensors=[("blk.0.attn_q.weight.lora_a", (32, 8), Q.F32),
                                            ("blk.0.attn_q.weight.lora_b", (8, 32), Q.F32)])


@pytest.mark.parametrize("writer,kind,name", [(write_imatrix, IMATRIX, "imatrix.gguf"),
                                              (write_imatrix, IMATRIX, "gemma-3-270m-Q4_K_M.imatrix.gguf"),
                                              (write_lora, ADAPTER, "tiny-llama-lora-F16.gguf")])
def test_non_models_get_file_rules_only(tmp_path, writer, kind, name):
    """Linted as models they drew GG200/GG202/GG4xx/GG71x errors; now one info line saying what they are.
    Real variants: tobocop2/lilbee#757 (a downloader picked projectors and adapters as the model until
    it read general.type), ggml-org/llama.cpp#27684 (llama.cpp's -hf resolution drops names holding
    `imatrix`/`mmproj`, by name only)."""
    path = writer(tmp_path / name)
    assert gguf_kind(read_header(str(path))) == kind
    result = lint_paths([str(path)])
    assert [f.code for f in result.findings] == ["GG801"], result.findings
    assert result.exit_code == 0 and kind.split()[0] in result.findings[0].message


def test_real_model_is_a_model(gemma3_270m_path):
    assert gguf_kind(read_header(str(gemma3_270m_path))) == MODEL


def test_hub_label_is_the_last_quant_name_in_the_file_name():
    """huggingface.js parseGGUFQuantLabel: the last file-type name in the upper-cased file name."""
    assert hub_tag_label("X-imat-Q8_0.gguf") == hub_tag_label("X-Q8_0.gguf") == "Q8_0"
    assert hub_tag_label("gemma-3-270m-q4_k_m.gguf") == "Q4_K_M"
    assert hub_tag_label("gemma-3n-E4B-it-UD-Q4_K_XL.gguf") == "UD-Q4_K_XL"
    assert hub_tag_label("imatrix.gguf") is None


def staged_with_two_q8(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    folder.mkdir()
    for name in ("tiny-llama-Q8_0.gguf", "tiny-llama-F32.gguf"):
        shutil.copyfile(TINY / name, folder / name)
    shutil.copyfile(TINY / "tiny-llama-Q8_0.gguf", folder / "tiny-llama-imat-Q8_0.gguf")
    write_imatrix(folder / "imatrix.gguf")
    (folder / "params").write_text('{"stop": ["<end_of_turn>"]}', encoding="utf-8")
    return folder


def test_two_files_answering_one_tag_is_an_error_naming_both(tmp_path):
    """ggml-org/llama.cpp#25152: `…-APEX-Compact.gguf` and `…-APEX-I-Compact.gguf` both answer
    `:COMPACT`, and the tool silently downloads the other one (Unsloth's UD-* named there too)."""
    folder = staged_with_two_q8(tmp_path)
    result = lint_paths([str(folder)])
    (f,) = [f for f in result.findings if f.code == "GG802"]
    assert f.severity.value == "error" and result.exit_code == 1
    assert "tiny-llama-Q8_0.gguf" in f.message and "tiny-llama-imat-Q8_0.gguf" in f.message
    assert "hf.co/ORG/REPO:Q8_0" in f.message and "own repo" in f.hint
    res = CliRunner().invoke(main, ["lint", str(folder)])
    assert res.exit_code == 1 and "GG802 [error]" in res.output


def test_staged_folder_keeps_two_models_apart_and_leaves_the_imatrix_out(tmp_path):
    folder = load_staged(staged_with_two_q8(tmp_path))
    q8 = [q for q in folder.quants if q.label == "Q8_0"]
    assert sorted(q.path.name for q in q8) == ["tiny-llama-Q8_0.gguf", "tiny-llama-imat-Q8_0.gguf"]
    assert all(q.parts == () for q in q8)                 # never "2 parts" of one model
    assert [p.name for p in folder.others] == ["imatrix.gguf"]
    assert "imatrix" not in {q.label for q in folder.quants}
    with pytest.raises(UsageError, match="tiny-llama-Q8_0.gguf and tiny-llama-imat-Q8_0.gguf"):
        folder.quant("q8_0")


def test_smoke_targets_leave_non_models_out(tmp_path):
    """The smoke planner and the CI matrix list quants from the staged folder: no imatrix, and
    both Q8_0 files are there to be reported (GG802 tells which one to drop)."""
    from publish.smoke.matrix import target_quants

    _, labels = target_quants(str(staged_with_two_q8(tmp_path)))
    assert sorted(labels) == ["F32", "Q8_0", "Q8_0"]


def spec_in(tmp_path: Path, extra_files: dict[str, object]) -> Path:
    d = tmp_path / "spec"
    d.mkdir()
    for name in ("release.toml", "tiny-llama-Q8_0.gguf", "tiny-llama-F32.gguf"):
        shutil.copyfile(TINY / name, d / name)
    for name, writer in extra_files.items():
        if writer == "copy-q8":
            shutil.copyfile(TINY / "tiny-llama-Q8_0.gguf", d / name)
        else:
            writer(d / name)
    return d / "release.toml"


def test_build_pattern_refuses_two_models_with_one_label(tmp_path):
    spec = load_spec(spec_in(tmp_path, {"tiny-llama-imat-Q8_0.gguf": "copy-q8"}))
    with pytest.raises(SpecError) as err:
        spec.resolve_quants()
    assert "tiny-llama-Q8_0.gguf and tiny-llama-imat-Q8_0.gguf" in str(err.value)
    assert "hf.co/ORG/REPO:Q8_0" in str(err.value)


def test_build_leaves_imatrix_and_adapter_out_of_quants_and_card(tmp_path):
    spec = load_spec(spec_in(tmp_path, {"tiny-llama-imatrix.gguf": write_imatrix,
                                        "tiny-llama-lora-F16.gguf": write_lora}))
    assert sorted(q.label for q in spec.resolve_quants()) == ["F32", "Q8_0"]
    out = build(spec, tmp_path / "out")
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "imatrix" not in card and "lora" not in card and "2 parts" not in card
    assert sorted(p.name for p in out.glob("*.gguf")) == ["tiny-llama-F32.gguf", "tiny-llama-Q8_0.gguf"]


def test_smoke_refuses_a_folder_where_two_files_answer_one_tag(tmp_path):
    from publish.smoke.runner import SmokeOptions
    from publish.smoke.targets import plan_folder

    with pytest.raises(UsageError, match="tiny-llama-Q8_0.gguf and tiny-llama-imat-Q8_0.gguf both carry"):
        plan_folder(staged_with_two_q8(tmp_path), SmokeOptions())
