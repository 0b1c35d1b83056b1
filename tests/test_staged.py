"""The staged folder is read in one place (publish/staged.py), once per command (its text files
and its GGUF headers), and a folder with faults is still read so lint can report each fault.

Every open of the staged folder's text files is recorded with a Python audit hook (it sees
builtins.open, io.open, pathlib and os.open alike) together with the publish module that asked
for it, while real flows run: `publish release` through build, the folder lint, a llama.cpp
smoke and a push to the loopback Hub stand-in; `publish lint DIR`, `publish smoke DIR`,
`publish push DIR --dry-run`.
"""

from __future__ import annotations

import shutil

import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from publish.cli import main
from publish.staged import NOT_UTF8, PARAMS_JSON, PARAMS_NOT_OBJECT, StagedFolder

ROOT = Path(__file__).resolve().parent.parent
PUBLISH = ROOT / "publish"
TINY = ROOT / "examples" / "tiny"
OFFLINE = {"OLLAMA_HOST": "http://127.0.0.1:9"}
TEXT_FILES = ("template", "params", "system", "README.md")
BYTES_READERS = ("publish/hub/hashing.py", "huggingface_hub")   # the push's sha256 and its upload
# the one UTF-8 reader and the GGUF header reader: a read through them counts for their caller
PLUMBING = {str(PUBLISH / "fsutil.py"), str(PUBLISH / "gguf" / "reader.py")}


