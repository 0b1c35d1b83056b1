"""One loader of chat templates (publish.convert.inputs): `publish template` and `publish fix
--chat-template` read a tokenizer_config.json or a Jinja file the same way."""

from __future__ import annotations

import json

import pytest

from publish.convert.inputs import load_chat_template, load_go_template, read_chat_templates
from publish.errors import UsageError
from publish.fixing import chat_template_changes

TOOL_USE = "{% for m in messages %}{{ m['content'] }}{% endfor %}{{ tools | tojson }}"
DEFAULT = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"


def config(tmp_path, chat_template, name="tokenizer_config.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"bos_token": {"content": "<s>"}, "eos_token": "</s>", "chat_template": chat_template}))
    return path


def test_template_and_fix_read_the_same_named_templates(tmp_path):
    path = config(tmp_path, [{"name": "default", "template": DEFAULT}, {"name": "tool_use", "template": TOOL_USE}])
    changes = {c.key: c.value for c in chat_template_changes(path)}
    assert changes == {"tokenizer.chat_template": DEFAULT, "tokenizer.chat_template.tool_use": TOOL_USE}
    tool = load_chat_template(path, "tool_use")
    assert tool.text == TOOL_USE and tool.names == ["default", "tool_use"]
    assert (tool.bos, tool.eos, tool.name) == ("<s>", "</s>", "tokenizer_config.json:chat_template[tool_use]")


def test_json_saved_under_a_template_name_is_read_as_json_by_both(tmp_path):
    """A tokenizer_config.json saved as chat.jinja: `publish template` once took the JSON text for
    the template; now both commands take its chat_template."""
    path = config(tmp_path, DEFAULT, name="chat.jinja")
    assert load_chat_template(path).text == DEFAULT
    assert [c.value for c in chat_template_changes(path)] == [DEFAULT]
    assert read_chat_templates(path).config is not None


def test_a_config_without_a_chat_template_is_refused_by_both(tmp_path):
    path = config(tmp_path, None)
    for load in (load_chat_template, chat_template_changes):
        with pytest.raises(UsageError, match="no chat_template in this JSON file"):
            load(path)


def test_go_templates_come_from_a_file_a_modelfile_or_beside_a_gguf(tmp_path, tiny_llama_path):
    mf = tmp_path / "Modelfile.Q8_0"
    mf.write_text('FROM ./m.gguf\nTEMPLATE """{{ .Prompt }}"""\n')
    assert (load_go_template(mf).text, load_go_template(mf).name) == ("{{ .Prompt }}", "Modelfile.Q8_0:TEMPLATE")
    repo = tmp_path / "repo"
    repo.mkdir()
    gguf = repo / "m-Q8_0.gguf"
    gguf.write_bytes(tiny_llama_path.read_bytes())
    with pytest.raises(UsageError, match="no `template` file beside it"):
        load_go_template(gguf)
    (repo / "template").write_text("{{ .System }}{{ .Prompt }}")
    go = load_go_template(gguf)
    assert go.text == "{{ .System }}{{ .Prompt }}" and go.name == "repo/template (beside m-Q8_0.gguf)"
