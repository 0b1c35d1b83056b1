"""The Go values a template sees, modelled in Python.

Plain Python values stand for Go values: str=string, bool=bool, int=int, float=float64,
list=[]interface{}, dict=map[string]interface{}, None=a nil interface{}, a callable=a func.
MISSING is Go's invalid reflect.Value (what a missing map key becomes; it prints `<no value>`).
GoStruct, GoSlice and GoMap carry a Go type name (for error messages), nil-ness (which JSON shows)
and optional String() methods (which printing uses), as Ollama's typed values do.
"""

from __future__ import annotations


class _Missing:
    __slots__ = ()

    def __repr__(self):
        return "MISSING"

    def __bool__(self):
        return False


MISSING = _Missing()


class GoStruct:
    """A Go struct (or pointer to one, when `pointer`): exported fields in declaration order."""

    __slots__ = ("_values",)
    type_name = "struct {}"
    pointer = False
    fields: tuple[str, ...] = ()
    json: dict[str, tuple[str, bool]] = {}  # field -> (json name, omitempty)
    methods: dict = {}
    any_fields: frozenset = frozenset()  # fields of Go type interface{}

    def __init__(self, **values):
        self._values = {f: values[f] if f in values else self.zero(f) for f in self.fields}

    def zero(self, field: str):
        """The zero value printed for a field that holds none ("", as for Go's string fields)."""
        return ""

    def get(self, name: str):
        """The value of field `name`. Raises KeyError for a field the struct does not have."""
        return self._values[name]

    def has(self, name: str) -> bool:
        """Whether the struct has the field `name`."""
        return name in self._values

    def values(self):
        """The field values in declaration order."""
        return self._values.values()

    def json_fields(self) -> dict[str, tuple[str, bool]]:
        """field -> (JSON name, omitempty), in declaration order (gofmt.json_marshal keeps what it
        needs of it once per class)."""
        return {f: self.json.get(f, (f, False)) for f in self.fields}

    def __repr__(self):
        return f"{self.type_name}{self._values!r}"


class GoSlice(list):
    """A typed Go slice. `nil` distinguishes a nil slice (JSON null) from an empty one."""

    __slots__ = ("type_name", "nil")

    def __init__(self, items=(), type_name: str = "[]interface {}", nil: bool = False):
        super().__init__(items)
        self.type_name = type_name
        self.nil = nil and not self


class GoMap(dict):
    """A typed Go map. `ordered` keeps insertion order in JSON (Ollama's ordered maps)."""

    __slots__ = ("type_name", "nil", "ordered")

    def __init__(self, items=(), type_name: str = "map[string]interface {}", nil: bool = False,
                 ordered: bool = False):
        super().__init__(items)
        self.type_name = type_name
        self.nil = nil and not self
        self.ordered = ordered


class Uint8(int):
    """Go's uint8 (byte): what `index` of a string returns. Behaves as an int everywhere except its
    type name (`printf "%T"` prints uint8) and `%#v` (Go prints unsigned ints as 0x.. there)."""

    __slots__ = ()


def go_type_name(v) -> str:
    """The Go type name `printf "%T"` prints for a value: string, bool, int, uint8, float64,
    complex128, a struct's or slice's/map's type, <nil>."""
    t = type(v)
    if t is str:
        return "string"
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is Uint8:
        return "uint8"
    if t is float:
        return "float64"
    if t is complex:
        return "complex128"
    if v is None or v is MISSING:
        return "<nil>"
    name = getattr(v, "type_name", None)
    if name is not None:
        return ("*" if getattr(v, "pointer", False) else "") + name
    if isinstance(v, list):
        return "[]interface {}"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if callable(v):
        return "func(...interface {}) interface {}"
    return t.__name__


def is_true(v) -> tuple[bool, bool]:
    """Go's template truth: (truth, ok). ok is False for values that have no truth (structs are
    always true)."""
    if v is MISSING or v is None:
        return False, True
    t = type(v)
    if t is bool:
        return v, True
    if t is str:
        return len(v) > 0, True
    if t is int or t is float or t is complex or t is Uint8:
        return v != 0, True
    if isinstance(v, (list, dict)):
        return len(v) > 0, True
    if isinstance(v, GoStruct):
        return True, True
    if callable(v):
        return True, True
    return True, True