class Opens:
    """Reads of the text files of folders under `root`: (file name, publish module) per open."""

    _hooked: list[Opens | None] = [None]

    def __init__(self, root: Path):
        self.root = str(root.resolve())
        self.reads: list[tuple[str, str]] = []

    def __enter__(self) -> Opens:
        if not getattr(Opens, "_installed", False):
            sys.addaudithook(Opens._hook)   # cannot be removed: it does nothing while no test listens
            Opens._installed = True
        Opens._hooked[0] = self
        return self

    def __exit__(self, *exc) -> None:
        Opens._hooked[0] = None

    @staticmethod
    def _hook(event: str, args: tuple) -> None:
        self = Opens._hooked[0]
        if self is None or event != "open" or not isinstance(args[0], (str, os.PathLike)):
            return
        path, mode, flags = args
        if isinstance(mode, str) and any(c in mode for c in "wax+"):
            return
        if mode is None and flags & (os.O_WRONLY | os.O_RDWR):
            return
        path = os.path.abspath(os.fspath(path))
        name = os.path.basename(path)
        if not path.startswith(self.root) or not (name in TEXT_FILES or name.startswith("Modelfile")
                                                  or name.endswith(".gguf")):
            return
        # the innermost caller that is publish, or huggingface_hub (reading the bytes it uploads)
        frame, who = sys._getframe(1), "(not publish)"
        while frame is not None:
            file = frame.f_code.co_filename
            if f"{os.sep}huggingface_hub{os.sep}" in file:
                who = "huggingface_hub"
                break
            if file.startswith(str(PUBLISH)) and file not in PLUMBING:
                who = Path(file).relative_to(ROOT).as_posix()
                break
            frame = frame.f_back
        self.reads.append((name, who))

    def readers(self) -> set[str]:
        return {who for _, who in self.reads}

    def count(self, who: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, w in self.reads:
            if w == who:
                out[name] = out.get(name, 0) + 1
        return out


def built(tmp_path: Path) -> Path:
    out = tmp_path / "dist" / "tiny"
    res = CliRunner().invoke(main, ["build", str(TINY / "release.toml"), "-o", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out


def test_the_recorder_sees_a_read_from_another_module(tmp_path):
    """The checks below can fail: a publish module other than staged.py that reads `template`
    (here through the one UTF-8 reader, publish.fsutil) is named."""
    from publish.convert.inputs import read_chat_templates

    folder = built(tmp_path)
    with Opens(tmp_path) as opens:
        read_chat_templates(folder / "template")
        (folder / "params").read_text(encoding="utf-8")   # from this test: not a publish module
    assert opens.reads == [("template", "publish/convert/inputs.py"), ("params", "(not publish)")]


@pytest.mark.llamacpp
def test_a_release_reads_the_staged_folder_once_and_only_in_staged_py(tmp_path, hub):
    out = tmp_path / "dist" / "tiny"
    with Opens(tmp_path) as opens:
        res = CliRunner().invoke(main, ["release", str(TINY / "release.toml"), "--backend", "llamacpp",
                                        "-o", str(out), "--push", "--repo", "alice/tiny-GGUF"],
                                 env=OFFLINE, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "pushed" in res.output and "smoke folder" in res.output
    modelfiles = sorted(p.name for p in out.glob("Modelfile.*"))
    assert modelfiles == ["Modelfile.F32", "Modelfile.Q8_0"]
    ggufs = ["tiny-llama-F32.gguf", "tiny-llama-Q8_0.gguf"]
    # the push hashes the bytes (sha256) and huggingface_hub uploads them; nothing else but
    # staged.py reads the files, the GGUF headers included (lint's rules and the smoke's facts
    # take the headers the read kept)
    assert opens.readers() <= {"publish/staged.py", *BYTES_READERS}, opens.reads
    assert opens.count("publish/staged.py") == {name: 1 for name in [*TEXT_FILES, *modelfiles, *ggufs]}, opens.reads


@pytest.mark.parametrize("command", [
    pytest.param(["lint"], id="lint"),
    pytest.param(["smoke", "--backend", "llamacpp", "--quants", "Q8_0", "--prompt", "1+1?", "--expect", "2"], id="smoke",
                 marks=pytest.mark.llamacpp),
    pytest.param(["push", "--dry-run"], id="push"),
])
def test_each_command_reads_the_folder_once(tmp_path, hub, command):
    folder = built(tmp_path)
    with Opens(tmp_path) as opens:
        res = CliRunner().invoke(main, [command[0], str(folder), *command[1:]], env=OFFLINE, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert opens.readers() <= {"publish/staged.py", *BYTES_READERS}, opens.reads
    counts = opens.count("publish/staged.py")
    assert counts and set(counts.values()) == {1}, opens.reads
    assert set(counts) >= {"template", "params", "system", "README.md", "tiny-llama-Q8_0.gguf"}


# -- a folder with faults is still read, the faults recorded ---------------------------------------

def test_a_tolerant_load_records_each_fault_and_a_strict_load_raises_the_first(tmp_path):
    from publish.errors import UsageError

    folder = built(tmp_path)
    (folder / "params").write_text('{"stop": ["<end_of_turn>"],\n "seed": 4,,}')
    (folder / "system").write_bytes(b"caf\xe9\n")
    s = StagedFolder.load(folder, tolerant=True)
    assert [(p.file, p.reason, p.line, p.col) for p in s.problems] == [("params", PARAMS_JSON, 2, 12),
                                                                       ("system", NOT_UTF8, None, None)]
    assert s.params == {} and s.system == "caf\ufffd\n" and s.template is not None
    assert [q.label for q in s.quants] == ["F32", "Q8_0"] and s.repo == "your-org/tiny-llama-GGUF"
    with pytest.raises(UsageError, match=r"params:2:12: params is not valid JSON"):
        StagedFolder.load(folder)
    (folder / "params").write_text("[1, 2]")
    assert [p.reason for p in StagedFolder.load(folder, tolerant=True).problems] == [PARAMS_NOT_OBJECT, NOT_UTF8]


def test_lint_reports_the_faults_of_the_read_with_file_and_line(tmp_path):
    from publish.lint import lint_paths

    folder = built(tmp_path)
    (folder / "params").write_text('{"stop": ["<end_of_turn>"],\n "seed": 4,,}')
    (folder / "Modelfile.Q8_0").write_text("# no model named\nTEMPLATE {{ .Prompt }}\n")
    (folder / "Modelfile.F32").write_text("FROM ./tiny-llama-F32.gguf\nPARAMETER temprature 0.5\n")
    findings = {f.code: f for f in lint_paths([str(folder)]).findings}
    assert findings["RP110"].message == "not valid JSON at 2:12: Expecting property name enclosed in double quotes"
    assert findings["RP110"].path == str(folder / "params")
    # the parser's typed reason, not its wording, picks RP145 over RP140
    assert findings["RP145"].path == str(folder / "Modelfile.Q8_0")
    assert "Modelfile.F32:2: unknown parameter 'temprature'" in findings["RP140"].message


def test_the_modelfile_parser_says_which_fault_it_is():
    from publish.errors import ModelfileError
    from publish.modelfile import parse

    with pytest.raises(ModelfileError) as err:
        parse("# nothing\nSYSTEM hi\n")
    assert err.value.reason == ModelfileError.NO_FROM and err.value.line is None
    with pytest.raises(ModelfileError) as err:
        parse("FROM x\nFROB y\n")
    assert err.value.reason is None and err.value.line == 2


def test_push_lists_the_folder_through_the_staged_object(tmp_path):
    """Hidden files stay out; a symlink is refused (an upload would follow it)."""
    from publish.errors import UsageError
    from publish.hub.plan import local_plan

    folder = built(tmp_path)
    (folder / ".notes").write_text("local only")
    s = StagedFolder.load(folder)
    assert ".notes" not in {p.name for p in s.files}
    assert {f.path for f in local_plan(s)} == {p.name for p in s.files}
    (folder / "link").symlink_to(folder / "params")
    with pytest.raises(UsageError, match="link: is a symlink"):
        local_plan(StagedFolder.load(folder))


@pytest.mark.parametrize("params, why", [
    (b'{"stop": ["<end_of_turn>"], "seed": 4}', None),
    (b'{"stop": ["<end_of_turn>"],\n "seed": 4,,}', "/params:2:12: params is not valid JSON"),
    (b"[1, 2]", "/params: params must be a JSON object"),
])
def test_a_hub_repo_s_params_are_read_as_a_staged_folder_s(hub, tiny_llama_path, params, why):
    """`publish smoke hf.co/…` reads the repo's own params with the staged folder's parser: a list
    is a fault there too (it used to become the target's params and fail later)."""
    from publish.smoke.runner import SmokeOptions
    from publish.smoke.targets import plan_hub

    hub.create_repo("alice/tiny-GGUF")
    hub.put_file("alice/tiny-GGUF", "tiny-llama-Q8_0.gguf", tiny_llama_path.read_bytes())
    hub.put_file("alice/tiny-GGUF", "params", params)
    planned = plan_hub("hf.co/alice/tiny-GGUF", SmokeOptions())
    [target] = planned.targets
    if why is None:
        assert planned.release_unknown is None and target.params == {"stop": ["<end_of_turn>"], "seed": 4}
    else:
        assert why in planned.release_unknown and target.params == {}


@pytest.mark.parametrize("content, message", [
    (b'{"seed": 4, "stop": ["\xff"]}', r"params: not UTF-8 text: byte 0xFF at offset 22 \(line 1, byte 23 of the line\)"),
    (b'{"seed": 4,,}', r"params:1:12: params is not valid JSON: Expecting property name"),
])
def test_template_files_refuse_a_faulty_params_naming_the_file_once(tmp_path, content, message):
    """`publish template convert -o DIR` keeps params' other keys, so a faulty params stops it
    before anything is written, with the message a strict load of the folder gives."""
    from publish.errors import UsageError
    from publish.staged import write_template_files

    (tmp_path / "params").write_bytes(content)
    with pytest.raises(UsageError, match=message) as err:
        write_template_files(tmp_path, "{{ .Prompt }}", ["<end>"])
    assert str(err.value).count(str(tmp_path / "params")) == 1
    assert "its other keys are kept" in err.value.hint
    assert not (tmp_path / "template").exists() and (tmp_path / "params").read_bytes() == content


# -- a Hub repo is read into the same object, by the same readers ----------------------------------

HUB_REPO = "alice/tiny-GGUF"


def test_a_pushed_release_reads_back_from_the_hub_as_the_folder_it_was(tmp_path, hub):
    """`publish push` a built folder, then StagedFolder.from_hub: the same tags, texts and params as
    the local read, every path an hf:// URL, and no byte of a GGUF fetched (one listing and one
    GET per text file)."""
    folder = tmp_path / "dist" / "tiny"
    for args in (["build", str(TINY / "release.toml"), "--repo", HUB_REPO, "-o", str(folder)], ["push", str(folder)]):
        res = CliRunner().invoke(main, args, catch_exceptions=False)
        assert res.exit_code == 0, res.output
    local = StagedFolder.load(folder)
    hub.reset_counters()

    remote = StagedFolder.from_hub(HUB_REPO)

    root = f"hf://{HUB_REPO}"
    assert remote.remote and not local.remote and remote.path == root and remote.repo == HUB_REPO
    assert [(q.label, q.path, q.parts) for q in remote.quants] == \
        [(q.label, f"{root}/{q.path.name}", ()) for q in local.quants]
    assert (remote.template, remote.params, remote.system) == (local.template, local.params, local.system)
    assert remote.kind == local.kind and remote.stops == local.stops == ["<end_of_turn>"]
    assert {k: remote.texts[k] for k in ("template", "params", "system")} == \
        {k: local.texts[k] for k in ("template", "params", "system")}
    assert remote.card == f"{root}/README.md" and "README.md" not in remote.texts
    assert remote.modelfiles == {label: f"{root}/Modelfile.{label}" for label in local.modelfiles}
    assert remote.files == sorted([f"{root}/.gitattributes", *(f"{root}/{p.name}" for p in local.files)])
    assert remote.headers == {} and remote.unreadable == {} and remote.problems == []
    assert [t for t in hub.transfers if (t.file or "").endswith(".gguf")] == []
    assert sorted(t.file for t in hub.transfers if t.file) == ["params", "system", "template"]
    assert hub.count("GET", r"/tree/") == 1


def test_a_hub_repo_s_quants_are_grouped_as_a_folder_s(hub, tiny_llama_path):
    """A split set (here in a sub-folder, listed part 2 first) is one quant with its parts in order;
    a projector is kept apart; two models with one label stay two quants, the smoke takes the
    first (what the Hub serves for the tag is its pick; lint reports GG802)."""
    from publish.smoke.matrix import target_quants
    from publish.smoke.runner import SmokeOptions
    from publish.smoke.targets import plan_hub

    data = tiny_llama_path.read_bytes()
    names = ["m-Q8_0.gguf", "m-imat-Q8_0.gguf", "Q4_K_M/m-Q4_K_M-00002-of-00002.gguf",
             "Q4_K_M/m-Q4_K_M-00001-of-00002.gguf", "mmproj-m-F16.gguf", "m-custom.gguf"]
    for name in names:
        hub.put_file(HUB_REPO, name, data)
    root = f"hf://{HUB_REPO}"
    s = StagedFolder.from_hub(HUB_REPO)
    split = (f"{root}/Q4_K_M/m-Q4_K_M-00001-of-00002.gguf", f"{root}/Q4_K_M/m-Q4_K_M-00002-of-00002.gguf")
    assert [(q.label, q.path, q.parts) for q in s.quants] == [
        ("Q4_K_M", split[0], split), ("Q8_0", f"{root}/m-Q8_0.gguf", ()),
        ("m-custom", f"{root}/m-custom.gguf", ()), ("Q8_0", f"{root}/m-imat-Q8_0.gguf", ())]
    assert s.projectors == [f"{root}/mmproj-m-F16.gguf"]
    assert s.template is None and s.params == {} and s.texts == {} and s.headers == {}
    assert [p.rsplit("/", 1)[-1] for p in s.ggufs] == sorted(n.rsplit("/", 1)[-1] for n in names)
    assert s.quant("q4_k_m").parts == split
    from publish.errors import UsageError
    with pytest.raises(UsageError, match=r"^hf://alice/tiny-GGUF: m-Q8_0.gguf and m-imat-Q8_0.gguf both carry the label Q8_0"):
        s.quant("Q8_0")

    planned = plan_hub(f"hf.co/{HUB_REPO}", SmokeOptions())
    assert planned.all_labels == ["Q4_K_M", "Q8_0", "m-custom"]
    assert planned.headers == {"Q4_K_M": split[0], "Q8_0": f"{root}/m-Q8_0.gguf", "m-custom": f"{root}/m-custom.gguf"}
    assert target_quants(f"hf.co/{HUB_REPO}") == (f"hf.co/{HUB_REPO}", ["Q4_K_M", "Q8_0", "m-custom"])


def test_a_folder_s_quants_in_sub_folders_are_the_ones_push_uploads_and_the_hub_lists(tmp_path, hub,
                                                                                    tiny_llama_path):
    """A local folder with a split set in a sub-folder (as bartowski ships large quants): push
    uploads every file below it, so lint and smoke must see those GGUFs too. The local read groups
    them as the Hub repo's read does after the push (it used to look at the top level only), and
    lint reports a finding on the sub-folder's file. A folder named like a GGUF is not a quant."""
    from publish.errors import UsageError
    from publish.lint import lint_paths

    folder = tmp_path / "dist"
    names = ["m-Q8_0.gguf", "Q4_K_M/m-Q4_K_M-00001-of-00002.gguf", "Q4_K_M/m-Q4_K_M-00002-of-00002.gguf",
             "mmproj-m-F16.gguf"]
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tiny_llama_path, folder / name)
    (folder / "odd.gguf").mkdir()
    (folder / "odd.gguf" / "notes.txt").write_text("not a model", encoding="utf-8")
    (folder / "template").write_text("{{ .Prompt }}", encoding="utf-8")
    local = StagedFolder.load(folder, tolerant=True)
    split = (folder / names[1], folder / names[2])
    assert [(q.label, q.path, q.parts) for q in local.quants] == [
        ("Q4_K_M", split[0], split), ("Q8_0", folder / "m-Q8_0.gguf", ())]
    assert local.projectors == [folder / "mmproj-m-F16.gguf"] and set(local.headers) >= set(split)

    res = CliRunner().invoke(main, ["push", str(folder), "--repo", HUB_REPO], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    remote = StagedFolder.from_hub(HUB_REPO)
    root = f"hf://{HUB_REPO}"
    assert [(q.label, q.path, q.parts) for q in remote.quants] == [
        (q.label, f"{root}/{q.path.relative_to(folder).as_posix()}",
         tuple(f"{root}/{p.relative_to(folder).as_posix()}" for p in q.parts)) for q in local.quants]

    found = {(f.code, Path(f.path).name) for f in lint_paths([str(folder)]).findings}
    assert any(code == "RP120" for code, _ in found)                               # the split set, for Ollama
    assert ("GG301", "m-Q4_K_M-00001-of-00002.gguf") in found                      # its GGUF rule, on its file

    # the same name in a sub-folder answers the same tag: one repo, so GG802 (lint grouped by
    # sub-folder and passed it, while smoke refused the folder for it: a tester's find)
    (folder / "again").mkdir()
    shutil.copyfile(tiny_llama_path, folder / "again" / "m-Q8_0.gguf")
    (gg802,) = [f for f in lint_paths([str(folder)]).findings if f.code == "GG802"]
    assert gg802.message.startswith("again/m-Q8_0.gguf and m-Q8_0.gguf both answer hf.co/ORG/REPO:Q8_0")
    with pytest.raises(UsageError, match="again/m-Q8_0.gguf and m-Q8_0.gguf both carry the label Q8_0"):
        StagedFolder.load(folder, tolerant=True).quant("Q8_0")



@pytest.mark.parametrize("name, content, message", [
    ("params", b'{"stop": ["<end_of_turn>"],\n "seed": 4,,}',
     "hf://alice/tiny-GGUF/params:2:12: params is not valid JSON: Expecting property name enclosed in double quotes"),
    ("template", b"caf\xe9 {{ .Prompt }}",
     "hf://alice/tiny-GGUF/template: not UTF-8 text: byte 0xE9 at offset 3 (line 1, byte 4 of the line) "
     "is not valid UTF-8"),
    ("system", b"\xff\xfeh\x00i\x00", "hf://alice/tiny-GGUF/system: not UTF-8 text: byte 0xFF at offset 0"),
    ("params", b'{"seed": 4}' + b" " * 1_000_000, "hf://alice/tiny-GGUF/params: larger than 1 MB, not an Ollama params file"),
])
def test_a_faulty_file_in_a_hub_repo_is_named_by_its_hf_url(hub, tiny_llama_path, name, content, message):
    """The faults a folder's read reports are reported for a Hub repo's files, named hf://ORG/NAME/FILE:
    a strict read raises the first, the smoke's plan says it instead of comparing with the release.
    (A template or system that was not UTF-8 used to be decoded with U+FFFD and compared silently.)
    A file over 1 MB is not fetched at all."""
    from publish.errors import UsageError
    from publish.smoke.runner import SmokeOptions
    from publish.smoke.targets import plan_hub

    hub.put_file(HUB_REPO, "tiny-llama-Q8_0.gguf", tiny_llama_path.read_bytes())
    hub.put_file(HUB_REPO, name, content, lfs=False)
    hub.reset_counters()
    with pytest.raises(UsageError) as err:
        StagedFolder.from_hub(HUB_REPO)
    assert err.value.message.startswith(message), err.value.message
    assert err.value.hint
    planned = plan_hub(f"hf.co/{HUB_REPO}", SmokeOptions())
    assert planned.release_unknown.startswith(message)
    if len(content) > 1_000_000:
        assert hub.file_transfers(name) == []
    if name == "params":
        assert planned.targets[0].params == {}
    else:
        assert "\ufffd" in StagedFolder.from_hub(HUB_REPO, tolerant=True).texts[name]


def test_a_text_file_the_hub_refuses_is_a_problem_and_the_smoke_goes_on(hub, tiny_llama_path):
    from publish.smoke.runner import SmokeOptions
    from publish.smoke.targets import plan_hub
    from publish.staged import HUB_REFUSED

    hub.put_file(HUB_REPO, "tiny-llama-Q8_0.gguf", tiny_llama_path.read_bytes())
    hub.put_file(HUB_REPO, "template", b"{{ .Prompt }}")
    hub.put_file(HUB_REPO, "params", b'{"seed": 4}')
    hub.inject("GET", r"/resolve/main/template$", status=403, message="no access to this file")
    s = StagedFolder.from_hub(HUB_REPO, tolerant=True)
    [p] = s.problems
    assert (p.file, p.reason) == ("template", HUB_REFUSED) and s.template is None and s.params == {"seed": 4}
    hub.inject("GET", r"/resolve/main/template$", status=403, message="no access to this file")
    planned = plan_hub(f"hf.co/{HUB_REPO}", SmokeOptions())
    # the HubError's own message, which names the file once
    assert planned.release_unknown.startswith("read hf://alice/tiny-GGUF/template: ")
    assert planned.release_unknown.count("hf://") == 1 and "(HTTP 403)" in planned.release_unknown
    assert [t.label for t in planned.targets] == ["Q8_0"]


def test_a_hub_repo_s_object_is_refused_where_local_files_are_needed(hub, tiny_llama_path):
    """lint's folder rules, the folder smoke and the push read local files: given the object of a
    Hub repo they say so (they would have failed on an hf:// string, or smoked nothing)."""
    from publish.errors import UsageError
    from publish.hub.plan import local_plan
    from publish.lint import lint_paths
    from publish.smoke.runner import SmokeOptions, smoke

    hub.put_file(HUB_REPO, "tiny-llama-Q8_0.gguf", tiny_llama_path.read_bytes())
    remote = StagedFolder.from_hub(HUB_REPO)
    for call in (lambda: lint_paths([remote]), lambda: smoke(remote, SmokeOptions(backend="llamacpp")),
                 lambda: local_plan(remote)):
        with pytest.raises(UsageError, match=r"^hf://alice/tiny-GGUF: a Hub repo, not a local staged folder") as err:
            call()
        assert "hf.co/alice/tiny-GGUF" in err.value.hint


def test_a_fifo_in_a_sub_folder_is_named_by_its_whole_path(tmp_path, tiny_llama_path):
    """Sub-folder GGUFs are the folder's too: one that is a FIFO is refused (never opened) with
    its own path, not a path beside the folder's top-level files."""
    import os

    from publish.errors import InputPathError

    folder = tmp_path / "dist"
    (folder / "sub").mkdir(parents=True)
    shutil.copyfile(tiny_llama_path, folder / "m-Q8_0.gguf")
    os.mkfifo(folder / "sub" / "x-Q4_K_M.gguf")
    with pytest.raises(InputPathError, match=r"dist/sub/x-Q4_K_M\.gguf: a FIFO"):
        StagedFolder.load(folder, tolerant=True)
