"""Where things are, for tests in any subfolder of tests/ (which mirror publish/)."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
DATA = TESTS / "data"
