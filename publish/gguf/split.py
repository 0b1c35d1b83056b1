"""Split GGUF sets (`name-00001-of-00003.gguf`): find every part, read each header, check they agree.

llama.cpp's gguf-split writes `split.no` (0-based), `split.count` and `split.tensors.count` into
every part; the file names number parts from 1. A set is usable only when every part is there,
each says where it belongs, and the parts hold exactly `split.tensors.count` distinct tensors.
"""

from __future__ import annotations

from publish.errors import GGUFError, PublishError
from publish.gguf.constants import KEY_SPLIT_COUNT, KEY_SPLIT_NO, KEY_SPLIT_TENSORS_COUNT
from publish.gguf.header import GGUFHeader, TensorInfo
from publish.gguf.reader import read_header
from publish.quants import shard_names as part_names  # every part's name, from any part's name
from publish.records import Record

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import BinaryIO, Callable, ContextManager

    Opener = Callable[[str], ContextManager[BinaryIO]]


class SplitProblem(Record):
    """One thing wrong with a split set: the part `path` concerned (it may not exist), a one-line
    `message` (what is wrong and what was expected), the byte `offset` when it is about a header
    field, and `key`, the split.* key it is about (None for a missing part or a tensor in two
    parts): lint's GG303 finding names it as its subject. Frozen."""

    __slots__ = ("path", "message", "offset", "key")
    frozen = True
    path: str        # the part concerned (it may not exist)
    message: str     # one line: what is wrong and what was expected
    offset: int | None
    key: str | None

    def __init__(self, path: str, message: str, offset: int | None = None, key: str | None = None):
        self._fill(path, message, offset, key)


class SplitSetError(PublishError):
    """A split set is incomplete or its parts disagree. `problems` names each bad part."""

    def __init__(self, path: str, problems: list[SplitProblem]):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  {p.path}: {p.message}" for p in problems)
        super().__init__(f"{path}: split set is broken:\n{lines}",
                         hint="re-create the set with llama-gguf-split, or ship one unsplit file")


class SplitSet(Record):
    """The parts of one `NAME-0000i-of-0000N.gguf` set (the one type for split sets: the reader
    builds complete ones, lint also incomplete ones for the GG3xx rules).

    `parts` maps the 1-based part number to its header; `missing` lists expected part paths not
    found; `misnamed` holds headers with split.* keys whose file name is not a part name (each
    None: a new empty list)."""

    __slots__ = ("name", "count", "parts", "missing", "misnamed")
    name: str                       # display name of the set (first part's expected path)
    count: int
    parts: dict[int, GGUFHeader]
    missing: list[str]
    misnamed: list[GGUFHeader]

    def __init__(self, name: str, count: int, parts: dict[int, GGUFHeader], missing: list[str] | None = None,
                 misnamed: list[GGUFHeader] | None = None):
        self._fill(name, count, parts, [] if missing is None else missing, [] if misnamed is None else misnamed)

    @property
    def headers(self) -> list[GGUFHeader]:
        """The headers read, part 1 first (headers[0] holds the model metadata in a complete set)."""
        return [self.parts[i] for i in sorted(self.parts)]

    @property
    def paths(self) -> list[str]:
        """The paths of the parts read, in part order."""
        return [h.path for h in self.headers]

    @property
    def first(self) -> GGUFHeader:
        """The header of the first part read (the one that carries the metadata llama.cpp reads)."""
        return self.headers[0]

    @property
    def tensors(self) -> list[tuple[int, TensorInfo]]:
        """(part index 0-based, tensor) for every tensor in the set."""
        return [(i, t) for i, h in enumerate(self.headers) for t in h.tensors]

    @property
    def n_params(self) -> int:
        """Weights over all parts read."""
        return sum(h.n_params for h in self.headers)

    @property
    def tensor_bytes(self) -> int:
        """Bytes of tensor data over all parts read."""
        return sum(h.tensor_bytes for h in self.headers)


def default_opener(name: str) -> ContextManager[BinaryIO]:
    """Local files only; pass `publish.sources.open_source` to read hf:// parts."""
    return open(name, "rb")


