"""`publish lint` / `publish inspect` of `hf.co/ORG/NAME[:TAG]`: the GGUF(s) the Hub's Ollama bridge
selects for the tag (publish.hub.ollama_tags), read from the loopback Hub STAND-IN
(tests/standins/hub.py), through the real CLI: click's, the quick path's and a `python -m publish`
process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from gguf import GGMLQuantizationType as T

import ggufs
from publish import quickcli
from publish.addresses import OllamaHubName, parse_ollama_hub_name
from publish.cli import main
from publish.errors import UsageError
from publish.hub.ollama_tags import offered_tags, pick_files

REPO = "alice/tiny-GGUF"
TENSORS = [(f"blk.{i}.w", (32, 2), T.Q8_0) for i in range(5)]


def _gguf(folder, name: str, *, split: int = 0) -> list:
    """A small llama GGUF whose general.name is its file name (so output shows which file was read)."""
    ggufs.write_gguf(folder / name, kv={"general.name": name}, tensors=TENSORS, split_max_tensors=split)
    stem = name[: -len(".gguf")]
    return sorted(folder.glob(f"{stem}-0*-of-*.gguf")) if split else [folder / name]


@pytest.fixture
def tiny_repo(hub, tmp_path):
    """alice/tiny-GGUF: Q4_K_M, Q8_0, a projector, a Q2_K split in 3 parts (2 tensors a part), a README."""
    for name, split in (("tiny-Q4_K_M.gguf", 0), ("tiny-Q8_0.gguf", 0), ("mmproj-tiny-Q8_0.gguf", 0),
                        ("tiny-Q2_K.gguf", 2)):
        for path in _gguf(tmp_path, name, split=split):
            hub.put_file(REPO, path.name, path.read_bytes())
    hub.put_file(REPO, "README.md", b"---\nlicense: mit\n---\n")
    hub.reset_counters()
    return hub


def cli(*args: str) -> tuple[str, str, int]:
    r = CliRunner().invoke(main, list(args))
    return r.stdout, r.stderr, r.exit_code


def read_files(hub) -> set[str]:
    return set(hub.bytes_served)


# -- the selection itself, on repo listings (no Hub) -------------------------------------------

LISTING = ["m-Q8_0.gguf", "m-Q4_K_M.gguf", "sub/m-IQ2_M.gguf", "mmproj-m-F16.gguf",
           "m-Q2_K-00001-of-00003.gguf", "m-Q2_K-00002-of-00003.gguf", "notes.gguf"]


def pick(address: str, paths=LISTING):
    return pick_files(parse_ollama_hub_name(address), paths)


@pytest.mark.parametrize("tag, files", [
    ("Q8_0", ("m-Q8_0.gguf",)), ("q8_0", ("m-Q8_0.gguf",)), ("iq2_m", ("sub/m-IQ2_M.gguf",)),
    (None, ("m-Q4_K_M.gguf",)), ("latest", ("m-Q4_K_M.gguf",)),
    ("Q2_K", ("m-Q2_K-00001-of-00003.gguf",)), ("m-Q8_0.gguf", ("m-Q8_0.gguf",)), ("notes.gguf", ("notes.gguf",)),
])
def test_a_tag_selects_the_file_whose_hub_label_it_names(tag, files):
    p = pick(f"hf.co/o/m{'' if tag is None else ':' + tag}")
    assert p.files == files and not p.ambiguous


def test_a_split_set_is_picked_by_its_first_part_and_brings_its_listed_parts():
    p = pick("hf.co/o/m:Q2_K")
    assert p.urls(whole_sets=True) == ["hf://o/m/m-Q2_K-00001-of-00003.gguf", "hf://o/m/m-Q2_K-00002-of-00003.gguf"]
    assert p.urls(whole_sets=False) == ["hf://o/m/m-Q2_K-00001-of-00003.gguf"]


def test_projectors_and_later_split_parts_answer_no_tag():
    with pytest.raises(UsageError) as e:
        pick("hf.co/o/m:F16")
    assert "tags in o/m (any case): IQ2_M, Q2_K, Q4_K_M, Q8_0, notes.gguf" in e.value.hint
    assert "without a tag: Q4_K_M" in e.value.hint
    with pytest.raises(UsageError):
        pick("hf.co/o/m:m-Q2_K-00002-of-00003.gguf")


@pytest.mark.parametrize("listing, picked", [
    (["a-Q8_0.gguf", "a-Q4_K_M.gguf", "a-Q4_0.gguf"], "a-Q4_K_M.gguf"),           # Q4_K_M when present
    (["a-Q8_0.gguf", "a-Q4_K_S.gguf", "a-Q4_0.gguf", "a-Q2_K.gguf"], "a-Q4_0.gguf"),  # else the first Q4*
    (["a-Q8_0.gguf", "b-IQ4_XS.gguf", "a-Q2_K.gguf"], "a-Q2_K.gguf"),               # IQ4 is not Q4*: the first
    (["b.gguf", "a.gguf"], "a.gguf"),                                               # no label at all: the first
    (["mmproj-a-Q4_K_M.gguf", "a-F16.gguf"], "a-F16.gguf"),                         # never a projector
])
def test_without_a_tag_q4_k_m_else_the_first_q4_else_the_first_file(listing, picked):
    """The rule the Hub engineer who built the bridge described in llama.cpp PR #11195."""
    assert pick("hf.co/o/a", listing).files == (picked,)
    assert pick("hf.co/o/a:latest", listing).files == (picked,)


