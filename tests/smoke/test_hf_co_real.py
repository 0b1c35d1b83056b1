"""The hf.co path end to end: `publish push` to the loopback Hub STAND-IN (tests/standins/hub.py with
its Ollama registry endpoints, tests/standins/hub_registry.py), then `publish smoke hf.co/ORG/NAME
--registry http://127.0.0.1:PORT` drives the REAL Ollama v0.24.0 (the session's `ollama serve`) to
`ollama rm`, pull over plain HTTP from the stand-in's host and run each quant, checked.

The stand-in is never called hf.co: the model names Ollama sees are 127.0.0.1:PORT/ORG/NAME:TAG."""

from __future__ import annotations

import json

import pytest

import ggufs
from click.testing import CliRunner

from standins.hub_registry import NO_MATCH
from smoke_folders import GEMMA_GO_SYSTEM, GOOD_PARAMS, make_folder

from publish.cli import main

VIAS = ["api", "cli"]


def push(folder, repo):
    r = CliRunner().invoke(main, ["push", str(folder), "--repo", repo], catch_exceptions=False)
    assert r.exit_code == 0, r.output


def smoke(hub, target, via="api", *extra):
    r = CliRunner().invoke(main, ["smoke", target, "--backend", "ollama", "--via", via, "--registry", hub.url,
                                  "--json", "--timeout", "120", *extra], catch_exceptions=False)
    return r, (json.loads(r.stdout) if r.stdout.strip().startswith("{") else None)


def checks(data, case=0, quant=0):
    return {c["name"]: c["status"] for c in data["quants"][quant]["cases"][case]["checks"]}


def host(hub):
    return hub.url.removeprefix("http://")


@pytest.mark.parametrize("via", VIAS)
def test_a_pushed_release_pulled_from_the_standin_by_the_real_ollama_passes(via, hub, real_ollama, tmp_path,
                                                                            tiny_llama_path):
    push(make_folder(tmp_path / "good", tiny_llama_path), "alice/tiny-good")
    r, data = smoke(hub, "hf.co/alice/tiny-good", via, "--keep")
    assert r.exit_code == 0, r.output
    assert data["quants"][0]["cases"][0]["answer"].strip() == "2"
    # the real Ollama asked the stand-in's registry for the manifest of that tag, then the blobs.
    # (Ollama v0.24.0 may send the tag as `q8_0`: a pull's name takes the casing of any local model's
    # matching part, server/routes.go getExistingName, e.g. a scratch model tagged q8_0)
    assert ("alice/tiny-good", "q8_0", "tiny-Q8_0.gguf") in [(r, t.lower(), p) for r, t, p in hub.served_manifests]
    assert hub.count("GET", r"(?i)^/v2/alice/tiny-good/manifests/Q8_0$") >= 1
    assert hub.count("GET", r"^/standin-cdn/") >= 1
    # and now holds it under the stand-in's host, never under hf.co
    import ollama

    names = [m.model for m in ollama.Client(real_ollama.url).list().models]
    assert f"{host(hub)}/alice/tiny-good:Q8_0" in names
    assert not any(n.startswith("hf.co/") for n in names)
    shown = ollama.Client(real_ollama.url).show(f"{host(hub)}/alice/tiny-good:Q8_0")
    assert shown.template == GEMMA_GO_SYSTEM   # the repo's `template` file, served as the template layer
    assert shown.parameters.split() == ["repeat_penalty", "1", "stop", '"<end_of_turn>"', "temperature", "1",
                                        "top_k", "64", "top_p", "0.95", "min_p", "0"] or "<end_of_turn>" in shown.parameters
    ollama.Client(real_ollama.url).delete(f"{host(hub)}/alice/tiny-good:Q8_0")


