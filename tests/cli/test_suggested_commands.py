"""Every command line publish suggests can be pasted into a shell as it is.

A path with a space, a quote or `$` in it is one shell word only when quoted: `next: publish lint
sp ace/out dir` runs `publish lint sp` with two stray arguments. Each suggestion goes through
publish.termtext.shell_command, and each test splits the printed line the way a POSIX shell does
(shlex.split) and checks it gives back the path as one argument.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from click.testing import CliRunner

import ggufs
from publish.cli import main
from publish.termtext import shell_command

ROOT = Path(__file__).resolve().parent.parent.parent
TINY = ROOT / "examples" / "tiny" / "release.toml"
AWKWARD = "sp ace $HOME 'q"   # a space, a variable a shell would expand, a quote


def suggested(output: str, prefix: str) -> list[list[str]]:
    """The command lines after `prefix` in `output`, split as a shell splits them."""
    return [shlex.split(line.strip()[len(prefix):].strip().strip("`"))
            for line in output.splitlines() if line.strip().startswith(prefix)]


def test_shell_command_quotes_only_what_needs_it():
    assert shell_command("publish", "fix", "dist/m-Q4_K_M.gguf", "--select", "GG205") == \
        "publish fix dist/m-Q4_K_M.gguf --select GG205"
    line = shell_command("publish", "lint", f"{AWKWARD}/out dir")
    assert shlex.split(line) == ["publish", "lint", f"{AWKWARD}/out dir"]
    assert shell_command("publish", "smoke", "hf.co/org/x-GGUF:Q4_K_M", "--shard", 2) == \
        "publish smoke hf.co/org/x-GGUF:Q4_K_M --shard 2"


def test_build_names_the_next_command_for_a_folder_with_spaces(tmp_path):
    src = tmp_path / AWKWARD
    src.mkdir()
    for p in TINY.parent.glob("*.gguf"):
        shutil.copyfile(p, src / p.name)
    spec = src / "rel ease.toml"
    spec.write_text(TINY.read_text())
    out = src / "out dir"
    r = CliRunner().invoke(main, ["build", str(spec), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert suggested(r.output, "next:") == [["publish", "lint", str(out)]]


def test_lint_fix_lines_and_fix_apply_with_lines_keep_the_path_one_word(tmp_path):
    from gguf import GGMLQuantizationType

    folder = tmp_path / "with space"
    folder.mkdir()
    path = ggufs.write_gemma3n_like(folder / "g 3n-Q4_K_M.gguf", per_layer_type=GGMLQuantizationType.Q8_0,
                                    n_vocab=1024)
    lint = CliRunner().invoke(main, ["lint", str(path)])
    fixes = suggested(lint.output, "fix:")
    assert ["publish", "fix", str(path)] in fixes                          # GG101, an error
    assert ["publish", "fix", str(path), "--select", "GG205"] in fixes     # a warning, when selected
    fix = CliRunner().invoke(main, ["fix", str(path), "--ignore", "GG101", "--dry-run"])
    assert ["publish", "fix", str(path), "--select", "GG101"] in suggested(fix.output, "apply with:")


def test_release_without_push_names_the_push_command_quoted(tmp_path):
    from publish.hub.plan import LocalFile
    from publish.release import PASSED, ReleaseResult, StageResult, format_summary

    folder = tmp_path / AWKWARD / "out dir"
    result = ReleaseResult(spec=tmp_path / "release.toml", repo="org/x-GGUF", folder=folder,
                           stages=[StageResult("build", PASSED, "built")],
                           local_files=[LocalFile("params", 2, "0" * 64, folder / "params")])
    assert suggested(format_summary(result), "then:") == [
        ["publish", "push", str(folder), "--repo", "org/x-GGUF"]]



COMMAND = (r"(\b(publish (build|lint|fix|inspect|push|smoke|release|template|rule|ci-matrix)|"
           r"ollama (run|create|rm|pull|show|serve|cp|push))( [a-z][a-z-]*)*|"
           r"\bllama-[a-z-]+( --?[a-z][a-z-]*)*|"
           r"\bchmod( [ugoa]*[+=-][rwxX]+)?) $")
# a JUnit test suite named after the smoke run it reports, not a line to paste
NOT_COMMANDS = {"publish/smoke/report.py": 'name=f"publish smoke {report.target}"'}


def unquoted_commands(source: str) -> list[int]:
    """Lines of `source` with an f-string that puts a value straight after `publish COMMAND ` (or
    `ollama COMMAND `, `llama-TOOL --option `, `chmod MODE `): a suggested command line built
    without shell_command."""
    import ast
    import re

    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            for a, b in zip(node.values, node.values[1:]):
                if isinstance(a, ast.Constant) and isinstance(b, ast.FormattedValue) and \
                        re.search(COMMAND, str(a.value)):
                    lines.append(node.lineno)
    return lines


def test_no_command_line_is_built_by_pasting_a_value_in():
    found = []
    for p in sorted((ROOT / "publish").rglob("*.py")):
        rel, text = p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8")
        lines = text.splitlines()
        found += [f"{rel}:{n}" for n in unquoted_commands(text) if NOT_COMMANDS.get(rel, "\0") not in lines[n - 1]]
    assert found == [], "build it with publish.termtext.shell_command: " + ", ".join(found)
    assert unquoted_commands('x = f"next: publish lint {folder}"') == [1]
    assert unquoted_commands('x = f"(chmod u+x {folder})"') == [1]
    assert unquoted_commands('x = f"(chmod {mode} {folder})"') == [1]
    assert unquoted_commands('x = f"llama-gguf-split --merge {a} {b}"') == [1]
    assert unquoted_commands('x = f"next: {shell_command(\'publish\', \'lint\', folder)}"') == []