def test_variants_from_public_reports():
    """ollama/ollama#7365 (IQ4_NL refused by the Hub, then fixed), docker/model-runner#439 (Unsloth's
    UD- quants in a folder of split parts), atomantic/PortOS#2910 (a file with no quant label:
    only the tagless name reaches it)."""
    assert pick("hf.co/o/a:iq4_nl", ["a-IQ4_NL.gguf", "a-IQ4_XS.gguf"]).files == ("a-IQ4_NL.gguf",)
    unsloth = ["UD-Q4_K_XL/K-UD-Q4_K_XL-00001-of-00002.gguf", "UD-Q4_K_XL/K-UD-Q4_K_XL-00002-of-00002.gguf",
               "K-Q4_K_M.gguf"]
    p = pick("hf.co/o/k:UD-Q4_K_XL", unsloth)
    assert p.urls(whole_sets=True) == [f"hf://o/k/{u}" for u in unsloth[:2]]
    with pytest.raises(UsageError, match="answers the tag Q4_K_XL"):
        pick("hf.co/o/k:Q4_K_XL", unsloth)          # the label keeps its UD- prefix
    assert pick("hf.co/o/b", ["model/BTL-3-Compact-AVQ2.gguf"]).files == ("model/BTL-3-Compact-AVQ2.gguf",)
    with pytest.raises(UsageError, match="tags in o/b .any case.: BTL-3-Compact-AVQ2.gguf"):
        pick("hf.co/o/b:Q2", ["model/BTL-3-Compact-AVQ2.gguf"])


def test_two_files_with_one_label_both_answer():
    p = pick("hf.co/o/a:q8_0", ["a-Q8_0.gguf", "a-imat-Q8_0.gguf", "a-Q4_K_M.gguf"])
    assert p.ambiguous and p.files == ("a-Q8_0.gguf", "a-imat-Q8_0.gguf")


def test_offered_tags_are_the_labels_then_unlabelled_file_names():
    assert offered_tags(["x-Q2_K.gguf", "x-F16.gguf", "x-Q4_K_M.gguf", "x.gguf"]) == ["F16", "Q2_K", "Q4_K_M", "x.gguf"]


@pytest.mark.parametrize("address, repo, tag", [
    ("hf.co/o/m", "o/m", None), ("hf.co/o/m:Q8_0", "o/m", "Q8_0"), ("https://hf.co/o/m:q8_0", "o/m", "q8_0"),
    ("https://huggingface.co/o/m-GGUF:IQ3_M", "o/m-GGUF", "IQ3_M"), ("huggingface.co/o/m/", "o/m", None),
    ("hf.co/o/m:m-Q8_0.gguf", "o/m", "m-Q8_0.gguf"),
])
def test_ollama_hub_names_parse(address, repo, tag):
    assert parse_ollama_hub_name(address) == OllamaHubName(repo, tag)


