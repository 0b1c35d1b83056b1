"""Split sets written by gguf.GGUFWriter: complete, missing parts, inconsistent split keys."""

from __future__ import annotations

import shutil

import pytest
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as V

import ggufs
from publish.errors import UsageError
from publish.gguf.changes import SetValue
from publish.gguf.fix import apply_changes
from publish.gguf.reader import read_header
from publish.gguf.split import SplitSetError, part_names, read_split_set

TENSORS = [(f"blk.{i}.w", (32, 2), T.Q8_0) for i in range(5)]


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("split")
    ggufs.write_gguf(folder / "m-Q8_0.gguf", kv={"general.name": "m"}, tensors=TENSORS, split_max_tensors=2)
    return folder


@pytest.fixture
def parts(split_dir, tmp_path):
    for p in split_dir.iterdir():
        shutil.copyfile(p, tmp_path / p.name)
    return sorted(tmp_path.glob("m-Q8_0-*.gguf"))


def test_reads_the_whole_set_from_any_part(parts):
    assert [p.name for p in parts] == [f"m-Q8_0-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    for p in parts:
        s = read_split_set(str(p))
        assert s.count == 3 and s.paths == [str(x) for x in parts]
        assert [h.split for h in s.headers] == [(0, 3), (1, 3), (2, 3)]
        assert sorted(t.name for _, t in s.tensors) == sorted(name for name, _, _ in TENSORS)
        assert s.first.value("general.name") == "m" and s.n_params == 5 * 64


def test_part_names():
    assert part_names("dir/x-Q4_K_M-00002-of-00003.gguf") == [
        f"dir/x-Q4_K_M-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    assert part_names("x-Q4_K_M.gguf") is None
    assert part_names("x-00001-of-00000.gguf") is None  # a set of no parts is no set


def test_part_named_of_zero_is_linted_and_inspected_as_misnamed(parts, tmp_path):
    from click.testing import CliRunner

    from publish.cli import main

    odd = tmp_path / "x-00001-of-00000.gguf"
    odd.write_bytes(parts[0].read_bytes())
    lint = CliRunner().invoke(main, ["lint", str(odd)])
    assert lint.exit_code == 1 and " GG303 " in lint.output, lint.output
    inspect = CliRunner().invoke(main, ["inspect", str(odd)])
    assert inspect.exit_code == 0 and "split set       broken:" in inspect.output, inspect.output


def test_missing_part_is_named(parts):
    parts[1].unlink()
    with pytest.raises(SplitSetError) as info:
        read_split_set(str(parts[0]))
    assert [p.path for p in info.value.problems] == [str(parts[1])]
    assert "missing: expected part 2 of 3" in str(info.value)


def test_inconsistent_split_count_and_number(parts):
    # split.* keys are protected from `publish fix`, so corrupt them the way a broken tool would
    with pytest.raises(UsageError):
        apply_changes(parts[2], [SetValue("split.count", 4, V.UINT16)])
    hdr = read_header(parts[2])
    kv = hdr.kv["split.count"]
    with open(parts[2], "r+b") as fh:
        fh.seek(kv.value_offset)
        fh.write((4).to_bytes(2, "little"))
    no = read_header(parts[1]).kv["split.no"]
    with open(parts[1], "r+b") as fh:
        fh.seek(no.value_offset)
        fh.write((0).to_bytes(2, "little"))
    with pytest.raises(SplitSetError) as info:
        read_split_set(str(parts[0]))
    messages = {p.path: p.message for p in info.value.problems}
    assert "split.count is 4, expected 3" in messages[str(parts[2])]
    assert "split.no is 0, expected 1" in messages[str(parts[1])]
    # each problem names its key as data (lint's GG303 subject), not for a reader to parse out of the text
    assert {p.path: (p.key, p.offset) for p in info.value.problems} == {
        str(parts[2]): ("split.count", kv.value_offset), str(parts[1]): ("split.no", no.value_offset)}


def test_tensor_count_mismatch_and_unreadable_part(parts):
    for p in parts:
        kv = read_header(p).kv["split.tensors.count"]
        with open(p, "r+b") as fh:
            fh.seek(kv.value_offset)
            fh.write((6).to_bytes(4, "little"))
    with pytest.raises(SplitSetError, match="split.tensors.count is 6, but the parts hold 5 tensors") as info:
        read_split_set(str(parts[1]))
    assert [p.key for p in info.value.problems] == ["split.tensors.count"]
    parts[2].write_bytes(parts[2].read_bytes()[:40])
    with pytest.raises(SplitSetError) as info:
        read_split_set(str(parts[1]))
    assert info.value.problems[0].path == str(parts[2]) and "unreadable" in info.value.problems[0].message


def test_gg303_names_the_split_key_each_problem_is_about(parts):
    """The finding's subject is the key the problem concerns, given by publish.gguf.split with the
    problem, also where the message does not start with it (parts that disagree on
    split.tensors.count had no subject when it was read back out of the message)."""
    from publish.lint import lint_paths

    kv = read_header(parts[0]).kv["split.tensors.count"]
    with open(parts[0], "r+b") as fh:
        fh.seek(kv.value_offset)
        fh.write((6).to_bytes(4, "little"))
    found = [f for f in lint_paths([str(parts[0])]).findings if f.code == "GG303"]
    assert [(f.subject, f.message) for f in found] == [
        ("split.tensors.count", "parts disagree on split.tensors.count: [5, 6]")]


def test_not_a_split_name(tmp_path):
    with pytest.raises(SplitSetError, match="NAME-00001-of-00003.gguf"):
        read_split_set(str(tmp_path / "plain.gguf"))


@pytest.mark.parametrize("stored", [("five", V.STRING), ([5], V.ARRAY, V.UINT8)], ids=["string", "array"])
def test_split_tensors_count_of_the_wrong_type_is_a_problem_not_a_crash(tmp_path, stored):
    from click.testing import CliRunner

    import ggufs
    from gguf import GGMLQuantizationType as Q
    from publish.cli import main

    part = ggufs.write_gguf(tmp_path / "m-00001-of-00001.gguf", tensors=[("a", (32, 2), Q.F32)], kv={
        "split.no": (0, V.UINT16), "split.count": (1, V.UINT16), "split.tensors.count": stored})
    with pytest.raises(SplitSetError, match="expected split.tensors.count to be an integer"):
        read_split_set(str(part))
    lint = CliRunner().invoke(main, ["lint", str(part)])
    assert lint.exit_code == 1 and " GG303 " in lint.output, lint.output
    assert CliRunner().invoke(main, ["inspect", str(part)]).exit_code == 0
