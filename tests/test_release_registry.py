"""Where the hf.co smoke pulls from, and what an unreachable registry is.

`publish release --push` pushes to $HF_ENDPOINT (here the loopback Hub stand-in) and its hf.co
smoke must pull from the same place, not from https://hf.co; `--registry URL` (as on `publish
smoke`) overrides it. A registry the REAL Ollama v0.24.0 cannot reach (refused, DNS) is a setup
error, exit 2, naming the registry and what to do, never a quant's load failure (exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import free_port
from smoke_folders import make_folder

from publish.cli import main

TINY = Path(__file__).resolve().parent.parent / "examples" / "tiny" / "release.toml"


def release(tmp_path, repo, *args):
    return CliRunner().invoke(main, ["release", str(TINY), "-o", str(tmp_path / "out"), "--push", "--repo", repo,
                                     "--timeout", "120", *args], catch_exceptions=False)


def stage_line(output: str, stage: str) -> str:
    return next(line for line in output.splitlines() if line.strip().startswith(stage + " "))


@pytest.mark.real_ollama
def test_release_push_smokes_hf_co_from_the_hub_it_pushed_to(hub, real_ollama, tmp_path):
    res = release(tmp_path, "alice/tiny-rel")
    assert res.exit_code == 0, res.output
    assert "passed" in stage_line(res.output, "smoke hf.co"), res.output
    # the real Ollama pulled the manifest from the stand-in (HF_ENDPOINT), not from hf.co
    assert hub.count("GET", r"(?i)^/v2/alice/tiny-rel/manifests/") >= 1


@pytest.mark.real_ollama
def test_release_with_an_unreachable_registry_is_a_setup_error(hub, real_ollama, tmp_path):
    dead = f"127.0.0.1:{free_port()}"   # nothing listens there
    res = release(tmp_path, "alice/tiny-dead", "--registry", f"http://{dead}")
    assert res.exit_code == 2, res.output
    line = stage_line(res.output, "smoke hf.co")
    assert "FAIL" in line.upper() and f"cannot reach the registry {dead}" in res.output, res.output
    assert "--registry" in res.output and "load failure" not in res.output


@pytest.mark.real_ollama
@pytest.mark.parametrize("via", ["api", "cli"])
def test_smoke_with_an_unreachable_registry_is_a_setup_error(via, hub, real_ollama, tmp_path, tiny_llama_path):
    r = CliRunner().invoke(main, ["push", str(make_folder(tmp_path / "good", tiny_llama_path)), "--repo",
                                  "alice/tiny-reg"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    dead = f"127.0.0.1:{free_port()}"
    res = CliRunner().invoke(main, ["smoke", "hf.co/alice/tiny-reg", "--via", via, "--registry", f"http://{dead}",
                                    "--timeout", "120"], catch_exceptions=False)
    assert res.exit_code == 2, res.output
    assert f"cannot reach the registry {dead}" in res.output and "--registry" in res.output, res.output


@pytest.mark.parametrize("error", [
    # the tester's: a machine without DNS for hf.co (Go's net.DNSError through Ollama's pull)
    'pull model manifest: Get "https://hf.co/v2/org/x/manifests/Q8_0": dial tcp: lookup hf.co on '
    '127.0.0.53:53: no such host',
    "Error: pull model manifest: Get \"https://hf.co/v2/org/x/manifests/Q8_0\": dial tcp: lookup hf.co: "
    "Temporary failure in name resolution: server misbehaving",
    'Get "https://hf.co/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
])
def test_network_failures_of_a_pull_name_the_registry(error):
    from publish.smoke.targets import registry_unreachable

    err = registry_unreachable("hf.co/org/x:Q8_0", error)
    assert err is not None and err.exit_code == 2 and "registry hf.co" in err.message and "--registry" in err.hint


@pytest.mark.parametrize("error", ["pull model manifest: file does not exist",
                                   "The specified tag is not available in the repository. Please use another tag"])
def test_the_registrys_own_refusals_stay_load_failures(error):
    from publish.smoke.targets import registry_unreachable

    assert registry_unreachable("hf.co/org/x:Q8_0", error) is None
