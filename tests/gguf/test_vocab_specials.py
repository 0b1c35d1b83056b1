"""publish.gguf.vocab.Specials: the special-token splitter lint uses for GG204 (double BOS).

A vocabulary may hold thousands of special tokens (Gemma 3: 6,414 CONTROL and USER_DEFINED), so
the splitter never compiles an alternation of all of them (`re` took ~200 ms for Gemma 3's); it
must still split every text exactly as that alternation, longest first, does. Also the
StringArray walks that read runs of items (items_at, which `specials` uses; slices)."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from hypothesis import given, settings, strategies as st

from publish.gguf.vocab import Specials

# overlapping texts: a prefix of another, one inside another, a repeated character, one-char tokens
SPECIAL_TEXTS = ["<a>", "<a><b>", "<b>", "<bos>", "<bo", "\n", "\n\n", "<|im_start|>", "<|im", "x", "éé"]


def whole_alternation_split(ids: dict[str, int], text: str, limit: int | None) -> list[int | str]:
    """The splitter as it was: one regex of every special text, longest first."""
    pattern = re.compile("|".join(re.escape(t) for t in sorted(ids, key=len, reverse=True)))
    out: list[int | str] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append(text[pos:m.start()])
        out.append(ids[m.group(0)])
        pos = m.end()
        if limit is not None and len(out) >= limit:
            return out[:limit]
    if pos < len(text):
        out.append(text[pos:])
    return out if limit is None else out[:limit]


def specials_of(texts: list[str]) -> Specials:
    ids = {t: i for i, t in enumerate(texts)}
    return Specials(ids, tuple(sorted(ids, key=len, reverse=True)))


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.sampled_from(SPECIAL_TEXTS), min_size=1, max_size=len(SPECIAL_TEXTS), unique=True),
       pieces=st.lists(st.sampled_from(SPECIAL_TEXTS + ["hello ", "b>", "<", "é", " "]), max_size=25),
       limit=st.none() | st.integers(1, 10))
def test_split_is_what_the_whole_alternation_gives(texts, pieces, limit):
    text = "".join(pieces)
    specials = specials_of(texts)
    assert specials.split(text, limit) == whole_alternation_split(specials.ids, text, limit)


def test_a_vocabulary_of_thousands_of_specials_compiles_only_what_the_text_holds():
    """Gemma 3's shape: <unused0> … <unused6241> besides the turn markers. Splitting a prompt
    compiles one alternation of the special texts the prompt holds, not of 6,000."""
    texts = ["<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>", "\n"] + [f"<unused{i}>" for i in range(6242)]
    specials = specials_of(texts)
    compiled = []
    real = re._compile

    def counting(pattern, flags):
        compiled.append(pattern)
        return real(pattern, flags)

    prompt = "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n<unused7>"
    with mock.patch.object(re, "_compile", counting):
        pieces = specials.split(prompt)
    assert pieces == [2, 3, "user", 5, "hi", 4, 5, 3, "model", 5, 13]
    assert pieces == whole_alternation_split(specials.ids, prompt, None)
    assert max(p.count("|") + 1 for p in compiled if isinstance(p, str)) == 5   # <bos>, the two turn markers, newline, <unused7>


@pytest.fixture(scope="module")
def three_hundred_tokens(tmp_path_factory):
    from gguf import GGUFValueType as V, GGUFWriter

    from publish.gguf.reader import read_header

    path = tmp_path_factory.mktemp("s") / "s.gguf"
    writer = GGUFWriter(path, "llama")
    writer.add_key_value("tokenizer.ggml.tokens", [f"t{i}" * (i % 7) for i in range(300)], V.ARRAY, V.STRING)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    return read_header(path).value("tokenizer.ggml.tokens")


@settings(max_examples=100, deadline=None)
@given(positions=st.lists(st.integers(0, 299), unique=True).map(sorted))
def test_items_at_are_the_items_one_by_one(three_hundred_tokens, positions):
    """StringArray.items_at (what `specials` reads the special tokens' texts with) walks each run
    of consecutive positions once and gives what indexing item by item gives."""
    assert three_hundred_tokens.items_at(positions) == [three_hundred_tokens[i] for i in positions]


@settings(max_examples=100, deadline=None)
@given(start=st.none() | st.integers(-320, 320), stop=st.none() | st.integers(-320, 320),
       step=st.none() | st.integers(-70, 70).filter(bool))
def test_slices_are_the_items_one_by_one(three_hundred_tokens, start, stop, step):
    """A slice of a StringArray, any length (past STRIDE = 64 items too: one walk of the prefixes
    rather than one walk per item), steps and negative bounds, is what indexing item by item
    gives."""
    items = [three_hundred_tokens[i] for i in range(len(three_hundred_tokens))]
    assert three_hundred_tokens[start:stop:step] == items[start:stop:step]
