"""Property: every Modelfile we render parses back to exactly the values we rendered, or the
renderer refuses with a ModelfileError for text Ollama's parser cannot carry."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publish.errors import ModelfileError
from publish.modelfile import ModelfileSpec, go_is_print, parse, render

tricky = st.sampled_from(['"', '""', '"""', "'", "\n", "\r\n", "\t", " ", "#", "{{ .Prompt }}",
                          "<end_of_turn>", "é", "日本", "🙂", "\u200b", "\x00", "\\", "PARAMETER"])
text = st.lists(st.one_of(tricky, st.text(max_size=8)), max_size=10).map("".join)

params = st.fixed_dictionaries({}, optional={
    "temperature": st.floats(-1e6, 1e6, allow_nan=False, width=32),
    "top_p": st.floats(0, 1, width=32),
    "top_k": st.integers(-(2**63), 2**63 - 1),
    "num_ctx": st.integers(0, 2**31),
    "seed": st.integers(-(2**31), 2**31),
    "use_mmap": st.booleans(),
    "stop": st.lists(text.filter(bool), min_size=1, max_size=4),
})


def carriable(value: str) -> bool:
    """Exactly what Ollama's parser can carry: printable text (plus tab/CR/LF) in which no line
    before the last ends in `\"\"\"` (trailing blanks aside): there a quoted value would end."""
    if not all(go_is_print(c) or c in "\t\r\n" for c in value):
        return False
    return not any(value[:i].rstrip(" \t\r\n").endswith('"""') for i, c in enumerate(value) if c in "\r\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=st.none() | text, system=st.none() | text, licenses=st.lists(text, max_size=2), params=params)
def test_render_parse_round_trip(template, system, licenses, params):
    spec = ModelfileSpec(from_=("./model-Q4_K_M.gguf",), template=template, system=system,
                         params=params, licenses=tuple(licenses))
    values = [v for v in (template, system, *licenses, *params.get("stop", [])) if v is not None]
    try:
        out = render(spec)
    except ModelfileError:
        assert not all(carriable(v) for v in values)
        return
    assert all(carriable(v) for v in values)
    mf = parse(out)
    assert mf.from_ == ["./model-Q4_K_M.gguf"]
    assert mf.template == template
    assert mf.system == system
    assert mf.licenses == licenses
    assert mf.parameters() == params
