"""A release spec reads only its own folder: no file key reaches the environment, /proc or the home
folder, and a planted HF_TOKEN never reaches the staged folder, the Hub, a report or the output.

Specs come from pull requests and `publish release --push` runs in CI next to HF_TOKEN; an adversarial
run put the token on the Hub with `extra_file = "/proc/self/environ"` (issue 11, item 4).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from standins.hub import WRITE_TOKEN
from publish.errors import SpecError
from publish.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "examples" / "tiny"

HEAD = """\
repo = "alice/leak-GGUF"
base_model = "acme/tiny"
license = "apache-2.0"
quantized_by = "acme"
"""


def spec_text(key: str, value: str) -> str:
    """A valid spec over the tiny example's GGUFs in which `key` names `value`."""
    top = {"system_file": f"system_file = {value!r}\n", "license_file": f"license_file = {value!r}\n"}.get(key, "")
    template = f"file = {value!r}" if key == "template.file" else 'family = "gemma3"'
    quants = {"quants.dir": f"dir = {value!r}\npattern = \"tiny-llama-*.gguf\"",
              "quants.files[0].file": f"files = [{{ label = \"Q8_0\", file = {value!r} }}]",
              "quants.pattern": f"pattern = {value!r}",
              "quants.mmproj": f"pattern = \"tiny-llama-*.gguf\"\nmmproj = {value!r}"}.get(
        key, 'pattern = "tiny-llama-*.gguf"')
    card = f"extra_file = {value!r}\n" if key == "card.extra_file" else ""
    return HEAD + top + f"[template]\n{template}\n[quants]\n{quants}\n[card]\n{card}"


@pytest.fixture
def layout(tmp_path):
    """spec/ (the tiny GGUFs, a spec to write), outside/ (a secret text file and a GGUF), home/."""
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    for gguf in TINY.glob("*.gguf"):
        shutil.copy(gguf, spec_dir / gguf.name)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"HF_TOKEN={WRITE_TOKEN}\n")
    shutil.copy(TINY / "tiny-llama-Q8_0.gguf", outside / "private-Q8_0.gguf")
    home = tmp_path / "home"
    (home / ".cache" / "huggingface").mkdir(parents=True)
    (home / ".cache" / "huggingface" / "token").write_text(WRITE_TOKEN)
    return spec_dir, outside, home


def load(spec_dir: Path, key: str, value: str, **kw):
    p = spec_dir / "release.toml"
    p.write_text(spec_text(key, value), encoding="utf-8")
    spec = load_spec(p, **kw)
    spec.resolve_quants()
    spec.resolve_mmproj()
    return spec


TEXT_KEYS = ["system_file", "license_file", "template.file", "card.extra_file"]


@pytest.mark.parametrize("key", TEXT_KEYS)
@pytest.mark.parametrize("escape", ["absolute", "proc", "dotdot", "home", "symlink", "symlinked folder",
                                    "symlink to proc"])
def test_a_text_file_key_cannot_leave_the_spec_folder(layout, key, escape):
    spec_dir, outside, home = layout
    value = {"absolute": str(outside / "secret.txt"), "proc": "/proc/self/environ",
             "dotdot": "../outside/secret.txt", "home": "~/.cache/huggingface/token",
             "symlink": "notes.txt", "symlinked folder": "docs/secret.txt",
             "symlink to proc": "environ.txt"}[escape]
    (spec_dir / "notes.txt").symlink_to(outside / "secret.txt")
    (spec_dir / "docs").symlink_to(outside, target_is_directory=True)
    (spec_dir / "environ.txt").symlink_to("/proc/self/environ")
    with pytest.raises(SpecError) as info:
        load(spec_dir, key, value)
    err = info.value
    assert err.key == key, str(err)
    assert "spec's folder" in str(err) and "own folder" in err.hint
    assert WRITE_TOKEN not in str(err)


