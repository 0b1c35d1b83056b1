"""The one build step pyproject.toml cannot declare: the wheel carries the shipped templates inside
the package.

`Modelfile.j2` and `templates/` live at the top level of the repository (where a maintainer edits
them). A wheel carries copies of them as package data, `publish/_data/Modelfile.j2` and
`publish/_data/templates/...`, so `publish.resources` finds them next to the code under every
install scheme (a venv, `pip install --user`, `--prefix`, `--target`), which data files under
`<prefix>/share` cannot promise. An editable install copies nothing: it reads the checkout's files.
Everything else about the build is declared in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# (source relative to ROOT, destination relative to the package); publish/resources.py reads these
PACKAGE_DATA = (("Modelfile.j2", "_data/Modelfile.j2"), ("templates", "_data/templates"))


def _files(path: Path) -> list[Path]:
    """`path` itself, or the files under it (no hidden files, no __pycache__); [] when absent."""
    if not path.exists():
        return []
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and not any(part.startswith(".") for part in p.relative_to(path).parts))


class BuildPyWithTemplates(build_py):
    """build_py, then copy Modelfile.j2 and templates/ into the built package as publish/_data/."""

    def _template_outputs(self) -> list[tuple[Path, Path]]:
        package = Path(self.build_lib) / "publish"
        out = []
        for source, dest in PACKAGE_DATA:
            for f in _files(ROOT / source):
                out.append((f, package / dest / f.relative_to(ROOT / source)))
        return out

    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads the checkout (publish/resources.py)
            return
        missing = [str(ROOT / source) for source, _ in PACKAGE_DATA if not _files(ROOT / source)]
        if missing:  # e.g. an sdist built without MANIFEST.in
            raise SystemExit(f"setup.py: {', '.join(missing)} missing or empty; the wheel would not work")
        shutil.rmtree(Path(self.build_lib) / "publish" / "_data", ignore_errors=True)  # no stale copies
        pairs = self._template_outputs()
        for src, dst in pairs:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return outputs + [str(dst) for _, dst in self._template_outputs()]


setup(cmdclass={"build_py": BuildPyWithTemplates})
