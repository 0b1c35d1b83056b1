"""publish.records.Record stands in for @dataclass on the inspect and lint paths: every class
that uses it behaves as the @dataclass it replaced (same fields in the same order, defaults,
==, hash, repr, frozen-ness), and `replace`, pickle and copy work on it."""

from __future__ import annotations

import copy
import inspect
import pickle

import pytest

from publish.chat import RenderCall, RenderOutcome
from publish.engines import ALL_ENGINES
from publish.findings import Finding, Severity
from publish.gguf.changes import RemoveKey, SetValue
from publish.gguf.constants import GGUFValueType as V
from publish.gguf.header import KV, GGUFHeader, TensorInfo
from publish.gguf.quantmix import MixVerdict, ModelShape
from publish.gguf.rules import RULES, Expect, Hit, RepoFiles, Rule
from publish.gguf.sniff import NotGGUF
from publish.gguf.split import SplitProblem, SplitSet
from publish.gguf.vocab import Specials
from publish.lint import LintResult
from publish.probes import Probe
from publish.records import Record

# class -> (frozen, the @dataclass's fields with their defaults, in order; a list or dict default
# stands for field(default_factory=list / dict))
DATACLASSES = {
    Finding: (True, dict(code=..., severity=..., message=..., path=..., subject=None, offset=None, fixable=False,
                         hint=None)),
    SetValue: (True, dict(key=..., value=..., type=..., array_type=None, reason="")),
    RemoveKey: (True, dict(key=..., reason="")),
    Hit: (True, dict(message=..., subject=None, offset=None, hint=None, changes=(), severity=None, path=None)),
    Rule: (True, dict(code=..., name=..., severity=..., summary=..., fixable=..., applies_to=..., check=None,
                      engines=ALL_ENGINES, why="", example="", fix="", sources=(),
                      chat_only=False)),
    Expect: (True, dict(types=..., array_items=())),
    RepoFiles: (False, dict(name=..., files=...)),
    ModelShape: (True, dict(gqa_ge_4=None, n_expert=0, is_70b=False, falcon=False, tied=True)),
    MixVerdict: (False, dict(label=..., modelled=..., off=[], upgraded=[], mostly=None, family_missing=False,
                             base=None)),
    SplitProblem: (True, dict(path=..., message=..., offset=None, key=None)),
    SplitSet: (False, dict(name=..., count=..., parts=..., missing=[], misnamed=[])),
    Specials: (True, dict(ids=..., longest_first=...)),
    LintResult: (False, dict(findings=[], files=[])),
    Probe: (True, dict(kind=..., start=None, history=None, error=None)),
    NotGGUF: (True, dict(looks_like=..., hint=...)),
    RenderCall: (True, dict(messages=..., add_generation_prompt=True, tools=None, extra={})),
    RenderOutcome: (True, dict(text=None, error=None)),
}


def build(cls, fields: dict, value=lambda name: f"<{name}>"):
    """An instance with every field without a default set to a distinct value, the others left out."""
    return cls(**{name: value(name) for name, default in fields.items() if default is ...})


@pytest.mark.parametrize("cls", DATACLASSES, ids=lambda c: c.__name__)
def test_each_record_keeps_the_fields_defaults_and_behaviour_of_its_dataclass(cls):
    frozen, fields = DATACLASSES[cls]
    assert issubclass(cls, Record) and cls.frozen is frozen
    assert cls.__slots__ == tuple(fields)
    params = inspect.signature(cls).parameters
    assert list(params) == list(fields)
    assert {n: p.default for n, p in params.items() if p.default is not p.empty} == \
        {n: None if isinstance(d, (list, dict)) else d for n, d in fields.items() if d is not ...}
    a, b = build(cls, fields), build(cls, fields)
    for name, default in fields.items():  # defaults, and a fresh list / dict for each such field
        assert getattr(a, name) == (f"<{name}>" if default is ... else default)
        if isinstance(default, (list, dict)):
            assert getattr(a, name) is not getattr(b, name)
    assert a == b and a is not b and not (a != b)
    assert repr(a) == f"{cls.__qualname__}(" + ", ".join(f"{n}={getattr(a, n)!r}" for n in fields) + ")"
    first = next(iter(fields))
    other = a.replace(**{first: "changed"})
    assert type(other) is cls and getattr(other, first) == "changed" and other != a and getattr(a, first) != "changed"
    with pytest.raises(TypeError):
        a.replace(no_such_field=1)
    if frozen:
        if cls is RenderCall:   # its `extra` is a dict: unhashable, as the frozen dataclass was
            with pytest.raises(TypeError):
                hash(a)
        else:
            assert hash(a) == hash(b)
        with pytest.raises(AttributeError):
            setattr(a, first, "x")
        with pytest.raises(AttributeError):
            a.not_a_field = 1
    else:
        with pytest.raises(TypeError):
            hash(a)
        setattr(a, first, "x")
        assert getattr(a, first) == "x" and a != b
    for twin in (pickle.loads(pickle.dumps(b)), copy.copy(b), copy.deepcopy(b)):
        assert twin == b and type(twin) is cls and repr(twin) == repr(b)


def test_a_rule_compares_without_its_check_function_as_field_compare_false_did():
    rule = RULES["GG101"]
    assert rule.check is not None
    same = rule.replace(check=lambda hdr: ())
    assert same == rule and hash(same) == hash(rule) and "check=" in repr(rule)
    assert rule.replace(why="other") != rule


def test_finding_to_dict_is_every_field_with_the_severity_as_its_string():
    f = Finding("GG101", Severity.ERROR, "m", "a.gguf", subject="k", offset=12)
    assert f.to_dict() == {"code": "GG101", "severity": "error", "message": "m", "path": "a.gguf", "subject": "k",
                           "offset": 12, "fixable": False, "hint": None}


def test_header_records_pickle_whole():
    kv = KV("k", V.UINT32, 1, 0, 12)
    hdr = GGUFHeader("p", 3, 32, 64, 60, 100, {"k": kv}, [])
    t = TensorInfo("w", (32,), 0, 0, 32, 128, 40)
    assert pickle.loads(pickle.dumps(hdr)) == hdr and copy.deepcopy(kv) == kv and pickle.loads(pickle.dumps(t)) == t
