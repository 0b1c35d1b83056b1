"""Where a GGUF header ends, guessed from its first bytes: the range planner of remote reads.

`HeaderExtent` walks the GGUF layout (GGUF v2/v3: magic, version, tensor count, key/value count,
the key/values, the tensor infos; llama.cpp ggml/src/gguf.cpp) over the bytes fetched so far,
keeping its place between calls, and decodes nothing but the lengths and counts it must step over.
Where the bytes run out it estimates how many more the header needs, from what it has seen:

- the rest of the array it stopped in: the items left times the mean item size of the later half
  of the items walked (vocabularies sort short tokens first, so a recent mean is the better guess;
  half rather than the last few thousand, which local bumps skew);
- the arrays llama.cpp's converters write after `tokenizer.ggml.tokens` (N items) and not yet
  seen: `tokenizer.ggml.token_type` (N int32, every tokenizer), `tokenizer.ggml.scores` (N float32,
  SCORES_MODELS) and `tokenizer.ggml.merges` (MERGES_MODELS; about N items, each one token's
  length + 1: a merge "a b" spells its result token plus a space; its count is known only when
  its own header is read, so a range planned on this guess is never the last one);
- 48 bytes per other key/value left and 56 bytes per tensor info (a name of ~30 characters).

Only the planner reads these guesses: they decide how large the next HTTP range is, never what
the header holds (publish.gguf.reader parses and checks it). A wrong guess costs one more range
request, nothing else; a file that is not a GGUF, or is corrupt, simply stops the guessing.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Generator

from publish.gguf.constants import GGUFValueType
from publish.gguf.reader import VALUE_SIZES

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_MAGIC = b"GGUF"
# GGUF value types: the fixed sizes the reader uses, keyed by plain int, and the two variable-length ones.
_FIXED = {int(t): size for t, size in VALUE_SIZES.items()}
_STRING, _ARRAY = int(GGUFValueType.STRING), int(GGUFValueType.ARRAY)
_MAX_DEPTH = 4

KV_GUESS = 48            # bytes per key/value not seen yet (a ~30-character key and a number)
TENSOR_GUESS = 56        # bytes per tensor info not seen yet, until some have been
RECENT_ITEMS = 16_384    # the mean item size of a string array is taken over the later half of the
                         # items walked, and at least this many latest items
STRIDE = 4096            # items walked between two checkpoints of a string array
MAX_ITEM = 1 << 30       # a string item longer than this stops the estimate (corrupt or hostile)
DRIFT = 0.08             # the rest of a string array may be this much longer than its recent mean says
KV_MARGIN = 64 * 1024    # the keys left may hold this much more than KV_GUESS each (a long chat template)
# Tokenizer models (tokenizer.ggml.model) whose files carry tokenizer.ggml.scores: SentencePiece
# ("llama"), Unigram ("t5") and Gemma 4; and those llama.cpp loads merges for (BPE; src/llama-vocab.cpp,
# llama.cpp as vendored by llama-cpp-python 0.3.36).
SCORES_MODELS = ("llama", "t5", "gemma4")
MERGES_MODELS = ("gpt2", "gemma4", "hybriddna", "whitespace")


@dataclass(frozen=True)
class Extent:
    """The header's end (bytes from the file start) as far as the bytes seen tell.

    `done`: `end` is exact (the last tensor info ends there). Otherwise `end` is an estimate,
    `margin` how far (bytes) it may fall short of the truth, and `counted` whether every array
    still ahead has a known item count (False while the merges are only predicted). `known` False:
    the walk stopped (not a GGUF, an unsupported version or a corrupt count), nothing estimated."""
    end: int
    done: bool = False
    margin: int = 0
    counted: bool = True
    known: bool = True


class HeaderExtent:
    """Walk a GGUF header incrementally: `feed(prefix)` with the bytes [0, len(prefix)) fetched so
    far (the same growing buffer each time) returns an `Extent`."""

    def __init__(self) -> None:
        self._buf: bytes | bytearray | memoryview = b""
        self.pos = 0
        self._stuck = 0                 # bytes needed at pos that were not there
        self._walk = self._walk_header()
        self._result: Extent | None = None
        self.n_kv = self.n_tensors = 0
        self.kv_done = self.tensors_done = 0
        self.tensor_bytes = 0           # bytes of the tensor infos walked
        self.tokenizer_model: str | None = None
        self.n_vocab: int | None = None
        self.seen_keys: set[str] = set()
        # the string array being walked: (its key, items, items done, [(items done, pos) checkpoints])
        self._array: tuple[str, int, int, list[tuple[int, int]]] | None = None
        self.vocab_item = 0.0           # mean bytes per item of tokenizer.ggml.tokens, once walked

    def feed(self, prefix) -> Extent:
        """Walk on with the bytes [0, len(prefix)) (the same growing buffer each call) and return
        the Extent: exact once the last tensor info is walked (then every later call returns it),
        else an estimate of where the header ends."""
        if self._result is not None:
            return self._result
        self._buf = prefix
        try:
            next(self._walk)
        except StopIteration:
            pass
        return self._result if self._result is not None else self._estimate()

    # -- the walk (a generator: it yields when it needs bytes that are not there yet) -----------------

    def _need(self, n: int) -> Generator[None, None, None]:
        while self.pos + n > len(self._buf):
            self._stuck = n
            yield
        self._stuck = 0

    def _u32(self) -> Generator[None, None, int]:
        yield from self._need(4)
        value = _U32.unpack_from(self._buf, self.pos)[0]
        self.pos += 4
        return value

    def _u64(self) -> Generator[None, None, int]:
        yield from self._need(8)
        value = _U64.unpack_from(self._buf, self.pos)[0]
        self.pos += 8
        return value

    def _string(self, keep: bool = False) -> Generator[None, None, str | None]:
        n = yield from self._u64()
        if n > 1 << 30:
            return self._stop()
        yield from self._need(n)
        text = bytes(self._buf[self.pos:self.pos + n]).decode("utf-8", "replace") if keep else None
        self.pos += n
        return text

    def _stop(self) -> None:
        self._result = Extent(self.pos, known=False)
        return None

    def _walk_header(self) -> Generator[None, None, None]:
        yield from self._need(24)
        if bytes(self._buf[:4]) != _MAGIC or _U32.unpack_from(self._buf, 4)[0] not in (2, 3):
            self._stop()
            return
        self.pos = 8
        self.n_tensors = yield from self._u64()
        self.n_kv = yield from self._u64()
        if self.n_tensors > 1 << 22 or self.n_kv > 1 << 20:
            self._stop()
            return
        for self.kv_done in range(self.n_kv):
            key = yield from self._string(keep=True)
            if key is None:
                return
            self.seen_keys.add(key)
            vtype = yield from self._u32()
            if not (yield from self._value(key, vtype, 1)):
                self._stop()
                return
        self.kv_done = self.n_kv
        for self.tensors_done in range(self.n_tensors):
            start = self.pos
            yield from self._string()
            n_dims = yield from self._u32()
            if n_dims > 8:
                self._stop()
                return
            yield from self._need(8 * n_dims + 12)
            self.pos += 8 * n_dims + 12
            self.tensor_bytes += self.pos - start
        self.tensors_done = self.n_tensors
        self._result = Extent(self.pos, done=True)

    def _value(self, key: str, vtype: int, depth: int) -> Generator[None, None, bool]:
        if vtype in _FIXED:
            yield from self._need(_FIXED[vtype])
            self.pos += _FIXED[vtype]
            return True
        if vtype == _STRING:
            text = yield from self._string(keep=key == "tokenizer.ggml.model")
            if key == "tokenizer.ggml.model":
                self.tokenizer_model = text
            return True
        if vtype != _ARRAY or depth > _MAX_DEPTH:
            return False
        item_type = yield from self._u32()
        count = yield from self._u64()
        if item_type in _FIXED:
            size = count * _FIXED[item_type]
            yield from self._need(size)
            self.pos += size
            return True
        if item_type == _STRING:
            if key == "tokenizer.ggml.tokens":
                self.n_vocab = count
            start = self.pos
            yield from self._strings(key, count)
            if key == "tokenizer.ggml.tokens" and count:
                self.vocab_item = (self.pos - start) / count
            return True
        for _ in range(count):
            if not (yield from self._value(key, item_type, depth + 1)):
                return False
        return True

    def _strings(self, key: str, count: int) -> Generator[None, None, None]:
        """Step over `count` length-prefixed strings without reading their text, STRIDE at a time
        (a checkpoint after each: the recent mean is taken from them). An item whose text is not all
        fetched yet still counts as walked: only the next length prefix has to be there."""
        unpack = _U64.unpack_from
        checkpoints = [(0, self.pos)]
        done, p = 0, self.pos
        while done < count:
            buf = self._buf
            step = min(STRIDE, count - done)
            i = 0
            try:
                for i in range(step):
                    p += 8 + unpack(buf, p)[0]
                i = step
            except struct.error:        # the prefix at p is not fetched yet
                pass
            done += i
            self.pos = p
            if p > len(buf) + MAX_ITEM:  # a length no vocabulary has: not worth estimating from
                self._stop()
                return
            if i == step:
                checkpoints.append((done, p))
                continue
            self._array = (key, count, done, checkpoints)
            self._stuck = 8
            yield
        self._array = None
        self._stuck = 0

    # -- the estimate ------------------------------------------------------------------------------

    def _estimate(self) -> Extent:
        sure = self.pos + self._stuck     # bytes the walk knows it needs
        guess = 0                         # bytes extrapolated
        margin = 0                        # how far the guess may fall short
        counted = True                    # every array left has a known item count
        vocab_item = self.vocab_item
        if self._array is not None:
            key, count, done, checkpoints = self._array
            first = next((c for c in checkpoints if c[0] >= done - max(RECENT_ITEMS, done // 2)), checkpoints[0])
            recent = (self.pos - first[1]) / (done - first[0]) if done - first[0] >= 1024 else 0.0
            if key == "tokenizer.ggml.merges" and self.vocab_item:
                mean = max(recent, self.vocab_item + 1)   # a merge "a b" spells its result token + a space
            else:
                mean = recent or 16.0
            rest = int((count - done) * mean)
            guess += rest
            margin += int(rest * DRIFT)
            if key == "tokenizer.ggml.tokens":
                vocab_item = mean
        kv_left = max(0, self.n_kv - self.kv_done - 1)
        followers, counted_followers = self._vocab_followers(kv_left, vocab_item)
        guess += kv_left * KV_GUESS + followers
        margin += KV_MARGIN if kv_left else 0
        counted = counted and counted_followers
        per_tensor = self.tensor_bytes / self.tensors_done if self.tensors_done else TENSOR_GUESS
        tensors = int((self.n_tensors - self.tensors_done) * per_tensor)
        guess += tensors
        margin += tensors // 4
        return Extent(sure + guess, margin=margin, counted=counted)

    def _vocab_followers(self, kv_left: int, item: float) -> tuple[int, bool]:
        """Bytes (beyond the KV_GUESS already counted for each key left) of the arrays llama.cpp's
        converters write after the token list that have not been seen yet, and whether their item
        counts are known (merges: not until seen)."""
        n = self.n_vocab
        if not n or not kv_left:
            return 0, True
        followers = [("tokenizer.ggml.token_type", 4 * n + 64, True)]
        if self.tokenizer_model in SCORES_MODELS:
            followers.append(("tokenizer.ggml.scores", 4 * n + 64, True))
        if self.tokenizer_model in MERGES_MODELS:
            followers.append(("tokenizer.ggml.merges", int(n * (item + 1)) + 64, False))
        out, counted = 0, True
        for key, size, known in followers:
            if key not in self.seen_keys and kv_left > 0:
                out += size - KV_GUESS
                counted = counted and known
                kv_left -= 1
        return out, counted
