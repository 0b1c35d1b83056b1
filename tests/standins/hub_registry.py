"""The Ollama registry endpoints of the loopback Hub STAND-IN (tests/standins/hub.py), for tests only.

What `ollama pull hf.co/ORG/REPO:TAG` asks the Hub, as the stand-in answers it on its own host
(127.0.0.1:PORT, never named hf.co). Followed documentation: the Hub's page "Use Ollama with any GGUF
Model on Hugging Face Hub" (huggingface/hub-docs docs/hub/ollama.md) and the Hub's answers quoted in
public issues (ollama/ollama#7365, huggingface/hub-docs#1476 and #2702); Ollama's side read from
v0.24.0 server/images.go (pullModelManifest, makeRequestWithRetry) and server/download.go.

    GET  /v2/ORG/REPO/manifests/TAG     Docker v2 manifest: config + model (the GGUF for TAG) +
                                        template + params + system layers
    HEAD /v2/ORG/REPO/blobs/sha256:HEX  Content-Length of the blob
    GET  /v2/ORG/REPO/blobs/sha256:HEX  307 to the stand-in's "CDN" URL on another host name
                                        (http://localhost:PORT/standin-cdn/HEX): Ollama's
                                        download.go follows same-host redirects and takes the
                                        Location of the first other-host one, like the Hub's
                                        redirect to its CDN; ranged GETs go there.

TAG -> file (the documentation: "the quantization name is case-insensitive", "you can also directly
use the full filename as a tag", default Q4_K_M "when it's present inside the model repo. If not, we
default to picking one reasonable quant type"):
  - "latest": the Q4_K_M file, else the first whose label starts with Q4, else the first GGUF by
    path (how the Hub engineer who built the bridge described the Hub's pick in llama.cpp PR #11195:
    "it will take Q4_K_M if it is available. Otherwise, it checks Q4*, then falls back to the first
    file in repo"; publish.hub.ollama_tags follows the same description);
  - a tag ending in .gguf: the file with that name;
  - otherwise: the GGUF whose quant label (huggingface.js parseGGUFQuantLabel, as publish.quants
    mirrors it) equals TAG case-insensitively; several: the first by path (the Hub's order is not
    documented);
  - no file: 400 {"error": "The specified tag is not a valid quantization scheme. Please use another
    tag or \"latest\""} (the Hub's text in ollama/ollama#7365); a split file (-00001-of-0000N):
    400 "The specified tag is a sharded GGUF. ..." (hub-docs#2702).
Projector files (mmproj*) are never a tag's file; the stand-in serves no projector layer.

Template: the repo's `template` file; without one, @huggingface/ollama-utils' pick for the GGUF's
chat template (the real npm package, tests/ollama_utils_ref.py); without a pick, no template layer.
Params: the repo's `params` file; without one, the pick's params (its stop list). System: `system`.
"""

from __future__ import annotations

import hashlib
import json
import re

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
MODEL_TYPE = "application/vnd.ollama.image.model"
TEMPLATE_TYPE = "application/vnd.ollama.image.template"
PARAMS_TYPE = "application/vnd.ollama.image.params"
SYSTEM_TYPE = "application/vnd.ollama.image.system"

NO_MATCH = 'The specified tag is not a valid quantization scheme. Please use another tag or "latest"'
SHARDED = ('The specified tag is a sharded GGUF. Ollama does not support this yet. Please use another tag or '
           '"latest". Follow this issue for more info: https://github.com/ollama/ollama/issues/5245')
_SPLIT = re.compile(r"-\d{5}-of-\d{5}\.gguf$", re.IGNORECASE)


class RegistryError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def pick_file(paths: list[str], tag: str) -> str:
    """The repo path of the GGUF that answers TAG (see the module docstring). Raises RegistryError."""
    from publish.quants import hub_tag_label

    ggufs = sorted(p for p in paths if p.lower().endswith(".gguf")
                   and not p.rsplit("/", 1)[-1].lower().startswith("mmproj"))
    if tag.lower().endswith(".gguf"):
        found = [p for p in ggufs if p.rsplit("/", 1)[-1] == tag]
    elif tag == "latest":
        found = [p for p in ggufs if hub_tag_label(p) == "Q4_K_M"] \
            or [p for p in ggufs if (hub_tag_label(p) or "").startswith("Q4")][:1] or ggufs[:1]
    else:
        found = [p for p in ggufs if (hub_tag_label(p) or "").lower() == tag.lower()]
    if not found:
        raise RegistryError(400, NO_MATCH)
    if _SPLIT.search(found[0]):
        raise RegistryError(400, SHARDED)
    return found[0]


def _pick_template(gguf: bytes) -> dict | None:
    """@huggingface/ollama-utils' pick for the GGUF's chat template (the real package)."""
    import tempfile
    from pathlib import Path

    import ollama_utils_ref

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.gguf"
        path.write_bytes(gguf)
        return ollama_utils_ref.pick_for_gguf(path)


def build_manifest(hub, repo_id: str, tag: str) -> bytes:
    """The manifest JSON for ORG/REPO:TAG; its generated blobs go into hub.registry_blobs.
    Raises RegistryError (404 for an unknown repo, 400 for a tag no file answers)."""
    # Ollama may change the case of a name's parts (v0.24.0 server/routes.go getExistingName takes
    # the casing of any local model's matching part); the stand-in finds repos case-insensitively
    repo = hub.repos.get(repo_id) or next((r for k, r in hub.repos.items() if k.lower() == repo_id.lower()), None)
    if repo is None or repo.private or repo.gated:
        raise RegistryError(404, "Repository not found")
    files = repo.commits[repo.branches["main"]].files
    path = pick_file(list(files), tag)
    model_blob = files[path]
    gguf = hub.lfs[model_blob.lfs_sha256] if model_blob.lfs_sha256 else model_blob.content

    def text(name: str) -> bytes | None:
        blob = files.get(name)
        if blob is None:
            return None
        return hub.lfs[blob.lfs_sha256] if blob.lfs_sha256 else blob.content

    template, params, system = text("template"), text("params"), text("system")
    if template is None or params is None:
        picked = _pick_template(gguf)
        hub.ollama_utils_picks.append((repo_id, tag, picked))
        if picked is not None:
            if template is None:
                template = picked["template"].encode()
            if params is None and picked.get("params"):
                params = json.dumps(picked["params"]).encode()

    def layer(media_type: str, data: bytes) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        hub.registry_blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    layers = [layer(MODEL_TYPE, gguf)]
    for media_type, data in ((TEMPLATE_TYPE, template), (PARAMS_TYPE, params), (SYSTEM_TYPE, system)):
        if data is not None:
            layers.append(layer(media_type, data))
    config = json.dumps({"model_format": "gguf", "architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [x["digest"] for x in layers]}}).encode()
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "config": layer(CONFIG_TYPE, config),
                "layers": layers}
    hub.served_manifests.append((repo_id, tag, path))
    return json.dumps(manifest).encode()