@pytest.mark.parametrize("via", VIAS)
def test_a_release_without_the_stop_runs_away_after_the_pull(via, hub, real_ollama, tmp_path):
    """The tiny model that ends its turns with a token no engine ends on by its text: only the
    release's stop ends it, so a release without it runs away (to its num_predict)."""
    gguf = ggufs.write_tiny_llama(tmp_path / "turn-end.gguf", end_token=ggufs.TURN_END)
    params = {k: v for k, v in GOOD_PARAMS.items() if k != "stop"} | {"num_predict": 8}
    push(make_folder(tmp_path / "runaway", gguf, params=params), "alice/tiny-runaway")
    r, data = smoke(hub, "hf.co/alice/tiny-runaway", via)
    assert r.exit_code == 1, r.output
    case = data["quants"][0]["cases"][0]
    leak = {c["name"]: c for c in case["checks"]}["leak"]
    assert leak["status"] == "fail" and ggufs.TURN_END in leak["message"], leak
    assert case["answer"].startswith(f"2{ggufs.TURN_END}2")


def test_gemma_end_of_turn_ends_an_hf_co_pull_without_the_stop(hub, real_ollama, tmp_path, tiny_llama_path):
    """What the real Ollama v0.24.0 does: <end_of_turn> ends generation by its text (llama.cpp's
    vocab loader), so the Gemma-style release without the stop still answers "2" and stops."""
    params = {k: v for k, v in GOOD_PARAMS.items() if k != "stop"}
    push(make_folder(tmp_path / "gemma-no-stop", tiny_llama_path, params=params), "alice/tiny-gemma-no-stop")
    r, data = smoke(hub, "hf.co/alice/tiny-gemma-no-stop")
    case = data["quants"][0]["cases"][0]
    assert case["answer"] == "2" and case["done_reason"] == "stop", case
    assert checks(data)["leak"] == "pass"


@pytest.mark.parametrize("via", VIAS)
def test_a_release_whose_template_adds_a_second_bos_fails(via, hub, real_ollama, tmp_path, tiny_llama_path):
    push(make_folder(tmp_path / "bos", tiny_llama_path, template="<bos>" + GEMMA_GO_SYSTEM), "alice/tiny-bos")
    r, data = smoke(hub, "hf.co/alice/tiny-bos", via)
    assert r.exit_code == 1, r.output
    assert checks(data)["bos-text"] == "fail"


def test_a_file_whose_label_the_hub_does_not_parse_fails_with_the_hubs_answer(hub, real_ollama, tmp_path,
                                                                               tiny_llama_path):
    """publish reads `Q4_K` from tiny-Q4_K.gguf, the Hub's parseGGUFQuantLabel reads nothing: the
    Hub answers the tag with 400, and the real Ollama reports it as the pull's error."""
    folder = make_folder(tmp_path / "q4k", tiny_llama_path)
    (folder / "tiny-Q8_0.gguf").rename(folder / "tiny-Q4_K.gguf")
    push(folder, "alice/tiny-q4k")
    r, data = smoke(hub, "hf.co/alice/tiny-q4k")
    assert r.exit_code == 1, r.output
    text = json.dumps(data)
    assert "pull model manifest: 400" in text and "not a valid quantization scheme" in text, text


def test_a_tag_no_file_answers_is_refused_before_ollama_is_asked(hub, real_ollama, tmp_path, tiny_llama_path):
    push(make_folder(tmp_path / "good", tiny_llama_path), "alice/tiny-good")
    r, _ = smoke(hub, "hf.co/alice/tiny-good:Q5_K_M")
    assert r.exit_code == 2
    assert "no quant Q5_K_M (found: Q8_0)" in r.output
    assert hub.count("GET", r"^/v2/") == 0


def test_the_hubs_own_answer_to_a_tag_no_file_answers(hub, real_ollama, tmp_path, tiny_llama_path):
    """What `ollama pull` of a missing tag shows the user, from the real Ollama over the stand-in."""
    import ollama

    push(make_folder(tmp_path / "good", tiny_llama_path), "alice/tiny-good")
    with pytest.raises(ollama.ResponseError) as err:
        ollama.Client(real_ollama.url).pull(f"{host(hub)}/alice/tiny-good:Q5_K_M", insecure=True)
    assert err.value.error == f"pull model manifest: 400: {json.dumps({'error': NO_MATCH})}"


