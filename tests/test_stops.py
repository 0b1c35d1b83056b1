"""One normaliser for Ollama's `stop` parameter (publish.modelfile.stop_list), used by the staged
folder, the folder rules and both smoke engines."""

from __future__ import annotations

from publish.modelfile import stop_list
from publish.staged import StagedFolder


def test_stop_list_shapes():
    assert stop_list(["<end_of_turn>", 3, "", "<eos>"]) == ["<end_of_turn>", "", "<eos>"]
    assert stop_list("<|im_end|>") == ["<|im_end|>"]
    assert stop_list(None) == [] and stop_list({"a": 1}) == [] and stop_list(7) == []


def test_the_staged_folder_uses_it(tmp_path):
    assert StagedFolder(tmp_path, params={"stop": "<eot>"}).stops == ["<eot>"]
    assert StagedFolder(tmp_path, params={"stop": ["a", None, "b"]}).stops == ["a", "b"]
    assert StagedFolder(tmp_path, params={"stop": 5}).stops == []