@pytest.mark.parametrize("address", ["hf.co/o", "hf.co/o/m/x", "hf.co/o/m:", "hf.co/o/m:-x", "hf.co/o/m:a b",
                                     "hf.co/o/m:" + "x" * 81, "o/m:Q8_0"])
def test_malformed_ollama_hub_names_are_usage_errors(address):
    with pytest.raises(UsageError):
        parse_ollama_hub_name(address)


# -- through the CLI, against the stand-in -------------------------------------------------------

def test_lint_of_a_tag_reads_that_file_only_and_says_what_lint_of_its_url_says(tiny_repo):
    out, err, code = cli("lint", f"hf.co/{REPO}:Q8_0")
    assert read_files(tiny_repo) == {"tiny-Q8_0.gguf"}
    assert (out, code) == cli("lint", f"hf://{REPO}/tiny-Q8_0.gguf")[::2]
    assert "Traceback" not in out + err


@pytest.mark.parametrize("address", [f"hf.co/{REPO}:q8_0", f"https://hf.co/{REPO}:Q8_0",
                                     f"https://huggingface.co/{REPO}:Q8_0", f"hf.co/{REPO}:tiny-Q8_0.gguf"])
def test_every_spelling_of_the_tag_reads_the_same_file(tiny_repo, address):
    out, _, code = cli("inspect", address)
    assert code == 0 and out.startswith(f"hf://{REPO}/tiny-Q8_0.gguf  (GGUF v3"), out
    assert "name            tiny-Q8_0.gguf" in out
    assert read_files(tiny_repo) == {"tiny-Q8_0.gguf"}


def test_no_tag_reads_q4_k_m(tiny_repo):
    out, _, code = cli("inspect", f"hf.co/{REPO}")
    assert code == 0 and "name            tiny-Q4_K_M.gguf" in out
    lint_out, _, _ = cli("lint", f"https://hf.co/{REPO}")
    assert lint_out == cli("lint", f"hf://{REPO}/tiny-Q4_K_M.gguf")[0]


def test_an_unknown_tag_is_a_usage_error_listing_the_tags(tiny_repo):
    for command in ("lint", "inspect"):
        out, err, code = cli(command, f"hf.co/{REPO}:Q5_K_M")
        assert code == 2 and out == "", (command, out, err)
        assert f"error: hf.co/{REPO}:Q5_K_M: no GGUF in {REPO} answers the tag Q5_K_M" in err
        assert "tags in alice/tiny-GGUF (any case): Q2_K, Q4_K_M, Q8_0; without a tag: Q4_K_M" in err
        assert "Traceback" not in err
    assert read_files(tiny_repo) == set()


