"""A file that should be a GGUF but is not: the reader says what it is instead and what to do
(publish.gguf.sniff), the same words through read_header, `publish lint` (GG001) and `inspect`.

Variants from the trackers: an LFS pointer from a clone without Git LFS (llama.cpp's "invalid magic
number 73726576" in abetlen/llama-cpp-python#755), the Hub's web page of a file fetched from its
/blob/ URL (ggml-org/llama.cpp#3358), a maintenance page or a server's error text saved as the
model (TabbyML/tabby#1581, #1575), a GGJT model from before GGUF (ggml-org/llama.cpp#3492)."""

from __future__ import annotations

import io
import json
import struct

import pytest
from click.testing import CliRunner

from publish.cli import main
from publish.errors import GGUFError
from publish.gguf.reader import read_header
from publish.gguf.sniff import identify
from publish.lint import lint_paths

POINTER = (b"version https://git-lfs.github.com/spec/v1\n"
           b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 4368439584\n")
BLOB_PAGE = (b'<!DOCTYPE html>\n<html class="">\n<head>\n<meta charset="utf-8" />\n'
             b'<meta property="og:url" content="https://huggingface.co/TheBloke/Xwin-LM-7B-V0.1-GGUF/blob/main/'
             b'xwin-lm-7b-v0.1.Q4_0.gguf" />\n<title>xwin-lm-7b-v0.1.Q4_0.gguf \xc2\xb7 TheBloke/Xwin-LM-7B-V0.1-GGUF '
             b'at main</title>\n' + b"<link rel='stylesheet' href='/front/build/style.css' />\n" * 200)
MAINTENANCE = b"<html><head><title>Hugging Face - Maintenance</title></head><body>back soon</body></html>\n"
SAFETENSORS = struct.pack("<Q", 60) + b'{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[1]}}' + b"\0" * 8

# (the file's bytes, what the error must say it is, what the hint must tell to do)
CASES = {
    "lfs-pointer": (POINTER, "a Git LFS pointer (stands for a 4,368,439,584-byte file)", "git lfs pull"),
    "hub-blob-page": (BLOB_PAGE, "an HTML page ('xwin-lm-7b-v0.1.Q4_0.gguf · TheBloke/Xwin-LM-7B-V0.1-GGUF at main')",
                      "download https://huggingface.co/TheBloke/Xwin-LM-7B-V0.1-GGUF/resolve/main/xwin-lm-7b-v0.1.Q4_0.gguf"),
    "maintenance-page": (MAINTENANCE, "an HTML page ('Hugging Face - Maintenance')", "/resolve/ URL"),
    "error-text": (b"Internal Error - We're working hard to fix this as soon as possible!",
                   "a 68-byte text file starting \"Internal Error - We're working hard", "error message"),
    "json-error": (json.dumps({"error": "Invalid username or password."}).encode(), "JSON text file", "error message"),
    "cdn-xml-error": (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                      b"<Message>Request has expired</Message></Error>\n",   # an expired signed download link
                      "XML text file starting '<?xml version=\"1.0\" encoding=\"UTF-8\"?> <Error><Code>AccessDenied",
                      "error message"),
    "jinja-template": (b"{% for m in messages %}{{ m['content'] }}{% endfor %}",
                       "a 53-byte text file starting \"{% for m in messages %}", "another text"),
    "empty": (b"", "an empty file (0 bytes)", "download the file again"),
    "zeros": (b"\0" * 8192, "zero bytes where the header belongs", "download the file again"),
    "cut-in-magic": (b"GG", "only 2 byte(s), cut off inside the magic", "truncated"),
    "ggjt": (b"tjgg" + struct.pack("<I", 3) + b"\1" * 64, "a GGJT model file", "convert_llama_ggml_to_gguf.py"),
    "ggml": (b"lmgg" + b"\1" * 64, "a GGML model file", "convert_llama_ggml_to_gguf.py"),
    "zip": (b"PK\3\4" + b"\0" * 40, "a zip archive", "convert_hf_to_gguf.py"),
    "safetensors": (SAFETENSORS, "a safetensors file", "convert_hf_to_gguf.py"),
    "binary": (bytes(range(200, 256)) * 4, "binary data starting c8 c9 ca cb", "truncated or corrupt"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_reader_says_what_the_file_is_and_what_to_do(tmp_path, case):
    data, looks_like, todo = CASES[case]
    path = tmp_path / "model-Q4_K_M.gguf"
    path.write_bytes(data)
    for source in (path, io.BytesIO(data)):   # a local file (mapped) and a stream (windowed, as hf:// is)
        with pytest.raises(GGUFError) as info:
            read_header(source, name=str(path))
        err = info.value
        assert err.offset == 0 and err.expected.startswith("expected the magic bytes 'GGUF', found ")
        assert looks_like in err.expected, err.expected
        assert todo in err.hint, err.hint
    # lint's GG001 carries the same words
    (f,) = lint_paths([str(path)]).findings
    assert f.code == "GG001" and f.message == f"not a readable GGUF: {err.expected}" and f.hint == err.hint


def test_lint_and_inspect_print_it(tmp_path):
    path = tmp_path / "x-Q4_K_M.gguf"
    path.write_bytes(POINTER)
    lint = CliRunner().invoke(main, ["lint", str(path)])
    assert lint.exit_code == 1 and "found a Git LFS pointer" in lint.output and "git lfs pull" in lint.output
    inspect = CliRunner().invoke(main, ["inspect", str(path)])
    assert inspect.exit_code == 2 and "found a Git LFS pointer" in inspect.output and "git lfs pull" in inspect.output


def test_text_from_the_file_cannot_drive_the_terminal():
    """The page title and the first line are the file's (a stranger's) text: quoted with repr, so a
    bidi override or an escape sequence is shown escaped; control bytes make it binary data."""
    page = identify("<html><title>a\u202egguf.exe</title>".encode(), 40)
    assert "\u202e" not in page.looks_like and "\\u202e" in page.looks_like
    text = identify(b"error \x1b[2J cleared", 21)
    assert "\x1b" not in text.looks_like and text.looks_like.startswith("binary data")
    url = identify(b'<html><meta property="og:url" content="https://x.example/blob/a\xc2\x9b31m" />', 70)
    assert "\x9b" not in url.hint and "x.example" not in url.hint   # only a plain ASCII URL is repeated


def test_a_real_gguf_is_not_touched_by_any_of_this(tiny_llama_path):
    assert read_header(tiny_llama_path).architecture == "llama"