@pytest.mark.parametrize("key", ["quants.dir", "quants.files[0].file", "quants.pattern", "quants.mmproj"])
def test_a_gguf_key_cannot_reach_a_gguf_outside_the_spec_folder(layout, key):
    """A GGUF symlinked from elsewhere on the machine (someone's private model) is not staged and pushed."""
    spec_dir, outside, _ = layout
    (spec_dir / "elsewhere").symlink_to(outside, target_is_directory=True)
    (spec_dir / "private-Q8_0.gguf").symlink_to(outside / "private-Q8_0.gguf")
    value = {"quants.dir": "elsewhere", "quants.files[0].file": "private-Q8_0.gguf",
             "quants.pattern": "private-*.gguf", "quants.mmproj": "private-Q8_0.gguf"}[key]
    with pytest.raises(SpecError) as info:
        load(spec_dir, key, value)
    assert info.value.key == key, str(info.value)
    assert "outside the spec's folder" in str(info.value) and "--gguf-dir" in info.value.hint


@pytest.mark.parametrize("value", ["/tmp", "../outside", "~"])
def test_quants_dir_is_a_folder_inside_the_spec_folder(layout, value):
    spec_dir, _, _ = layout
    with pytest.raises(SpecError) as info:
        load(spec_dir, "quants.dir", value)
    assert info.value.key == "quants.dir" and "--gguf-dir" in info.value.hint


def test_gguf_dir_on_the_command_line_is_the_users_choice_and_may_hold_symlinks(layout, tmp_path):
    """--gguf-dir may point anywhere, and its files may be symlinks (a Hugging Face cache snapshot
    links every file to ../../blobs/SHA): that folder was chosen by the user, not by the spec."""
    spec_dir, outside, _ = layout
    snapshot = tmp_path / "hf-cache" / "snapshots" / "abc"
    blobs = tmp_path / "hf-cache" / "blobs"
    snapshot.mkdir(parents=True)
    blobs.mkdir()
    shutil.copy(TINY / "tiny-llama-Q8_0.gguf", blobs / "sha-q8")
    (snapshot / "tiny-llama-Q8_0.gguf").symlink_to("../../blobs/sha-q8")
    spec = load(spec_dir, "quants.files[0].file", "tiny-llama-Q8_0.gguf", gguf_dir=snapshot)
    assert spec.resolve_quants()[0].path == snapshot / "tiny-llama-Q8_0.gguf"
    # the same spec with the link in its own folder (chosen by the spec) is refused
    (spec_dir / "tiny-llama-Q8_0.gguf").unlink()
    (spec_dir / "tiny-llama-Q8_0.gguf").symlink_to(blobs / "sha-q8")
    with pytest.raises(SpecError, match="outside the spec's folder"):
        load(spec_dir, "quants.files[0].file", "tiny-llama-Q8_0.gguf")


def test_symlinks_and_subfolders_inside_the_spec_folder_are_fine(layout):
    spec_dir, _, _ = layout
    (spec_dir / "texts").mkdir()
    (spec_dir / "texts" / "system.txt").write_text("Be brief.")
    (spec_dir / "system.txt").symlink_to("texts/system.txt")
    (spec_dir / "ggufs").mkdir()
    (spec_dir / "ggufs" / "tiny-llama-Q8_0.gguf").symlink_to("../tiny-llama-Q8_0.gguf")
    assert load(spec_dir, "system_file", "system.txt").system == "Be brief."
    assert load(spec_dir, "system_file", "./texts/system.txt").system == "Be brief."
    spec = load(spec_dir, "quants.dir", "ggufs")
    assert [q.label for q in spec.resolve_quants()] == ["Q8_0"]


def test_the_card_names_a_template_file_as_written_not_by_its_absolute_path(layout):
    """An absolute source path on the card would publish the home folder's name."""
    spec_dir, _, _ = layout
    (spec_dir / "chat.gotmpl").write_text("{{ .Prompt }}")
    spec = load(spec_dir, "template.file", "chat.gotmpl")
    assert spec.template.source == "chat.gotmpl"