def test_a_split_tag_lints_the_whole_set_and_inspects_its_first_part(tiny_repo):
    out, err, code = cli("lint", f"hf.co/{REPO}:Q2_K")
    assert "GG301" in out, out + err              # the split-set warning: the bridge refuses split GGUFs
    parts = [f"tiny-Q2_K-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    assert read_files(tiny_repo) == set(parts)
    assert (out, code) == cli("lint", *(f"hf://{REPO}/{p}" for p in parts))[::2]
    out, _, code = cli("inspect", f"hf.co/{REPO}:q2_k")
    assert code == 0 and out.startswith(f"hf://{REPO}/tiny-Q2_K-00001-of-00003.gguf ")
    assert "part 1 of 3" in out and "split set       3 parts" in out, out


@pytest.fixture
def twin_repo(hub, tmp_path):
    for name in ("twin-Q8_0.gguf", "twin-imat-Q8_0.gguf"):
        hub.put_file("alice/twin", name, _gguf(tmp_path, name)[0].read_bytes())
    hub.reset_counters()
    return hub


def test_two_files_answering_the_tag_are_gg802_for_lint_and_refused_by_inspect(twin_repo):
    out, err, code = cli("lint", "hf.co/alice/twin:Q8_0")
    assert code == 1 and "GG802" in out
    assert "twin-Q8_0.gguf and twin-imat-Q8_0.gguf both answer hf.co/ORG/REPO:Q8_0" in out
    out, err, code = cli("inspect", "hf.co/alice/twin")
    assert code == 2 and out == "" and "Traceback" not in err
    assert ("twin-Q8_0.gguf and twin-imat-Q8_0.gguf both answer hf.co/alice/twin:Q8_0: the Hub picks one of "
            "them by file name") in err
    assert "hf://alice/twin/twin-Q8_0.gguf hf://alice/twin/twin-imat-Q8_0.gguf" in err


@pytest.mark.parametrize("address, message", [
    ("hf.co/alice/missing:Q8_0", "repo alice/missing not found"),
    ("hf.co/carol/gated", "gated repo"),
    ("hf.co/alice/no-ggufs", "hf.co/alice/no-ggufs: no .gguf files in this repo"),
    ("hf.co/alice", "hf.co/alice: expected hf.co/ORG/NAME[:TAG]"),
    ("hf.co/alice/x:Q8_0:", "not an Ollama tag"),
])
def test_what_the_hub_refuses_is_a_usage_error_naming_it(hub, address, message):
    hub.create_repo("carol/gated", gated=True)
    hub.put_file("alice/no-ggufs", "README.md", b"hi")
    for command in ("lint", "inspect"):
        out, err, code = cli(command, address)
        assert code == 2 and out == "" and message in err and "Traceback" not in err, (command, err)


def test_a_local_path_of_the_same_spelling_wins(tiny_repo, tmp_path, monkeypatch, tiny_llama_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hf.co" / "alice").mkdir(parents=True)
    (tmp_path / "hf.co" / "alice" / "x.gguf").write_bytes(tiny_llama_path.read_bytes())
    out, _, code = cli("inspect", "hf.co/alice/x.gguf")
    assert code == 0 and out.startswith("hf.co/alice/x.gguf  (GGUF v3") and read_files(tiny_repo) == set()


@pytest.mark.parametrize("args", [
    ["lint", f"hf.co/{REPO}:Q8_0"], ["lint", "--format", "json", f"hf.co/{REPO}"], ["lint", f"hf.co/{REPO}:Q2_K"],
    ["lint", f"hf.co/{REPO}:nope"], ["inspect", f"https://huggingface.co/{REPO}:q8_0"],
    ["inspect", "--json", f"hf.co/{REPO}"], ["inspect", f"hf.co/{REPO}:nope"], ["lint", "hf.co/alice"],
], ids=" ".join)
def test_the_quick_path_prints_what_click_prints(tiny_repo, args, capsys):
    assert quickcli.parse(args) is not None
    code = quickcli.run(args)
    quick = capsys.readouterr()
    assert (quick.out, quick.err, code) == cli(*args)


def _process(args: list[str], token: str, endpoint: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_TOKEN": token, "HF_ENDPOINT": endpoint, "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    return subprocess.run([sys.executable, "-m", "publish", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_a_token_never_appears_in_the_output(tiny_repo, tmp_path):
    """A token the Hub refuses (a fake one) and one it accepts, in a whole `python -m publish` process."""
    from standins.hub import READ_TOKEN

    fake = "hf_fakeTOKEN0123456789abcdefABCDEF"
    for args, code in ((["lint", f"hf.co/{REPO}:Q8_0"], 1), (["inspect", f"hf.co/{REPO}"], 0),
                       (["lint", f"hf.co/{REPO}:nope"], 2)):
        refused = _process(args, fake, tiny_repo.url)
        assert refused.returncode == 2, refused.stderr
        assert "Traceback" not in refused.stderr and fake not in refused.stdout + refused.stderr
        assert "token" in refused.stderr.lower() or "credentials" in refused.stderr.lower(), refused.stderr
        accepted = _process(args, READ_TOKEN, tiny_repo.url)
        assert accepted.returncode == code, accepted.stderr
        assert ("tiny-Q" in accepted.stdout) == (code != 2)
        assert READ_TOKEN not in accepted.stdout + accepted.stderr


def test_a_private_repo_is_read_with_the_token(hub, tmp_path):
    hub.create_repo("alice/private-GGUF", private=True)
    hub.put_file("alice/private-GGUF", "p-Q4_K_M.gguf", _gguf(tmp_path, "p-Q4_K_M.gguf")[0].read_bytes())
    out, err, code = cli("inspect", "hf.co/alice/private-GGUF")
    assert code == 0 and "name            p-Q4_K_M.gguf" in out, err


@pytest.mark.parametrize("address", [f"https://hf.co/{REPO}:q8_0", f"https://huggingface.co/{REPO}:Q8_0",
                                     f"hf.co/{REPO}:Q8_0"])
def test_smoke_plans_the_tag_of_every_spelling(tiny_repo, address):
    """The smoke's hf.co planning reads the tag through the same parser (an https:// name with a
    tag used to give the tag "//hf.co/…")."""
    from publish.smoke.runner import SmokeOptions
    from publish.smoke.targets import plan_hub

    planned = plan_hub(address, SmokeOptions(registry="http://127.0.0.1:1"))
    assert [t.label for t in planned.targets] == ["Q8_0"]


# -- the label a tag is matched against: our port against the real huggingface.js -----------------

def _label_corpus() -> list[str]:
    from publish.quants import _HUB_TYPES

    types = [*_HUB_TYPES, "Q4_1_SOME_F16", "Q4_2", "Q4_3", "Q2_0", "Q4_K", "Q8", "FP16", "Q3_K", "IQ4_NL_XL"]
    names = []
    for t in types:
        for variant in (t, t.lower(), f"UD-{t}", f"{t}_XL", f"{t}_XXL", f"{t}-imat", f"imat-{t}"):
            names += [f"Model-7B-{variant}.gguf", f"model.{variant}.gguf", f"m_{variant}-00001-of-00003.gguf",
                      f"{variant}/m-{variant}.gguf"]
    return names + ["x.q8_0.imatrix.gguf", "Model-55IQ2_XXS-34Q2_K-07Q8_0-03F16.gguf", "imatrix.gguf",
                    "Mistral-NEO-D_AU-IQ3_S-imat.gguf", "BTL-3-Compact-AVQ2.gguf", "mmproj-m-F16.gguf",
                    "m-Q4_K_M-Q8_0.gguf", "q4_k_m.gguf", "m-q5_k_m_imatrix.gguf"]


def test_hub_tag_label_is_huggingface_js_parse_gguf_quant_label():
    """The tag label of every name is what @huggingface/tasks (pinned in tests/ollama_utils_js)
    parseGGUFQuantLabel returns, upper-cased, for the file's name."""
    from ollama_utils_ref import quant_labels
    from publish.quants import hub_tag_label

    names = _label_corpus()
    real = quant_labels([n.rsplit("/", 1)[-1] for n in names])
    ours = [hub_tag_label(n) for n in names]
    assert [(n, o) for n, o, r in zip(names, ours, real) if o != r] == []


@pytest.fixture
def gap_repo(hub, tmp_path):
    """alice/gap: a Q2_K split in 3 parts of which only the first was uploaded."""
    for path in _gguf(tmp_path, "gap-Q2_K.gguf", split=2):
        if "-00001-of-" in path.name:
            hub.put_file("alice/gap", path.name, path.read_bytes())
    hub.reset_counters()
    return hub


@pytest.mark.parametrize("address", ["hf.co/alice/gap:Q2_K", "hf://alice/gap"])
def test_a_split_part_the_repo_lacks_is_gg302_from_a_listing(gap_repo, address):
    """A listing of the repo (an hf.co name, an hf:// repo URL) is what the Hub holds: a part it
    lacks is missing (GG302), as a part missing from a local folder is. A lone part's URL names no
    listing, so it is not judged on its siblings."""
    out, err, code = cli("lint", address)
    assert code == 1 and "GG302" in out, out + err
    assert "gap-Q2_K-00002-of-00003.gguf" in out and "gap-Q2_K-00003-of-00003.gguf" in out, out
    out, err, code = cli("lint", "hf://alice/gap/gap-Q2_K-00001-of-00003.gguf")
    assert "GG302" not in out, out + err