def read_split_set(path: str, *, opener: Opener | None = None) -> SplitSet:
    """Read every part of the split set `path` (any part) and check the set is complete and
    consistent. Raises SplitSetError listing every bad or missing part."""
    opener = opener or default_opener
    names = part_names(str(path))
    if names is None:
        raise SplitSetError(str(path), [SplitProblem(str(path), "expected a file name like NAME-00001-of-00003.gguf")])
    problems: list[SplitProblem] = []
    headers: list[GGUFHeader | None] = []
    for name in names:
        try:
            with opener(name) as fh:
                headers.append(read_header(fh, name=name))
        except FileNotFoundError:
            problems.append(SplitProblem(name, f"missing: expected part {len(headers) + 1} of {len(names)}"))
            headers.append(None)
        except GGUFError as err:
            problems.append(SplitProblem(name, f"unreadable: {err.expected}", err.offset))
            headers.append(None)
        except OSError as err:
            problems.append(SplitProblem(name, f"unreadable: {err.strerror or err}"))
            headers.append(None)
        except PublishError as err:  # a remote part that is not there (HubError) and the like
            problems.append(SplitProblem(name, f"missing or unreadable: {err.message}"))
            headers.append(None)
    problems += check_parts(names, headers)
    if problems:
        raise SplitSetError(str(path), problems)
    return SplitSet(names[0], len(names), {i: h for i, h in enumerate(headers, start=1)})  # type: ignore[misc]


def check_parts(names: list[str], headers: list[GGUFHeader | None]) -> list[SplitProblem]:
    """Problems with the split keys of the parts that could be read."""
    problems: list[SplitProblem] = []
    count = len(names)
    declared_totals: set[int] = set()
    seen: dict[str, str] = {}
    n_tensors = 0
    for i, (name, h) in enumerate(zip(names, headers)):
        if h is None:
            continue
        no_kv = h.kv.get(KEY_SPLIT_NO)
        count_kv = h.kv.get(KEY_SPLIT_COUNT)
        total_kv = h.kv.get(KEY_SPLIT_TENSORS_COUNT)
        if count_kv is None or no_kv is None:
            problems.append(SplitProblem(name, "expected split.no and split.count keys: this file is not part of a split set",
                                         key=KEY_SPLIT_NO if no_kv is None else KEY_SPLIT_COUNT))
        else:
            if count_kv.value != count:
                problems.append(SplitProblem(name, f"split.count is {count_kv.value}, expected {count} (from the file names)",
                                             count_kv.value_offset, KEY_SPLIT_COUNT))
            if no_kv.value != i:
                problems.append(SplitProblem(name, f"split.no is {no_kv.value}, expected {i} (part {i + 1} of {count}, counted from 0)",
                                             no_kv.value_offset, KEY_SPLIT_NO))
        if total_kv is None:
            problems.append(SplitProblem(name, "expected a split.tensors.count key", key=KEY_SPLIT_TENSORS_COUNT))
        elif not isinstance(total_kv.value, int) or isinstance(total_kv.value, bool):
            problems.append(SplitProblem(name, f"expected split.tensors.count to be an integer, found {total_kv.type.name}",
                                         total_kv.value_offset, KEY_SPLIT_TENSORS_COUNT))
        else:
            declared_totals.add(total_kv.value)
        for t in h.tensors:
            if t.name in seen:
                problems.append(SplitProblem(name, f"tensor {t.name!r} is also in {seen[t.name]}", t.info_offset))
            seen.setdefault(t.name, name)
        n_tensors += len(h.tensors)
    if len(declared_totals) > 1:
        problems.append(SplitProblem(names[0], f"parts disagree on split.tensors.count: {sorted(declared_totals)}",
                                     key=KEY_SPLIT_TENSORS_COUNT))
    elif declared_totals and all(h is not None for h in headers):
        (total,) = declared_totals
        if total != n_tensors:
            problems.append(SplitProblem(names[0], f"split.tensors.count is {total}, but the parts hold {n_tensors} tensors",
                                         key=KEY_SPLIT_TENSORS_COUNT))
    return problems