def test_the_tag_is_matched_case_insensitively_and_latest_is_the_default(hub, real_ollama, tmp_path,
                                                                         tiny_llama_path):
    import ollama

    push(make_folder(tmp_path / "two", tiny_llama_path, labels=("Q4_K_M", "Q8_0")), "alice/tiny-two")
    client = ollama.Client(real_ollama.url)
    client.pull(f"{host(hub)}/alice/tiny-two:q8_0", insecure=True)
    client.pull(f"{host(hub)}/alice/tiny-two", insecure=True)
    assert hub.served_manifests[-2:] == [("alice/tiny-two", "q8_0", "tiny-Q8_0.gguf"),
                                         ("alice/tiny-two", "latest", "tiny-Q4_K_M.gguf")]


def test_without_a_template_file_the_ollama_utils_pick_is_served_and_its_system_handling_fails(
        hub, real_ollama, tmp_path, tiny_llama_path):
    """No `template` in the repo: the stand-in serves what the real @huggingface/ollama-utils picks
    for the GGUF's chat template (library/gemma2:2b here). That template sends a system message as
    a turn of its own, where the GGUF's Jinja folds it into the first user turn: the smoke's
    system-prompt case must fail on the prompt, the plain one must pass. (--via cli sends one user
    message per `ollama run`, so it cannot show a system-message difference: api only.)"""
    folder = make_folder(tmp_path / "notemplate", tiny_llama_path)
    (folder / "template").unlink()
    push(folder, "alice/tiny-notemplate")
    r, data = smoke(hub, "hf.co/alice/tiny-notemplate")
    picks = [p for repo, _, p in hub.ollama_utils_picks if repo == "alice/tiny-notemplate"]
    assert picks and picks[0]["model"] == "library/gemma2:2b"
    assert r.exit_code == 1, r.output
    cases = {c["prompt"]: c for c in data["quants"][0]["cases"]}
    assert all(c["status"] != "fail" for c in cases["one-plus-one"]["checks"]), cases["one-plus-one"]
    failed = {c["name"]: c["message"] for c in cases["system-prompt"]["checks"] if c["status"] == "fail"}
    assert "render-jinja" in failed, cases["system-prompt"]


def _backend(via: str, url: str):
    if via == "api":
        from publish.smoke.ollama_api import OllamaAPIBackend

        return OllamaAPIBackend(url)
    from publish.smoke.ollama_cli import OllamaCLIBackend

    return OllamaCLIBackend(url)


@pytest.mark.parametrize("via", VIAS)
def test_a_pull_of_a_tag_the_hub_does_not_serve_is_a_load_error(via, hub, real_ollama, tmp_path, tiny_llama_path):
    from publish.smoke.base import LoadError, Target

    push(make_folder(tmp_path / "good", tiny_llama_path), "alice/tiny-good")
    t = Target(label="Q2_K", model=f"{host(hub)}/alice/tiny-good:Q2_K", insecure=True)
    with _backend(via, real_ollama.url) as backend, pytest.raises(LoadError, match="not a valid quantization scheme"):
        backend.prepare(t)



def refusal_after_pull(hub, real_ollama, folder, repo) -> str:
    """Push `folder` to `repo` on the stand-in, pull its Q8_0 into the real Ollama (which must
    succeed), and return the error Ollama answers a generate request with (which must come)."""
    import ollama

    push(folder, repo)
    name = f"{host(hub)}/{repo}:Q8_0"
    client = ollama.Client(real_ollama.url)
    client.pull(name, insecure=True)
    try:
        with pytest.raises(ollama.ResponseError) as refused:
            client.generate(model=name, prompt="1+1=", options={"num_predict": 1})
    finally:
        client.delete(name)
    return refused.value.error


