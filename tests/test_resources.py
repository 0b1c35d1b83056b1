"""publish.resources: where the shipped templates are found, and that the wheel carries them.

The repository keeps Modelfile.j2 and templates/ at its top level; setup.py copies them into the
wheel as publish/_data/. These tests build the wheel once per session the way a user's pip does
(sdist first, as `python -m build` and a PyPI install do, then `pip wheel --no-deps` from it, without
build isolation so it runs offline in seconds), install it with `pip install --target` and run
`publish build` from that install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import publish
from paths import ROOT
from publish import resources
from publish.errors import UsageError

# What the code reads from the resource root, each read by the module named: Modelfile.j2
# (publish/modelfile.py render), templates/card/ (publish/build.py's card loader), and
# templates/ollama/families.toml with every .gotmpl it names (publish/families.py).
FAMILIES = ROOT / "templates" / "ollama" / "families.toml"


def files_the_code_reads() -> set[str]:
    """Paths relative to the resource root."""
    table = tomllib.loads(FAMILIES.read_text(encoding="utf-8"))
    out = {"Modelfile.j2", "templates/ollama/families.toml"}
    out |= {f"templates/ollama/{entry['template']}" for entry in table.values()}
    out |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "templates" / "card").iterdir() if p.is_file()}
    return out


def shipped_files() -> set[str]:
    """Every file under the checkout's templates/, plus Modelfile.j2, relative to the root."""
    return {"Modelfile.j2"} | {p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*")
                               if p.is_file() and "__pycache__" not in p.parts}


def _run(cmd: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from this checkout (sdist, then pip wheel from the unpacked sdist), once per
    session. The checkout is copied first so the build writes no build/ or *.egg-info into it."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    skip = {".git", ".venv", "build", "dist", "site", "tests", "examples", "bench", "docs",
            "__pycache__", ".pytest_cache", ".hypothesis", "node_modules"}
    shutil.copytree(ROOT, src, symlinks=True,
                    ignore=lambda _d, names: [n for n in names if n in skip or n.endswith(".egg-info")])
    _run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
                                "print(b.build_sdist(sys.argv[1]))", str(work / "sdist")], cwd=src)
    (sdist,) = (work / "sdist").glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(work / "unpacked", filter="data")
    (unpacked,) = (work / "unpacked").iterdir()
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
          "-w", str(work / "wheel"), str(unpacked)], cwd=work)
    (whl,) = (work / "wheel").glob("*.whl")
    return whl


@pytest.fixture(scope="session")
def target_install(wheel, tmp_path_factory) -> Path:
    """The wheel installed with `pip install --target` (no dependencies: they come from this venv)."""
    target = tmp_path_factory.mktemp("target")
    _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
          str(wheel)], cwd=target)
    return target


def test_wheel_carries_every_template_the_code_reads_inside_the_package(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        packaged = {n.removeprefix("publish/_data/") for n in names if n.startswith("publish/_data/")}
        assert files_the_code_reads() <= packaged, files_the_code_reads() - packaged
        assert packaged == shipped_files()  # nothing left out, nothing stale
        for rel in sorted(packaged):
            assert z.read(f"publish/_data/{rel}") == (ROOT / rel).read_bytes(), rel
        # nothing outside the package: data files under <prefix>/share are what --user/--prefix/
        # --target lost
        assert not [n for n in names if ".data/" in n], [n for n in names if ".data/" in n]
        assert "publish/resources.py" in names


def test_files_the_code_reads_is_not_empty():
    # the families list names real files; a typo would make the wheel test above vacuous
    reads = files_the_code_reads()
    assert {"Modelfile.j2", "templates/card/README.md.j2", "templates/ollama/gemma3.gotmpl"} <= reads
    assert all((ROOT / rel).is_file() for rel in reads), [r for r in reads if not (ROOT / r).is_file()]


def test_installed_wheel_builds_a_release_from_its_package_data(target_install, tmp_path):
    """`pip install --target` (like --user and --prefix) puts nothing under sys.prefix; the wheel's
    publish must still find its templates, and build the same folder as this checkout does."""
    env = {**os.environ, "PYTHONPATH": str(target_install)}  # before the venv's editable finder
    where = _run([sys.executable, "-c", "import publish, publish.resources as r; "
                                        "print(publish.__file__); print(r.resource_root())"],
                 cwd=tmp_path, env=env).stdout.splitlines()
    assert where == [str(target_install / "publish" / "__init__.py"), str(target_install / "publish" / "_data")]
    spec = ROOT / "examples" / "tiny" / "release.toml"
    _run([sys.executable, "-m", "publish", "-q", "build", str(spec), "-o", str(tmp_path / "wheel-out")],
         cwd=tmp_path, env=env)
    _run([sys.executable, "-m", "publish", "-q", "build", str(spec), "-o", str(tmp_path / "checkout-out")],
         cwd=tmp_path)
    rendered = ["template", "params", "system", "README.md", "Modelfile.Q8_0", "Modelfile.F32"]
    for name in rendered:
        assert (tmp_path / "wheel-out" / name).read_bytes() == (tmp_path / "checkout-out" / name).read_bytes(), name
    assert "<start_of_turn>" in (tmp_path / "wheel-out" / "template").read_text()  # gemma3 family


def test_lookup_order_package_data_then_checkout():
    roots = resources.candidate_roots()
    assert roots == [Path(publish.__file__).resolve().parent / "_data", ROOT]


def test_checkout_reads_the_top_level_files():
    # publish/_data exists only inside a built wheel; a copy in the checkout would shadow edits to
    # templates/ (it comes first in the lookup order)
    assert not (ROOT / "publish" / "_data").exists()
    assert resources.resource_root() == ROOT
    assert resources.templates_dir() == ROOT / "templates"
    assert resources.modelfile_template() == ROOT / "Modelfile.j2"


def _root_with(path: Path, *, modelfile=True, templates=True) -> Path:
    path.mkdir(parents=True)
    if modelfile:
        (path / "Modelfile.j2").write_text("FROM {{ from }}\n")
    if templates:
        (path / "templates").mkdir()
    return path


def test_find_root_takes_the_first_complete_candidate(tmp_path):
    packaged = _root_with(tmp_path / "packaged")
    checkout = _root_with(tmp_path / "checkout")
    assert resources.find_root([packaged, checkout]) == packaged
    assert resources.find_root([tmp_path / "absent", checkout]) == checkout
    half = _root_with(tmp_path / "half", templates=False)
    assert resources.find_root([half, checkout]) == checkout
    other_half = _root_with(tmp_path / "other-half", modelfile=False)
    assert resources.find_root([other_half, checkout]) == checkout


def test_find_root_names_every_folder_tried_and_what_to_do(tmp_path):
    a, b = tmp_path / "site-packages" / "publish" / "_data", _root_with(tmp_path / "half", templates=False)
    with pytest.raises(UsageError) as info:
        resources.find_root([a, b])
    text = str(info.value)
    assert str(a) in text and str(b) in text and "Modelfile.j2" in text and "templates/" in text
    assert "reinstall" in info.value.hint
