"""`publish fix` never writes through a link (issue 11, item 5).

`publish build` hard-links staged GGUFs to their source; an in-place patch of the staged file
used to patch the source too. fix now breaks the link first: it patches a copy and renames it over
the file, so every other name keeps the original bytes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from click.testing import CliRunner
from gguf import GGUFValueType as V

from publish.cli import main
from publish.fixing import plan_fix
from publish.gguf.fix import apply_changes
from publish.gguf.reader import read_header

SHARED_KV = "gemma3n.attention.shared_kv_layers"
ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def staged_link(gguf: Path, tmp_path: Path) -> Path:
    staged = tmp_path / "dist" / gguf.name
    staged.parent.mkdir()
    os.link(gguf, staged)
    return staged


def test_fix_of_a_file_build_staged_leaves_the_source_byte_identical(gemma3n_broken, tmp_path):
    """The issue's scenario, through `publish build`: the staged GGUF is a hard link of the source."""
    src_dir = tmp_path / "spec"
    src_dir.mkdir()
    source = src_dir / gemma3n_broken.name
    shutil.move(gemma3n_broken, source)
    (src_dir / "release.toml").write_text(
        'repo = "acme/gemma-3n-GGUF"\nbase_model = "google/gemma-3n-E4B-it"\nlicense = "gemma"\n'
        'quantized_by = "acme"\n[template]\nfamily = "gemma3n"\n[quants]\npattern = "*.gguf"\n')
    out = tmp_path / "dist"
    assert run("build", src_dir / "release.toml", "-o", out).exit_code == 0
    staged = out / source.name
    assert os.stat(staged).st_ino == os.stat(source).st_ino   # build hard-linked it
    before = source.read_bytes()

    result = run("fix", staged)
    assert "has 2 hard links: broke the link" in result.output, result.output
    assert "the other name(s) keep the original bytes" in result.output
    assert source.read_bytes() == before                      # the source is byte-identical
    assert read_header(source).kv[SHARED_KV].type == V.FLOAT32
    assert read_header(staged).kv[SHARED_KV].type == V.UINT32  # the staged file is fixed
    assert os.stat(staged).st_nlink == 1 and os.stat(source).st_nlink == 1
    # only the record changed: same size, same bytes elsewhere
    after = staged.read_bytes()
    assert len(after) == len(before)
    assert sum(a != b for a, b in zip(after, before)) <= 8
    assert not [p for p in out.iterdir() if ".publish-tmp-" in p.name]


def test_dry_run_on_a_hard_link_says_what_it_would_do_and_writes_nothing(gemma3n_broken, tmp_path):
    staged = staged_link(gemma3n_broken, tmp_path)
    before = gemma3n_broken.read_bytes()
    result = run("fix", staged, "--dry-run")
    assert "would apply to a copy" in result.output and "has 2 hard links" in result.output
    assert gemma3n_broken.read_bytes() == before and os.stat(staged).st_nlink == 2


def test_a_symlink_is_replaced_by_a_fixed_file_and_its_target_is_untouched(gemma3n_broken, tmp_path):
    """A symlink (e.g. into a Hugging Face cache blob) is a link too: its target keeps its bytes."""
    link = tmp_path / "link" / gemma3n_broken.name
    link.parent.mkdir()
    link.symlink_to(gemma3n_broken)
    before = gemma3n_broken.read_bytes()
    result = run("fix", link)
    assert "is a symbolic link to" in result.output and "broke the link" in result.output
    assert gemma3n_broken.read_bytes() == before
    assert not link.is_symlink() and read_header(link).kv[SHARED_KV].type == V.UINT32


def test_library_breaks_the_link_and_verifies_the_copy(gemma3n_broken, tmp_path):
    staged = staged_link(gemma3n_broken, tmp_path)
    before = gemma3n_broken.read_bytes()
    mode = 0o640
    os.chmod(staged, mode)
    result = apply_changes(staged, plan_fix(staged).changes, verify_data=True)
    assert result.link_broken == "has 2 hard links" and result.copy_method in ("reflink", "copy")
    assert result.data_sha256_verified and 0 < result.bytes_touched <= 8
    assert gemma3n_broken.read_bytes() == before
    assert os.stat(staged).st_mode & 0o777 == mode          # the replacement keeps the file's mode


def test_backup_of_a_hard_linked_file(gemma3n_broken, tmp_path):
    staged = staged_link(gemma3n_broken, tmp_path)
    before = gemma3n_broken.read_bytes()
    result = run("fix", staged, "--backup")
    bak = staged.with_name(staged.name + ".bak")
    assert "broke the link" in result.output and bak.read_bytes() == before
    assert gemma3n_broken.read_bytes() == before != staged.read_bytes()


def test_a_file_with_one_link_is_still_patched_in_place(gemma3n_broken):
    ino = os.stat(gemma3n_broken).st_ino
    result = run("fix", gemma3n_broken)
    assert "in place:" in result.output and "broke the link" not in result.output
    assert os.stat(gemma3n_broken).st_ino == ino


def test_the_docs_and_the_help_say_which():
    text = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert "## `publish fix` never writes through a link" in text
    assert "hard link" in CliRunner().invoke(main, ["fix", "--help"]).output
