"""Plain value classes for the modules a `publish inspect` process imports.

`dataclasses` imports `inspect` (and with it ast, dis and tokenize): about 15 ms, more than a tenth
of a whole `publish inspect --json` process on a 262,144-token header (bench/bench_cli.py). The
few classes on that path (the header's KV, TensorInfo and GGUFHeader, inspect's summary, a source
and an hf:// address) derive from `Record` instead: each writes its own `__init__` and lists its
fields in `__slots__`; `Record` gives what @dataclass gave them: `==` field by field between
instances of the same class, a repr `Name(field=value, ...)`, and for `frozen` classes no
assignment after `__init__` (AttributeError) and a hash of the fields. Use @dataclass everywhere
else."""

from __future__ import annotations


class Record:
    """Base of a value class whose fields are its `__slots__`, in order (see the module doc)."""

    __slots__ = ()
    frozen = False

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__qualname__}({fields})"

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

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.frozen:
            cls.__hash__ = None  # type: ignore[assignment]  # mutable and compared by value: unhashable, as @dataclass
