"""The chat-template corpus (tests/data/jinja, manifest SOURCES.toml): big enough, every file
accounted for with its source, the text the published one, and usable in our sandbox."""

from __future__ import annotations

import re

import jinja_corpus
from publish.chat import ChatTemplate, RenderCall, TemplateRaised
from publish.templatecheck import CHECK_DATE, STANDARD_SUITE

ENTRIES = jinja_corpus.load()


def test_at_least_60_distinct_templates_with_sources():
    texts = {e.source for e in ENTRIES}
    assert len(texts) == len(ENTRIES), "two manifest entries hold the same text: merge them (also_in)"
    # distinct beyond whitespace, too: a re-indented copy is not another template
    assert len({re.sub(r"\s+", "", t) for t in texts}) >= 60
    core = [e for e in ENTRIES if e.tier == "core"]
    assert len({e.family for e in core}) >= 15, sorted({e.family for e in core})
    for e in ENTRIES:
        origin = e.origin
        if origin.get("kind") == "existing":
            assert e.header.startswith("{#- source:"), e.name
        else:
            assert origin.get("repo") and origin.get("path") and origin.get("commit"), e.name
            assert re.fullmatch(r"[0-9a-f]{40}", origin["commit"]), e.name
        assert e.model, e.name


def test_manifest_and_folder_agree_and_texts_are_unchanged():
    listed = {e.name for e in ENTRIES}
    on_disk = {p.name for p in jinja_corpus.CORPUS_DIR.glob("*.jinja")}
    assert on_disk == listed, (sorted(on_disk - listed), sorted(listed - on_disk))
    changed = [e.name for e in ENTRIES if e.actual_sha256() != e.sha256]
    assert not changed, f"template text differs from the sha256 recorded at copy time: {changed}"


def test_tokens_the_template_uses_are_recorded():
    """A template that writes bos_token/eos_token needs the model's text for it to render as the
    model expects (unless it sets the variable itself, as Seed-OSS does)."""
    missing = []
    for e in ENTRIES:
        for var, value in (("bos_token", e.bos_token), ("eos_token", e.eos_token)):
            if re.search(rf"\b{var}\b", e.source) and not value and not re.search(rf"set\s+{var}\s*=", e.source):
                missing.append(f"{e.name}: {var}")
    assert not missing, missing


def test_every_template_parses_and_renders_in_the_sandbox_or_is_recorded():
    """Parse every template with publish.chat's sandbox; render the plain conversations of the
    standard suite. A template may refuse a conversation (raise_exception); any other failure, or
    no conversation rendering at all, must be written in the manifest (requires / upstream_bug /
    broken), so the bench and the converter do not count our own sandbox's bugs against a model."""
    problems = []
    for e in ENTRIES:
        try:
            template = ChatTemplate(e.source, name=e.name, bos_token=e.bos_token, eos_token=e.eos_token,
                                    now=CHECK_DATE)
        except Exception as err:  # noqa: BLE001 - every failure is a finding here
            if not e.broken:
                problems.append(f"{e.name}: does not parse: {err}")
            continue
        outcomes = template.render_many([RenderCall(c.messages) for c in STANDARD_SUITE])
        rendered = [o for o in outcomes if o.error is None]
        failed = [o.error for o in outcomes if o.error is not None and not isinstance(o.error, TemplateRaised)]
        if e.broken or e.requires:
            assert not rendered or e.upstream_bug or e.requires, e.name
            continue
        if not rendered:
            problems.append(f"{e.name}: renders none of the standard conversations: "
                            f"{[str(o.error)[:120] for o in outcomes]}")
        elif failed and not e.upstream_bug:
            problems.append(f"{e.name}: fails (not raise_exception) on some conversations: {failed[0]}")
        else:
            assert all(o.text for o in rendered), e.name
    assert not problems, "\n".join(problems)
