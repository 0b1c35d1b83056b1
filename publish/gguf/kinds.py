"""What a GGUF is, from its header: a language model, a multimodal projector, an importance
matrix or a LoRA adapter. Only models are quants: linted as models, smoked, published under a tag.

- imatrix: `general.type = "imatrix"` (llama.cpp tools/imatrix writes it with `imatrix.datasets`,
  `imatrix.chunk_count`, `imatrix.chunk_size` and `<tensor>.in_sum2` / `<tensor>.counts` tensors;
  no general.architecture);
- adapter: `general.type = "adapter"` (convert_lora_to_gguf.py; `adapter.type = "lora"`,
  `adapter.lora.alpha`, tensors `….lora_a` / `….lora_b`);
- projector: `general.type = "mmproj"` or architecture `clip` (convert_hf_to_gguf.py --mmproj).
The `general.type` key is checked first; the other keys and tensor names recognise files written
before it existed.
"""

from __future__ import annotations

from publish.gguf.header import GGUFHeader

MODEL, PROJECTOR, IMATRIX, ADAPTER = "model", "projector", "imatrix", "adapter"
DESCRIPTION = {
    MODEL: "a language model",
    PROJECTOR: "a multimodal projector (mmproj)",
    IMATRIX: "an importance matrix (llama-imatrix output, an input to llama-quantize --imatrix)",
    ADAPTER: "a LoRA adapter (used with a base model: llama.cpp --lora, Ollama ADAPTER)",
}


def gguf_kind(hdr: GGUFHeader) -> str:
    """What a GGUF header describes: MODEL, PROJECTOR (an mmproj vision/audio encoder), IMATRIX
    (llama-imatrix output: general.type imatrix, imatrix.* keys or only .in_sum2/.counts tensors)
    or ADAPTER (a LoRA: general.type adapter, adapter.type or .lora_a/.lora_b tensors), as
    llama.cpp's tools name them."""
    gtype = hdr.value("general.type")
    if gtype == "imatrix" or any(k.startswith("imatrix.") for k in hdr.kv) or (
            hdr.tensors and all(t.name.endswith((".in_sum2", ".counts", ".in_sum")) for t in hdr.tensors)):
        return IMATRIX
    if gtype == "adapter" or "adapter.type" in hdr.kv or (
            hdr.tensors and any(t.name.endswith((".lora_a", ".lora_b")) for t in hdr.tensors)):
        return ADAPTER
    if hdr.is_projector:
        return PROJECTOR
    return MODEL


def file_kind(path) -> str:
    """gguf_kind of the GGUF at `path`; MODEL when the header cannot be read (the caller's own
    checks report an unreadable file)."""
    from publish.errors import GGUFError
    from publish.gguf.reader import read_header

    try:
        return gguf_kind(read_header(path))
    except (GGUFError, OSError):
        return MODEL
