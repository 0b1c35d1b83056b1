"""The stand-in answers the endpoints publish does not call itself the way huggingface_hub expects."""

from __future__ import annotations

from standins.hub import WRITE_TOKEN


def test_paths_info_and_whoami_parse_in_huggingface_hub(hub):
    from huggingface_hub import HfApi

    hub.put_file("alice/m", "model.gguf", b"GGUF" + bytes(100))
    hub.put_file("alice/m", "params", b"{}")
    api = HfApi(endpoint=hub.url, token=WRITE_TOKEN)
    info = {f.path: f for f in api.get_paths_info("alice/m", ["model.gguf", "params", "missing"])}
    assert set(info) == {"model.gguf", "params"}
    assert info["model.gguf"].lfs.size == 104 and info["params"].lfs is None
    assert info["params"].blob_id == "9e26dfeeb6e641a33dae4961196235bdb965b21b"   # `git hash-object` of "{}"
    assert api.whoami()["name"] == "alice"
