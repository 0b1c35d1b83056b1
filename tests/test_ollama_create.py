"""Every Modelfile `publish build` writes goes through the REAL `ollama create -f` (Ollama v0.24.0,
the session's `ollama_server`), and what Ollama then shows (`ollama show --modelfile`,
`--template`, `--parameters`, `--system`, `--license`) agrees with the release spec: the same
stop list, parameter values of the same types, the template byte for byte, the system text and
the license.

Releases: the tiny example (examples/tiny), a spec with an mmproj (the projector is a second FROM,
which is how v0.24.0 itself writes one: server/images.go Model.String), system text with quotes
and newlines, a multi-line template, every parameter type Ollama knows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from gguf import GGMLQuantizationType

import ggufs
from publish.build import build
from publish.modelfile import PARAMETER_TYPES, float32, parse
from publish.smoke.ollama_api import parse_parameters
from publish.spec import load_spec

pytestmark = pytest.mark.real_ollama

ROOT = Path(__file__).resolve().parent.parent

SYSTEM = 'You are "Calc".\nAnswer with the number only.\n  Keep "quotes", \'single\' and a trailing space '
TEMPLATE = '''{{- if .System }}<start_of_turn>user
{{ .System }}

{{ end }}
{{- range $i, $m := .Messages }}
{{- if eq $m.Role "user" }}<start_of_turn>user
{{ $m.Content }}<end_of_turn>
<start_of_turn>model
{{ else if eq $m.Role "assistant" }}{{ $m.Content }}<end_of_turn>
{{ end }}
{{- end }}'''
EVERY_PARAM = {  # one value of every option api.Options / api.Runner has, of its Go type
    "num_ctx": 512, "num_batch": 64, "num_gpu": 0, "main_gpu": 0, "use_mmap": False, "num_thread": 2,
    "num_keep": 4, "seed": -7, "num_predict": 16, "top_k": 40, "top_p": 0.9, "min_p": 0.05,
    "typical_p": 0.7, "repeat_last_n": 32, "temperature": 0.8, "repeat_penalty": 1.1,
    "presence_penalty": 0.25, "frequency_penalty": 0.5, "stop": ["<end_of_turn>", "User:", '"quoted"'],
}


def toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(toml_str(s) for s in v) + "]"
    return repr(v)


def write_projector(path: Path) -> Path:
    """A tiny CLIP projector GGUF: general.type "projector" and a vision tower, which is what
    Ollama's create files as application/vnd.ollama.image.projector (server/create.go ggufLayers)."""
    return ggufs.write_gguf(path, arch="clip", kv={
        "general.type": "projector", "general.name": "tiny-mmproj",
        "clip.has_vision_encoder": True, "clip.vision.block_count": 1, "clip.vision.embedding_length": 32,
        "clip.projector_type": "mlp",
    }, tensors=[("mm.0.weight", (32, 32), GGMLQuantizationType.F32)])


@pytest.fixture(scope="module")
def releases(tmp_path_factory, tiny_llama_path) -> dict[str, Path]:
    """name -> a staged folder built by `publish build` (the real build code)."""
    root = tmp_path_factory.mktemp("create")
    out = {"tiny": build(load_spec(ROOT / "examples/tiny/release.toml"), root / "tiny")}
    ggufs_dir = root / "ggufs"
    ggufs_dir.mkdir()
    shutil.copyfile(tiny_llama_path, ggufs_dir / "tiny-llama-Q8_0.gguf")
    write_projector(ggufs_dir / "mmproj-tiny-llama-F16.gguf")
    params = "\n".join(f"{k} = {toml_value(v)}" for k, v in EVERY_PARAM.items())
    spec = root / "release.toml"
    spec.write_text(f'''repo = "publish-tests/tiny-vision-GGUF"
base_model = "publish-tests/tiny-vision"
license = "apache-2.0"
quantized_by = "publish tests"
system = {toml_str(SYSTEM)}

[template]
text = {toml_str(TEMPLATE)}

[params]
{params}

[quants]
dir = "ggufs"
pattern = "tiny-llama-*.gguf"
mmproj = "mmproj-tiny-llama-F16.gguf"
''', encoding="utf-8")
    out["vision"] = build(load_spec(spec), root / "vision")
    return out


def ollama(server, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, OLLAMA_HOST=server.host, NO_COLOR="1", TERM="dumb")
    proc = subprocess.run([server.binary, *args], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)
    if check:
        assert proc.returncode == 0, f"ollama {' '.join(args)} failed:\n{proc.stderr}"
    return proc


def one_newline_off(text: str) -> str:   # `ollama show --license` prints the value with fmt.Println
    return text[:-1] if text.endswith("\n") else text


def assert_shows_the_spec(server, name: str, spec) -> dict:
    template = ollama(server, "show", name, "--template").stdout   # printed as is (fmt.Print)
    assert template == spec.template.text                      # byte for byte
    system = ollama(server, "show", name, "--system").stdout       # printed as is (fmt.Print)
    assert system == (spec.system or "")
    license_ = one_newline_off(ollama(server, "show", name, "--license").stdout)
    assert license_ == (spec.license_text if spec.license_text is not None else spec.license)
    shown = parse_parameters(ollama(server, "show", name, "--parameters").stdout)
    assert set(shown) == set(spec.params)
    assert shown["stop"] == list(spec.params["stop"])         # the same stops, in order
    for key, want in spec.params.items():
        kind, got = PARAMETER_TYPES[key], shown[key]
        if kind is float:
            assert float32(got) == float32(want), (key, got, want)   # Ollama keeps float32
        elif kind is int:
            assert isinstance(got, int) and got == want, (key, got, want)
        elif kind is bool:
            assert got is want, (key, got, want)
    modelfile = parse(ollama(server, "show", name, "--modelfile").stdout, source="ollama show --modelfile")
    assert modelfile.template == spec.template.text
    assert (modelfile.system or None) == spec.system
    return {"modelfile": modelfile, "parameters": shown}


@pytest.mark.parametrize("release", ["tiny", "vision"])
def test_every_modelfile_publish_build_writes_goes_through_ollama_create(release, releases, real_ollama):
    folder = releases[release]
    spec = load_spec(ROOT / "examples/tiny/release.toml") if release == "tiny" else \
        load_spec(folder.parent / "release.toml")
    modelfiles = sorted(folder.glob("Modelfile.*"))
    assert modelfiles
    for path in modelfiles:
        name = f"publish-create/{release}:{path.suffix[1:].lower()}"
        ollama(real_ollama, "create", name, "-f", str(path))
        try:
            shown = assert_shows_the_spec(real_ollama, name, spec)
            froms = shown["modelfile"].from_
            if release == "vision":
                assert len(froms) == 2, froms          # the GGUF and the projector, as Ollama lists them
            else:
                assert len(froms) == 1, froms
        finally:
            ollama(real_ollama, "rm", name)


def test_the_tiny_release_runs_after_create(releases, real_ollama):
    folder = releases["tiny"]
    name = "publish-create/tiny-run:q8_0"
    ollama(real_ollama, "create", name, "-f", str(folder / "Modelfile.Q8_0"))
    try:
        answer = ollama(real_ollama, "run", "--nowordwrap", name, "What is 1+1?").stdout.strip()
        assert answer == "2"
    finally:
        ollama(real_ollama, "rm", name)
