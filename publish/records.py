"""Plain value classes for the modules a `publish inspect` or `publish lint FILE` process imports.

`dataclasses` imports `inspect` (and with it ast, dis and tokenize): about 15 ms, more than a tenth
of a whole `publish inspect --json` process on a 262,144-token header (bench/bench_cli.py), and each
@dataclass class costs about 1 ms more to define. The classes on those two paths derive from
`Record` instead:

- inspect: the header's KV, TensorInfo and GGUFHeader (publish.gguf.header), inspect's TensorGroup
  and Summary (publish.gguf.summary), Source (publish.sources), HubFileUrl and OllamaHubName
  (publish.addresses);
- lint of a GGUF file, besides those: Finding (publish.findings), SetValue and RemoveKey
  (publish.gguf.changes), Hit, Rule, Expect and RepoFiles (publish.gguf.rules), ModelShape and
  MixVerdict (publish.gguf.quantmix), SplitProblem and SplitSet (publish.gguf.split), Specials
  (publish.gguf.vocab), LintResult (publish.lint), Probe (publish.probes) and, for a file that is
  no GGUF, NotGGUF (publish.gguf.sniff);
- lint's Jinja worker (publish.jinja_worker, whose start lint waits for): RenderCall and
  RenderOutcome (publish.chat). Jinja imports dataclasses there itself (through pprint); what
  these save is the code @dataclass generates for each class.

Each writes its own `__init__` (same parameters, order and defaults as the @dataclass it replaces;
a `default_factory=list` field takes None for "a new empty list"; `self._fill(...)` sets the fields
in slot order) and lists its fields in `__slots__`; `Record` gives what @dataclass gave them: `==` field by field between instances of the
same class (fields named in `uncompared` left out, as `field(compare=False)`), a repr
`Name(field=value, ...)`, for `frozen` classes no assignment after `__init__` (AttributeError) and a
hash of the compared fields, pickling and copying; `replace(**changes)` stands for
`dataclasses.replace`. Use @dataclass everywhere else."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any


class Record:
    """Base of a value class whose fields are its `__slots__`, in order (see the module doc)."""

    __slots__ = ()
    frozen = False
    uncompared: tuple[str, ...] = ()  # fields left out of == and hash (field(compare=False))

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__ if name not in self.uncompared)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__qualname__}({fields})"

    def _fill(self, *values: object) -> None:
        # an __init__'s one line: the fields in __slots__ order (frozen or not)
        for name, value in zip(self.__slots__, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        if self.frozen:
            raise AttributeError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self.frozen:
            raise AttributeError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")
        object.__delattr__(self, name)

    def __hash__(self) -> int:
        return hash(self._values())

    def __reduce__(self) -> tuple:
        # pickle and copy, as a @dataclass: rebuilt field by field, neither through __setattr__ (a
        # frozen record refuses it) nor through __init__ (its own signature)
        return _rebuild, (type(self), tuple(getattr(self, name) for name in self.__slots__))

    def replace(self, **changes: Any) -> Any:
        """A new record of the same class with the fields in `changes` changed, through `__init__`
        (as dataclasses.replace). Raises TypeError for a name that is not a field."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        return type(self)(**fields)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.frozen:
            cls.__hash__ = None  # type: ignore[assignment]  # mutable and compared by value: unhashable, as @dataclass


def _rebuild(cls: type, values: tuple) -> Record:
    record = object.__new__(cls)
    record._fill(*values)
    return record
