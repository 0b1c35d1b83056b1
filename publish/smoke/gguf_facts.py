"""The GGUF facts the smoke checks need (BOS/EOS text, add_bos, chat template, control tokens),
read from a local GGUF or an `hf://` URL (the header only)."""

from __future__ import annotations

from dataclasses import dataclass, field

from publish.addresses import is_hub_file_url

@dataclass
class GGUFFacts:
    """What one quant's header says; `why_unknown` is set (and the rest None) when it is unreadable."""
    add_bos: bool | None = None
    bos_text: str | None = None
    eos_text: str | None = None
    chat_template: str | None = None
    control_tokens: list[str] = field(default_factory=list)
    why_unknown: str | None = None


def gguf_facts(source) -> GGUFFacts:
    """The facts of `source`: a header already read (publish.gguf.header.GGUFHeader: a staged
    folder's), a path or an hf:// URL. Never raises: an unreadable header gives
    `GGUFFacts(why_unknown=...)`, and the checks that need it are skipped with that reason."""
    from publish.errors import PublishError, message_of
    from publish.gguf.header import GGUFHeader
    from publish.gguf.reader import read_header

    try:
        if isinstance(source, GGUFHeader):
            hdr = source
        elif isinstance(source, str) and is_hub_file_url(source):
            from publish.hub.remote import open_hf_file

            with open_hf_file(source) as fh:
                hdr = read_header(fh, name=source)
        else:
            hdr = read_header(source)
    except (PublishError, OSError) as err:
        return GGUFFacts(why_unknown=f"GGUF header unreadable: {message_of(err)}")
    controls: list[str] = []
    types = hdr.value("tokenizer.ggml.token_type")
    tokens = hdr.tokens
    if types is not None and len(types) == len(tokens):
        import numpy as np

        arr = types.numpy() if hasattr(types, "numpy") else np.asarray(list(types))
        controls = [tokens[int(i)] for i in np.nonzero(arr == 3)[0]]  # gguf TokenType.CONTROL
    return GGUFFacts(add_bos=hdr.add_bos_token, bos_text=hdr.bos_text, eos_text=hdr.eos_text,
                  chat_template=hdr.chat_template, control_tokens=controls)
