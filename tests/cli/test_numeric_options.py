"""Numeric options of `smoke`, `release` and `ci-matrix` are checked by click before anything
runs: a timeout of 0 or -5 s (every engine call would "time out" at once), a seed Ollama takes as
"random" (-1) or one that does not fit its uint32, a shard count of 0 are usage errors, exit 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from publish.cli import main
from publish.errors import UsageError
from publish.smoke.runner import SmokeOptions


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "-inf", "soon"])
def test_smoke_timeout_must_be_a_positive_finite_number(value, tmp_path):
    res = run("smoke", str(tmp_path), "--timeout", value)
    assert res.exit_code == 2, res.output
    assert "--timeout" in res.output and "no end of generation" not in res.output


@pytest.mark.parametrize("value", ["0", "-5", "nan"])
def test_release_timeout_must_be_a_positive_finite_number(value, tmp_path):
    spec = tmp_path / "release.toml"
    spec.write_text('repo = "alice/x"\n')
    res = run("release", str(spec), "--timeout", value)
    assert res.exit_code == 2, res.output
    assert "--timeout" in res.output


@pytest.mark.parametrize("value", ["-1", "-7", str(2**32)])
def test_smoke_seed_outside_uint32_is_refused(value, tmp_path):
    res = run("smoke", str(tmp_path), "--seed", value)
    assert res.exit_code == 2, res.output
    assert "--seed" in res.output


def test_smoke_small_positive_timeout_and_seed_bounds_pass_validation(tmp_path):
    # an empty folder: the run gets past option parsing and fails on the folder itself
    res = run("smoke", str(tmp_path / "missing"), "--timeout", "0.5", "--seed", str(2**32 - 1))
    assert res.exit_code == 2 and "no such folder" in res.output, res.output


def test_ci_matrix_shards_must_be_at_least_one(tmp_path):
    res = run("ci-matrix", str(tmp_path), "--shards", "0")
    assert res.exit_code == 2 and "--shards" in res.output, res.output


@pytest.mark.parametrize("kwargs", [{"timeout": 0}, {"timeout": -5.0}, {"timeout": float("nan")},
                                    {"num_predict": 0}, {"num_predict": -1}, {"seed": -1}, {"seed": 2**32}])
def test_smoke_options_refuse_the_same_values_for_library_users(kwargs):
    with pytest.raises(UsageError, match=next(iter(kwargs))):
        SmokeOptions(**kwargs)
