"""The shipped GitHub workflow: real commands and flags, consistent matrix wiring, plan output
that GitHub's matrix syntax accepts."""

from __future__ import annotations

import json
import re
import shlex

import click
import pytest
import yaml
from click.testing import CliRunner

from publish.cli import main
from paths import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "publish-smoke.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def run_scripts(wf: dict):
    for job_name, job in wf["jobs"].items():
        for step in job.get("steps", []):
            if "run" in step:
                yield job_name, step, step["run"]


def publish_commands(script: str) -> list[list[str]]:
    """Every `publish …` invocation in a shell script (continuations joined, $(…) unwrapped)."""
    script = script.replace("\\\n", " ")
    out = []
    for line in script.splitlines():
        for m in re.finditer(r"(?:^|[\s(;&|])publish\s+([^)\n;&|]*)", line):
            out.append(shlex.split("publish " + m.group(1)))
    return out


def test_every_publish_command_uses_real_commands_and_flags(workflow):
    commands = [cmd for _, _, script in run_scripts(workflow) for cmd in publish_commands(script)]
    names = {cmd[1] for cmd in commands}
    assert {"ci-matrix", "smoke"} <= names
    ctx = click.Context(main)
    for cmd in commands:
        command = main.get_command(ctx, cmd[1])
        assert command is not None, f"`publish {cmd[1]}` is not a command"
        options = {opt: p for p in command.params if isinstance(p, click.Option) for opt in p.opts}
        args = cmd[2:]
        i = 0
        while i < len(args):
            arg = args[i]
            if arg.startswith("-"):
                assert arg in options, f"`publish {cmd[1]}` has no option {arg}"
                param = options[arg]
                assert not param.hidden, f"`publish {cmd[1]}` {arg} is an old spelling: use the current one"
                if not param.is_flag:
                    value = args[i + 1]
                    if isinstance(param.type, click.Choice) and not value.startswith("$"):
                        assert value in param.type.choices, f"{arg} {value}: not one of {param.type.choices}"
                    i += 1
            i += 1


def test_ci_matrix_output_feeds_the_smoke_matrix(workflow):
    plan, smoke = workflow["jobs"]["matrix"], workflow["jobs"]["smoke"]
    assert smoke["needs"] == "matrix"
    assert smoke["strategy"]["matrix"] == "${{ fromJSON(needs.matrix.outputs.matrix) }}"
    assert smoke["strategy"]["fail-fast"] is False
    step_id = re.fullmatch(r"\$\{\{ steps\.(\w+)\.outputs\.matrix \}\}", plan["outputs"]["matrix"]).group(1)
    [plan_step] = [s for s in plan["steps"] if s.get("id") == step_id]
    assert 'echo "matrix=$matrix" >> "$GITHUB_OUTPUT"' in plan_step["run"]
    assert any(c[1] == "ci-matrix" for c in publish_commands(plan_step["run"]))

    # every matrix.X the smoke job uses is a key the plan prints
    matrix = json.loads(CliRunner().invoke(main, ["ci-matrix", str(ROOT / "examples/tiny/release.toml")]).stdout)
    keys = set(matrix["include"][0])
    used = set(re.findall(r"(?<![\w.])matrix\.(\w+)", yaml.safe_dump(smoke)))  # not needs.matrix.outputs
    assert used and used <= keys, f"matrix keys used but never planned: {used - keys}"


def test_smoke_job_installs_ollama_runs_sharded_and_uploads_junit(workflow):
    steps = workflow["jobs"]["smoke"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert any("curl -fsSL https://ollama.com/install.sh | sh" in r for r in runs)
    [smoke_step] = [s for s in steps if "publish smoke" in s.get("run", "")]
    [cmd] = publish_commands(smoke_step["run"])
    assert cmd[cmd.index("--shard") + 1] == "$SHARD"
    assert smoke_step["env"]["SHARD"] == "${{ matrix.shard }}"
    junit = cmd[cmd.index("--report-junit") + 1]
    upload = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload and upload[0]["if"] == "always()"
    assert junit.startswith(upload[0]["with"]["path"])
    # install comes before the smoke
    install_at = next(i for i, r in enumerate(runs) if "ollama.com/install.sh" in r)
    assert install_at < steps.index(smoke_step)


def test_workflow_triggers_and_inputs(workflow):
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(on) == {"workflow_dispatch", "workflow_call"}
    for trigger in on.values():
        assert trigger["inputs"]["target"]["required"] is True
    assert "${{ inputs.target }}" in yaml.safe_dump(workflow["jobs"]["matrix"])


def test_ci_matrix_is_one_line_json_that_github_accepts(tmp_path, tiny_llama_path):
    from smoke_folders import make_folder

    folder = make_folder(tmp_path / "f", tiny_llama_path, labels=("Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q8_0"))
    res = CliRunner().invoke(main, ["ci-matrix", str(folder), "--shards", "2"])
    assert res.exit_code == 0
    assert res.stdout.count("\n") == 1  # one line for $GITHUB_OUTPUT
    data = json.loads(res.stdout)
    assert set(data) == {"include"}
    assert all(isinstance(v, (str, int)) for entry in data["include"] for v in entry.values())
    assert [e["shard"] for e in data["include"]] == ["1/2", "2/2"]
    assert [e["quants"] for e in data["include"]] == ["Q2_K,Q4_K_M,Q8_0", "Q3_K_M,Q5_K_M"]
    every = CliRunner().invoke(main, ["ci-matrix", str(folder)])
    assert len(json.loads(every.stdout)["include"]) == 5  # default: one job per quant