def test_a_fifo_is_refused_instead_of_blocking_the_load(layout):
    spec_dir, _, _ = layout
    os.mkfifo(spec_dir / "system.txt")
    outcome: list = []

    def run():
        try:
            load(spec_dir, "system_file", "system.txt")
            outcome.append("loaded")
        except SpecError as err:
            outcome.append(err)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(5)
    if t.is_alive():  # blocked in open(): give it an end of file, then fail
        with open(spec_dir / "system.txt", "w"):
            pass
        t.join(5)
        pytest.fail("loading a spec whose system_file is a FIFO blocked")
    assert isinstance(outcome[0], SpecError) and outcome[0].key == "system_file"
    assert "cannot read" in str(outcome[0]) and "not a regular file" in str(outcome[0])


def test_text_from_the_spec_is_data_for_the_card_and_the_modelfiles_never_evaluated(layout, tmp_path):
    """Card and Modelfiles are Jinja-rendered with spec text as values: a `{{ … }}` in the text is
    written as it is, never evaluated (no globals, no environment)."""
    from publish.build import build

    spec_dir, _, _ = layout
    probe = "{{ config }} {{ self.__init__.__globals__ }} {{ lipsum.__globals__['os'].environ }}"
    (spec_dir / "extra.md").write_text(probe)
    (spec_dir / "system.txt").write_text(probe)
    p = spec_dir / "release.toml"
    p.write_text(spec_text("card.extra_file", "extra.md").replace('license = "apache-2.0"\n',
                                                                  'license = "apache-2.0"\nsystem_file = "system.txt"\n'))
    out = build(load_spec(p), tmp_path / "out")
    assert probe in (out / "README.md").read_text()
    assert (out / "system").read_text() == probe
    assert f'SYSTEM """{probe}"""' in (out / "Modelfile.Q8_0").read_text()


# -- end to end: `publish release --push` in a process that holds HF_TOKEN -------------------------

def _env(tmp_path: Path, home: Path, hub_url: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), "HF_HOME": str(home / ".cache" / "huggingface"),
            "HF_TOKEN": WRITE_TOKEN, "HF_ENDPOINT": hub_url, "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
            "OLLAMA_HOST": "http://127.0.0.1:9", "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"),
            "PUBLISH_HASH_CACHE": str(tmp_path / "hash-cache.json"), "PYTHONPATH": str(ROOT)}


def _release(spec_dir: Path, tmp_path: Path, home: Path, hub_url: str) -> subprocess.CompletedProcess:
    """`publish release --push --keep-going` smoked through llama.cpp: every stage that may run runs
    (a release never pushes after a failed check, so the clean spec must pass its smoke)."""
    return subprocess.run(
        [sys.executable, "-m", "publish", "release", str(spec_dir / "release.toml"), "--push", "--keep-going",
         "-o", str(tmp_path / "dist" / "leak"), "--backend", "llamacpp", "--host", "http://127.0.0.1:9",
         "--verbose"],
        env=_env(tmp_path, home, hub_url), capture_output=True, text=True, timeout=120)


def _assert_token_nowhere(res: subprocess.CompletedProcess, tmp_path: Path, home: Path, hub) -> None:
    for method, path, body in hub.received:
        assert WRITE_TOKEN.encode() not in body, f"the token was sent to the Hub in {method} {path}"
    for head in hub.heads:
        assert WRITE_TOKEN not in head, head
    for repo in hub.repos.values():
        for commit in repo.commits.values():
            assert WRITE_TOKEN not in commit.message
            for path, blob in commit.files.items():
                data = hub.lfs[blob.lfs_sha256] if blob.lfs_sha256 else blob.content
                assert WRITE_TOKEN.encode() not in data, f"the token is on the Hub in {repo.repo_id}/{path}"
    assert WRITE_TOKEN not in res.stdout and WRITE_TOKEN not in res.stderr
    planted = {home / ".cache" / "huggingface" / "token", tmp_path / "outside" / "secret.txt"}
    for folder, _, names in os.walk(tmp_path):
        for name in names:
            p = Path(folder) / name
            if p.is_symlink() or p in planted or not p.is_file():
                continue
            assert WRITE_TOKEN.encode() not in p.read_bytes(), f"the token was written to {p}"


