"""One normaliser for Ollama's `stop` parameter (publish.modelfile.stop_list), used by the staged
folder, the folder rules and both smoke engines."""

from __future__ import annotations

from publish.modelfile import stop_list
from publish.staged import StagedFolder


def test_stop_list_shapes():
    assert stop_list(["<end_of_turn>", 3, "", "<eos>"]) == ["<end_of_turn>", "", "<eos>"]
    assert stop_list("<|im_end|>") == ["<|im_end|>"]
    assert stop_list(None) == [] and stop_list({"a": 1}) == [] and stop_list(7) == []


def test_engines_take_the_list_without_empty_stops_from_the_same_normaliser():
    """An empty stop is kept for lint (which reports it) and dropped for generation: one function,
    not a filter of its own in each smoke engine."""
    assert stop_list(["", "<eot>", 3, ""], drop_empty=True) == ["<eot>"]
    assert stop_list("", drop_empty=True) == [] and stop_list("", drop_empty=False) == [""]


def test_the_staged_folder_uses_it(tmp_path):
    assert StagedFolder(tmp_path, params={"stop": "<eot>"}).stops == ["<eot>"]
    assert StagedFolder(tmp_path, params={"stop": ["a", None, "b"]}).stops == ["a", "b"]
    assert StagedFolder(tmp_path, params={"stop": 5}).stops == []