def test_a_string_stop_in_the_repo_params_makes_the_real_ollama_refuse_every_request(hub, real_ollama, tmp_path,
                                                                                      tiny_llama_path):
    """The hf.co bridge itself: the pull succeeds, then api.Options.FromMap refuses each request
    over the repo's `params` file, with the text publish.modelfile.ollama_option_error predicts;
    the smoke fails each case with it, before asking the engine."""
    from publish.modelfile import ollama_option_error

    folder = make_folder(tmp_path / "string-stop", tiny_llama_path, params=GOOD_PARAMS | {"stop": "<end_of_turn>"})
    refused = refusal_after_pull(hub, real_ollama, folder, "alice/tiny-string-stop")
    assert refused == ollama_option_error("stop", "<end_of_turn>") == 'option "stop" must be of type array'
    r, data = smoke(hub, "hf.co/alice/tiny-string-stop")
    assert r.exit_code == 1, r.output
    for case in data["quants"][0]["cases"]:
        (check,) = case["checks"]
        assert check["name"] == "params" and check["status"] == "fail"
        assert 'params stop = "<end_of_turn>": option "stop" must be of type array' in check["message"]


@pytest.mark.parametrize("text, go_error", [
    ('{"temperature": NaN}', "invalid character 'N' looking for beginning of value"),
    ('{"top_k": -Infinity}', "invalid character 'I' in numeric literal"),
    ('{"temperature": 1e400}', "json: cannot unmarshal number 1e400 into Go value of type float64"),
])
def test_params_json_that_python_reads_and_go_does_not_is_refused_and_linted(hub, real_ollama, tmp_path,
                                                                             tiny_llama_path, text, go_error):
    """Python's json takes NaN, Infinity and 1e400 (as inf); Ollama's Go decoder refuses the `params`
    file on every request after a successful pull. Lint reports it as not valid JSON (RP110) at its
    line and column, and the smoke of the folder stops with that message."""
    from publish.folder_rules import check_folder

    folder = make_folder(tmp_path / "nan", tiny_llama_path)
    (folder / "params").write_text(text, encoding="utf-8")
    literal = text.split(": ")[1].rstrip("}")
    repo = "alice/tiny-json-" + "".join(c for c in literal if c.isalnum()).lower()
    assert refusal_after_pull(hub, real_ollama, folder, repo) == go_error
    (rp110,) = [f for f in check_folder(folder, {}) if f.code == "RP110"]
    assert f"at 1:{text.index(literal) + 1}: {literal} is not a number Go's JSON decoder reads" in rp110.message
    r = CliRunner().invoke(main, ["smoke", str(folder), "--backend", "llamacpp"], catch_exceptions=False)
    assert r.exit_code == 2 and literal in r.output, r.output


def test_byte_order_marks_as_the_real_ollama_reads_them(hub, real_ollama, tmp_path, tiny_llama_path):
    """Files saved "UTF-8 with BOM": the real Ollama v0.24.0 keeps the BOM of `template` (every
    prompt starts with U+FEFF: lint's RP107) and refuses `params` with one (the model does not
    load: lint's RP110). What lint says of each folder is checked here too."""
    import ollama

    from publish.lint import lint_paths

    client = ollama.Client(real_ollama.url)
    for name in ("template", "params"):
        folder = make_folder(tmp_path / name, tiny_llama_path)
        (folder / name).write_bytes(b"\xef\xbb\xbf" + (folder / name).read_bytes())
        codes = {f.code for f in lint_paths([str(folder)]).findings}
        assert ("RP107" if name == "template" else "RP110") in codes, codes
        push(folder, f"alice/tiny-bom-{name}")
        r, data = smoke(hub, f"hf.co/alice/tiny-bom-{name}", "api", "--keep")
        assert r.exit_code == 1, r.output
        model = f"{host(hub)}/alice/tiny-bom-{name}:Q8_0"
        if name == "template":
            assert client.show(model).template == "\ufeff" + GEMMA_GO_SYSTEM
            assert checks(data)["render-jinja"] == "fail"   # the prompt differs at its first character
        else:
            assert "invalid character 'ï' looking for beginning of value" in \
                {c["name"]: c["message"] for c in data["quants"][0]["cases"][0]["checks"]}["load"]
        client.delete(model)