def test_the_planted_token_is_in_the_release_process_environment(layout, tmp_path, hub):
    """Control: the child really holds the token where a hostile spec would look for it."""
    _, _, home = layout
    res = subprocess.run([sys.executable, "-c", "print(open('/proc/self/environ').read())"],
                         env=_env(tmp_path, home, hub.url), capture_output=True, text=True, timeout=30)
    assert WRITE_TOKEN in res.stdout


@pytest.mark.parametrize("key,how", [(k, "symlink to /proc/self/environ") for k in TEXT_KEYS] + [
    ("card.extra_file", "/proc/self/environ"),
    ("system_file", "symlink to ~/.cache/huggingface/token"),
    ("license_file", "../ escape"),
])
def test_a_hostile_spec_cannot_put_the_token_anywhere(layout, tmp_path, hub, key, how):
    spec_dir, outside, home = layout
    if how.startswith("symlink to /proc"):
        (spec_dir / "notes.txt").symlink_to("/proc/self/environ")
        value = "notes.txt"
    elif how.startswith("symlink to ~"):
        (spec_dir / "notes.txt").symlink_to(home / ".cache" / "huggingface" / "token")
        value = "notes.txt"
    elif how == "../ escape":
        value = "../outside/secret.txt"
    else:
        value = how
    (spec_dir / "release.toml").write_text(spec_text(key, value), encoding="utf-8")
    res = _release(spec_dir, tmp_path, home, hub.url)
    _assert_token_nowhere(res, tmp_path, home, hub)
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"release.toml: {key}: " in res.stderr and "own folder" in res.stderr
    assert "alice/leak-GGUF" not in hub.repos              # nothing was pushed
    assert not (tmp_path / "dist" / "leak").exists()       # nothing was staged


def test_a_clean_release_pushes_and_sends_the_token_only_as_the_authorization(layout, tmp_path, hub):
    """The same checks see what a push sends: a clean spec reaches the Hub without the token in any
    body, header (but Authorization), path, file, report or output line."""
    spec_dir, _, home = layout
    (spec_dir / "system.txt").write_text("Answer with the number only.\n")
    (spec_dir / "release.toml").write_text(spec_text("system_file", "system.txt"), encoding="utf-8")
    res = _release(spec_dir, tmp_path, home, hub.url)
    assert "push" in res.stdout and "pushed" in res.stdout, res.stdout + res.stderr
    assert hub.file_bytes("alice/leak-GGUF", "system") == b"Answer with the number only.\n"
    assert len(hub.received) > 3
    _assert_token_nowhere(res, tmp_path, home, hub)



@pytest.mark.parametrize("key, toml", [
    ("template.file", '[template]\nfile = "a\\u0000b"\n'),
    ("system_file", 'system_file = "a\\u0000b"\n[template]\nfamily = "gemma3"\n'),
    ("license_file", 'license_file = "a\\u0000b"\n[template]\nfamily = "gemma3"\n'),
])
def test_a_nul_character_in_a_path_is_a_spec_error_naming_the_key(tmp_path, key, toml):
    # found by tests/test_fuzz.py: os.path raised ValueError ("embedded null byte") through load_spec
    from publish.spec import load_spec

    top, _, rest = toml.partition("[template]")
    spec = tmp_path / "release.toml"
    spec.write_text('repo = "a/b-GGUF"\nbase_model = "a/b"\nlicense = "mit"\nquantized_by = "me"\n' + top
                    + "[template]" + rest + '[quants]\nfiles = [{ label = "Q8_0", file = "b-Q8_0.gguf" }]\n')
    with pytest.raises(SpecError, match="NUL character") as info:
        load_spec(spec)
    assert info.value.key == key and info.value.hint
